#!/bin/bash
cat > /app/heat.py <<'PY'
"""Crank-Nicolson for u_t = D u_xx with zero Dirichlet ends; Thomas algorithm per step."""
import json
import sys

import numpy as np


def thomas(a, b, c, d):
    """Solve a tridiagonal system: sub-diagonal a, diagonal b, super-diagonal c (constant arrays)."""
    n = len(d)
    cp = np.empty(n)
    dp = np.empty(n)
    cp[0] = c[0] / b[0]
    dp[0] = d[0] / b[0]
    for i in range(1, n):
        m = b[i] - a[i] * cp[i - 1]
        cp[i] = c[i] / m
        dp[i] = (d[i] - a[i] * dp[i - 1]) / m
    x = np.empty(n)
    x[-1] = dp[-1]
    for i in range(n - 2, -1, -1):
        x[i] = dp[i] - cp[i] * x[i + 1]
    return x


def main(inp, outp):
    cfg = json.load(open(inp))
    u = np.array(cfg["u0"], dtype=float)
    N = len(u) - 1
    r = cfg["D"] * cfg["dt"] * N * N
    steps = int(round(cfg["T"] / cfg["dt"]))
    m = N - 1
    # factor (I - r/2 L) once: forward-elimination coefficients are the same every step
    a = np.full(m, -r / 2)
    b = np.full(m, 1 + r)
    c = np.full(m, -r / 2)
    cp = np.empty(m)
    denom = np.empty(m)
    cp[0] = c[0] / b[0]
    denom[0] = b[0]
    for i in range(1, m):
        denom[i] = b[i] - a[i] * cp[i - 1]
        cp[i] = c[i] / denom[i]
    v = u[1:-1].copy()
    for _ in range(steps):
        rhs = (1 - r) * v
        rhs[1:] += r / 2 * v[:-1]
        rhs[:-1] += r / 2 * v[1:]
        dp = np.empty(m)
        dp[0] = rhs[0] / denom[0]
        for i in range(1, m):
            dp[i] = (rhs[i] - a[i] * dp[i - 1]) / denom[i]
        for i in range(m - 2, -1, -1):
            dp[i] -= cp[i] * dp[i + 1]
        v = dp
    out = np.concatenate([[0.0], v, [0.0]])
    with open(outp, "w") as fh:
        fh.write("".join(f"{x!r}\n" for x in out.tolist()))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
PY
