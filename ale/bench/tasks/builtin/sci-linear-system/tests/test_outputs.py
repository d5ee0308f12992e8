import numpy as np


def _system():
    # Rebuild A and b from the same seeded recipe as the image, so edits to /app/data do not help.
    rng = np.random.default_rng(20240611)
    n = 300
    A = np.zeros((n, n))
    for i in range(n):
        cols = rng.choice(n, size=6, replace=False)
        A[i, cols] = rng.normal(size=6)
        A[i, i] = 10.0 + rng.random()
    x = rng.normal(size=n)
    return A, A @ x


def _x():
    with open("/app/x.txt") as fh:
        lines = [ln for ln in fh.read().splitlines() if ln.strip()]
    assert len(lines) == 300, f"expected 300 lines, got {len(lines)}"
    return np.array([float(v) for v in lines])


def test_data_files_consistent_with_recipe():
    A, b = _system()
    t = np.loadtxt("/app/data/A.coo", comments="#")
    assert len(t) == np.count_nonzero(A)
    assert np.allclose(np.loadtxt("/app/data/b.txt", comments="#"), b)


def test_residual_small():
    A, b = _system()
    x = _x()
    assert np.linalg.norm(A @ x - b) / np.linalg.norm(b) < 1e-10


def test_matches_direct_solution():
    A, b = _system()
    assert np.allclose(_x(), np.linalg.solve(A, b), rtol=1e-8, atol=1e-10)
