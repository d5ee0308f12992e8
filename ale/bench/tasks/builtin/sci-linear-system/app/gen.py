# Builds the sparse linear system in /app/data (run once at image build time).
import numpy as np

rng = np.random.default_rng(20240611)
n = 300
A = np.zeros((n, n))
for i in range(n):
    cols = rng.choice(n, size=6, replace=False)
    A[i, cols] = rng.normal(size=6)
    A[i, i] = 10.0 + rng.random()
x = rng.normal(size=n)
b = A @ x
with open("/app/data/A.coo", "w") as fh:
    fh.write("# row col value (1-based indices); entries not listed are zero\n")
    for i, j in zip(*np.nonzero(A)):
        fh.write(f"{i + 1} {j + 1} {A[i, j]!r}\n")
with open("/app/data/b.txt", "w") as fh:
    fh.write(f"# n={n}\n")
    for v in b:
        fh.write(f"{v!r}\n")
