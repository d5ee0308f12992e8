"""Three interleaved spirals (seeded). Writes /app/data/spirals.csv; the tests import spiral()."""
import numpy as np


def spiral(n_per=300, k=3, seed=1, noise=0.2):
    rng = np.random.default_rng(seed)
    X, y = [], []
    for j in range(k):
        r = np.linspace(0.05, 1, n_per)
        t = np.linspace(j * 4, (j + 1) * 4, n_per) + rng.normal(size=n_per) * noise
        X.append(np.c_[r * np.sin(t), r * np.cos(t)])
        y.append(np.full(n_per, j))
    return np.vstack(X), np.concatenate(y)


if __name__ == "__main__":
    X, y = spiral()
    np.savetxt("/app/data/spirals.csv", np.c_[X, y], delimiter=",", fmt=["%.6f", "%.6f", "%d"],
               header="x1,x2,label", comments="")
