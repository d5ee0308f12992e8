import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, "/tests")
from gen import build, write  # noqa: E402


def residual(m, seed, x):
    r, c, v, b = build(m, seed)
    Ax = np.bincount(r, weights=v * x[c], minlength=m * m)
    return np.linalg.norm(Ax - b) / np.linalg.norm(b)


def read_x(path, n):
    x = np.array([float(s) for s in open(path).read().split()])
    assert x.shape == (n,)
    return x


def test_given_system_solved():
    assert residual(150, 2718, read_x("/app/data/x.txt", 22500)) < 1e-8


def test_given_matrix_untouched():
    r, c, v, b = build(150, 2718)
    t = np.loadtxt("/app/data/matrix.txt", comments="#")
    assert len(t) == len(v) and np.allclose(t[:, 2], v)


def test_solver_on_fresh_system(tmp_path):
    m, seed = 130, 99
    write(m, seed, tmp_path / "A.txt", tmp_path / "b.txt")
    t = time.perf_counter()
    subprocess.run(["python3", "/app/solve.py", str(tmp_path / "A.txt"), str(tmp_path / "b.txt"),
                    str(tmp_path / "x.txt")], check=True, timeout=240)
    assert time.perf_counter() - t < 90
    assert residual(m, seed, read_x(tmp_path / "x.txt", m * m)) < 1e-8


def test_solver_small_system(tmp_path):
    m, seed = 7, 5
    write(m, seed, tmp_path / "A.txt", tmp_path / "b.txt")
    subprocess.run(["python3", "/app/solve.py", str(tmp_path / "A.txt"), str(tmp_path / "b.txt"),
                    str(tmp_path / "x.txt")], check=True, timeout=120)
    r, c, v, b = build(m, seed)
    A = np.zeros((m * m, m * m))
    A[r, c] = v
    assert np.allclose(read_x(tmp_path / "x.txt", m * m), np.linalg.solve(A, b), rtol=1e-7, atol=1e-9)
