#!/bin/bash
cat > /app/solve.py <<'PY'
"""Jacobi-preconditioned conjugate gradient with a CSR-free sparse matvec (np.bincount)."""
import sys

import numpy as np


def main(mat, rhs, out):
    t = np.loadtxt(mat, comments="#")
    r_idx, c_idx, vals = t[:, 0].astype(np.int64), t[:, 1].astype(np.int64), t[:, 2]
    b = np.loadtxt(rhs, comments="#").ravel()
    n = len(b)

    def matvec(x):
        return np.bincount(r_idx, weights=vals * x[c_idx], minlength=n)

    d = np.bincount(r_idx, weights=np.where(r_idx == c_idx, vals, 0.0), minlength=n)
    x = np.zeros(n)
    r = b - matvec(x)
    z = r / d
    p = z.copy()
    rz = r @ z
    nb = np.linalg.norm(b)
    for _ in range(20 * n):
        if np.linalg.norm(r) < 1e-11 * nb:
            break
        Ap = matvec(p)
        alpha = rz / (p @ Ap)
        x += alpha * p
        r -= alpha * Ap
        z = r / d
        rz_new = r @ z
        p = z + (rz_new / rz) * p
        rz = rz_new
    with open(out, "w") as fh:
        fh.write("".join(f"{v!r}\n" for v in x.tolist()))


if __name__ == "__main__":
    main(*sys.argv[1:4])
PY
python3 /app/solve.py /app/data/matrix.txt /app/data/rhs.txt /app/data/x.txt
