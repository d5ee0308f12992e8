import sys
import time

import numpy as np
import pytest

sys.path.insert(0, "/app")
from kmeans import kmeans  # noqa: E402


def blobs(n_per, centers, std, seed):
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(c, std, size=(n_per, len(c))) for c in centers])
    y = np.repeat(np.arange(len(centers)), n_per)
    return X, y


def same_partition(a, b):
    # equal up to relabelling: a one-to-one map between label sets
    pairs = set(zip(a.tolist(), b.tolist()))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


def test_recovers_separated_blobs():
    centers = [(0, 0), (10, 0), (0, 10), (10, 10), (5, 5)]
    X, y = blobs(80, centers, 0.8, 1)
    C, labels, inertia = kmeans(X, 5, seed=3)
    assert C.shape == (5, 2) and labels.shape == (400,)
    assert labels.dtype.kind == "i" and set(labels.tolist()) == set(range(5))
    assert same_partition(labels, y)
    found = sorted(map(tuple, np.round(C).astype(int).tolist()))
    assert found == sorted(centers)


def test_outputs_consistent():
    X, _ = blobs(50, [(0, 0, 0), (4, 4, 4), (8, 0, 8)], 1.5, 2)
    C, labels, inertia = kmeans(X, 3, seed=0)
    d = ((X[:, None, :] - C[None]) ** 2).sum(-1)
    assert np.array_equal(labels, d.argmin(1))
    assert isinstance(inertia, float)
    assert inertia == pytest.approx(float(((X - C[labels]) ** 2).sum()), rel=1e-9)
    for j in range(3):  # converged: each center is the mean of its points
        assert np.allclose(C[j], X[labels == j].mean(0), atol=1e-6)


def test_deterministic():
    X, _ = blobs(60, [(0, 0), (3, 0), (0, 3)], 1.2, 7)
    a = kmeans(X, 4, seed=11)
    b = kmeans(X, 4, seed=11)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) and a[2] == b[2]


def test_quality_near_best_of_many_restarts():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(600, 2)) * [3, 1]
    best = min(kmeans(X, 6, seed=s, n_init=1)[2] for s in range(40))
    got = kmeans(X, 6, seed=123)[2]
    assert got <= best * 1.02


def test_edge_cases():
    X = np.array([[0.0, 0.0], [1.0, 1.0], [1.0, 1.0], [5.0, 5.0]])
    C, labels, inertia = kmeans(X, 1)
    assert np.allclose(C[0], X.mean(0))
    C, labels, inertia = kmeans(X, 3)
    assert inertia == pytest.approx(0.0, abs=1e-12) and len(set(labels.tolist())) == 3
    with pytest.raises(ValueError):
        kmeans(X, 5)
    with pytest.raises(ValueError):
        kmeans(X, 0)


def test_speed():
    rng = np.random.default_rng(9)
    centers = rng.uniform(-20, 20, size=(20, 10))
    X = centers[rng.integers(0, 20, 20000)] + rng.normal(size=(20000, 10))
    t = time.perf_counter()
    C, labels, inertia = kmeans(X, 20, seed=1)
    assert time.perf_counter() - t < 60
    assert C.shape == (20, 10) and np.isfinite(inertia)
