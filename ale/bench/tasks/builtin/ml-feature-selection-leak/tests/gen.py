"""Expression-like data: 61 samples x 2000 features of pure noise, random labels (seeded)."""
import numpy as np


def make(seed=8, n=61, d=2000):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.integers(0, 2, n)


if __name__ == "__main__":
    X, y = make()
    np.savetxt("/app/data/genes.csv", np.c_[X, y], delimiter=",", fmt="%.5f",
               header=",".join([f"g{i}" for i in range(X.shape[1])] + ["label"]), comments="")
