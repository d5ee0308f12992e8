"""Writes a variable-coefficient 2-D diffusion matrix (5-point stencil, SPD) and a right-hand side."""
import sys

import numpy as np


def build(m, seed):
    rng = np.random.default_rng(seed)
    a = np.exp(rng.normal(scale=0.5, size=(m + 1, m + 1)))  # positive cell-edge coefficients
    idx = np.arange(m * m).reshape(m, m)
    rows, cols, vals = [], [], []
    for i in range(m):
        for j in range(m):
            k = idx[i, j]
            w = [a[i, j], a[i + 1, j], a[i, j], a[i, j + 1]]  # up, down, left, right
            nb = [(i - 1, j), (i + 1, j), (i, j - 1), (i, j + 1)]
            diag = 0.0
            for (p, q), c in zip(nb, w):
                diag += c
                if 0 <= p < m and 0 <= q < m:
                    rows.append(k)
                    cols.append(idx[p, q])
                    vals.append(-c)
            rows.append(k)
            cols.append(k)
            vals.append(diag + 1e-3)
    b = rng.normal(size=m * m)
    return np.array(rows), np.array(cols), np.array(vals), b


def write(m, seed, mat_path, rhs_path):
    r, c, v, b = build(m, seed)
    with open(mat_path, "w") as fh:
        fh.write(f"# n={m * m} nnz={len(v)}; row col value, 0-based\n")
        fh.write("".join(f"{p} {q} {x!r}\n" for p, q, x in zip(r.tolist(), c.tolist(), v.tolist())))
    np.savetxt(rhs_path, b, fmt="%.17g")


if __name__ == "__main__":
    write(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4])
