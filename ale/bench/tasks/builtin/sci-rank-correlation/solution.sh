#!/bin/bash
cat > /app/rankcorr.py <<'PY'
import math

import numpy as np


def rankdata(x):
    x = np.asarray(x, dtype=float)
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x))
    xs = x[order]
    i = 0
    while i < len(x):
        j = i
        while j + 1 < len(x) and xs[j + 1] == xs[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def _check(x, y):
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) != len(y) or len(x) < 2:
        raise ValueError("need two sequences of equal length >= 2")
    return x, y


def spearman(x, y):
    x, y = _check(x, y)
    rx, ry = rankdata(x), rankdata(y)
    rx, ry = rx - rx.mean(), ry - ry.mean()
    den = math.sqrt(float(rx @ rx) * float(ry @ ry))
    return float("nan") if den == 0 else float(rx @ ry) / den


def kendall_tau_b(x, y):
    x, y = _check(x, y)
    n = len(x)
    dx = np.sign(x[:, None] - x[None, :])
    dy = np.sign(y[:, None] - y[None, :])
    iu = np.triu_indices(n, 1)
    sx, sy = dx[iu], dy[iu]
    s = float(np.sum(sx * sy))
    n0 = n * (n - 1) / 2
    n1 = float(np.sum(sx == 0))
    n2 = float(np.sum(sy == 0))
    den = math.sqrt((n0 - n1) * (n0 - n2))
    return float("nan") if den == 0 else s / den
PY
