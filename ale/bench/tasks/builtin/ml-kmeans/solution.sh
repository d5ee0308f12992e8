#!/bin/bash
cat > /app/kmeans.py <<'PY'
"""k-means with k-means++ seeding and Lloyd iterations (vectorised distances)."""
import numpy as np


def _sqdist(X, C):
    return np.maximum((X * X).sum(1)[:, None] - 2 * X @ C.T + (C * C).sum(1)[None, :], 0.0)


def _plusplus(X, k, rng):
    n = len(X)
    centers = [X[rng.integers(n)]]
    d2 = ((X - centers[0]) ** 2).sum(1)
    for _ in range(1, k):
        total = d2.sum()
        i = rng.choice(n, p=d2 / total) if total > 0 else rng.integers(n)
        centers.append(X[i])
        d2 = np.minimum(d2, ((X - X[i]) ** 2).sum(1))
    return np.array(centers, dtype=float)


def _lloyd(X, C, max_iter, tol):
    k = len(C)
    for _ in range(max_iter):
        labels = _sqdist(X, C).argmin(1)
        new = C.copy()
        for j in range(k):
            members = X[labels == j]
            if len(members):
                new[j] = members.mean(0)
            else:
                new[j] = X[((X - C[j]) ** 2).sum(1).argmax()]
        shift = np.sqrt(((new - C) ** 2).sum(1)).max()
        C = new
        if shift <= tol:
            break
    d = _sqdist(X, C)
    labels = d.argmin(1)
    inertia = float(((X - C[labels]) ** 2).sum())
    return C, labels, inertia


def kmeans(X, k, seed=0, n_init=10, max_iter=300, tol=1e-8):
    X = np.asarray(X, dtype=float)
    if not 1 <= k <= len(X):
        raise ValueError("need 1 <= k <= n")
    rng = np.random.default_rng(seed)
    best = None
    for _ in range(n_init):
        C, labels, inertia = _lloyd(X, _plusplus(X, k, rng), max_iter, tol)
        if best is None or inertia < best[2]:
            best = (C, labels.astype(int), inertia)
    return best
PY
