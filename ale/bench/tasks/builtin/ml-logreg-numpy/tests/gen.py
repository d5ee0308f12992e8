"""Three-class tabular data with correlated features (seeded). Tests import it for hidden labels."""
import numpy as np


def make(seed=777):
    rng = np.random.default_rng(seed)
    d, n = 8, 1800
    A = rng.normal(size=(d, d)) * 0.8 + np.eye(d) * 0.6       # shared covariance A A^T
    means = rng.normal(scale=0.45, size=(3, d))
    y = rng.integers(0, 3, n)
    X = means[y] + rng.normal(size=(n, d)) @ A.T
    X[:, 3] = X[:, 3] * 50 + 200                              # badly scaled column
    return X, y, 1200


def write():
    X, y, n = make()
    names = [f"f{i}" for i in range(X.shape[1])]
    with open("/app/data/train.csv", "w") as fh:
        fh.write(",".join(["id"] + names + ["label"]) + "\n")
        for i in range(n):
            fh.write(",".join([str(i)] + [f"{v:.6f}" for v in X[i]] + [str(y[i])]) + "\n")
    with open("/app/data/test.csv", "w") as fh:
        fh.write(",".join(["id"] + names) + "\n")
        for i in range(n, len(X)):
            fh.write(",".join([str(i)] + [f"{v:.6f}" for v in X[i]]) + "\n")


if __name__ == "__main__":
    write()
