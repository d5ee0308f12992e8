"""Seeded 4-class dataset: writes /app/data/{train,val}.csv. Also imported by the tests."""
import numpy as np


def make(seed=31, n=2000, d=10):
    rng = np.random.default_rng(seed)
    means = rng.normal(scale=1.6, size=(4, d))
    y = rng.integers(0, 4, n)
    X = means[y] + rng.normal(size=(n, d))
    return X, y


def write():
    X, y = make()
    for name, sl in (("train", slice(0, 1500)), ("val", slice(1500, 2000))):
        np.savetxt(f"/app/data/{name}.csv", np.c_[X[sl], y[sl]], delimiter=",", fmt="%.6f",
                   header=",".join([f"x{i}" for i in range(X.shape[1])] + ["y"]), comments="")


if __name__ == "__main__":
    write()
