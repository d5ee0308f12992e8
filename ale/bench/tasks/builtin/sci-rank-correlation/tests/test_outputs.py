import math
import sys
import time

import numpy as np
import pytest

sys.path.insert(0, "/app")
import rankcorr as rc  # noqa: E402


def ref_ranks(x):
    # O(n^2) textbook definition: rank = (#less) + (#equal + 1) / 2
    return [sum(v < a for v in x) + (sum(v == a for v in x) + 1) / 2 for a in x]


def ref_pearson(a, b):
    ma, mb = sum(a) / len(a), sum(b) / len(b)
    num = sum((p - ma) * (q - mb) for p, q in zip(a, b))
    return num / math.sqrt(sum((p - ma) ** 2 for p in a) * sum((q - mb) ** 2 for q in b))


def ref_tau_b(x, y):
    n = len(x)
    c = d = tx = ty = 0
    for i in range(n):
        for j in range(i + 1, n):
            sx = (x[i] > x[j]) - (x[i] < x[j])
            sy = (y[i] > y[j]) - (y[i] < y[j])
            tx += sx == 0
            ty += sy == 0
            if sx * sy > 0:
                c += 1
            elif sx * sy < 0:
                d += 1
    n0 = n * (n - 1) / 2
    return (c - d) / math.sqrt((n0 - tx) * (n0 - ty))


def tied_data(seed, n):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 8, n).astype(float)
    y = (x + rng.integers(-3, 4, n)).astype(float)
    return x.tolist(), y.tolist()


def test_rankdata_example():
    r = rc.rankdata([10, 20, 20, 5])
    assert isinstance(r, np.ndarray)
    assert r.tolist() == [2.0, 3.5, 3.5, 1.0]


def test_rankdata_many_ties():
    x, _ = tied_data(1, 300)
    assert np.allclose(rc.rankdata(x), ref_ranks(x))


def test_spearman_with_ties():
    for seed in (2, 3, 4):
        x, y = tied_data(seed, 150)
        got = rc.spearman(x, y)
        assert isinstance(got, float)
        assert got == pytest.approx(ref_pearson(ref_ranks(x), ref_ranks(y)), abs=1e-12)


def test_spearman_monotone():
    x = list(range(20))
    assert rc.spearman(x, [v ** 3 for v in x]) == pytest.approx(1.0)
    assert rc.spearman(x, [-math.exp(v) for v in x]) == pytest.approx(-1.0)


def test_kendall_with_ties():
    for seed in (5, 6):
        x, y = tied_data(seed, 120)
        got = rc.kendall_tau_b(x, y)
        assert isinstance(got, float)
        assert got == pytest.approx(ref_tau_b(x, y), abs=1e-12)


def test_kendall_small_known():
    # classic example: tau-b with ties
    assert rc.kendall_tau_b([1, 2, 2, 3], [1, 3, 2, 3]) == pytest.approx(
        ref_tau_b([1, 2, 2, 3], [1, 3, 2, 3]), abs=1e-12)
    assert rc.kendall_tau_b([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)


def test_errors_and_constant():
    with pytest.raises(ValueError):
        rc.spearman([1, 2], [1, 2, 3])
    with pytest.raises(ValueError):
        rc.kendall_tau_b([1], [1])
    assert math.isnan(rc.spearman([1, 1, 1], [1, 2, 3]))
    assert math.isnan(rc.kendall_tau_b([1, 2, 3], [4, 4, 4]))


def test_kendall_speed():
    rng = np.random.default_rng(9)
    x = rng.integers(0, 50, 2000).astype(float)
    y = x + rng.normal(size=2000)
    t = time.perf_counter()
    got = rc.kendall_tau_b(x, y)
    assert time.perf_counter() - t < 10
    assert -1 <= got <= 1 and got > 0.5
