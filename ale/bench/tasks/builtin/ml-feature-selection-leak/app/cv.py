"""Cross-validated accuracy of a feature-selection + nearest-centroid pipeline.

Usage: python3 cv.py  -> evaluates data/genes.csv (last column = label) with k=20 features and
5 folds, writes report.json {"cv_accuracy": ...}.
"""
import json

import numpy as np


def select_features(X, y, k):
    """Indices of the k features with the largest |Pearson correlation| with y, best first
    (stable order for ties). A feature with zero variance scores 0."""
    Xc = X - X.mean(0)
    yc = y - y.mean()
    den = np.sqrt((Xc ** 2).sum(0) * (yc ** 2).sum())
    score = np.abs(Xc.T @ yc) / np.where(den > 0, den, 1.0)
    return np.argsort(-score, kind="stable")[:k]


def standardize(train, other):
    """z-score both arrays with the mean and std of `train` (std 0 -> 1)."""
    mu, sd = train.mean(0), train.std(0)
    sd = np.where(sd > 0, sd, 1.0)
    return (train - mu) / sd, (other - mu) / sd


def nearest_centroid(Xtr, ytr, Xte):
    classes = np.unique(ytr)
    C = np.array([Xtr[ytr == c].mean(0) for c in classes])
    d = ((Xte[:, None, :] - C[None, :, :]) ** 2).sum(-1)
    return classes[d.argmin(1)]


def cross_val_accuracy(X, y, k, n_folds=5, seed=0):
    """Estimated accuracy of the whole pipeline (feature selection, standardisation, nearest
    centroid) on unseen data. Folds: np.array_split(np.random.default_rng(seed).permutation(n),
    n_folds); the training rows of a fold are all other rows in increasing index order. Returns
    the pooled accuracy: correctly predicted held-out rows / n."""
    X = np.asarray(X, dtype=float)
    y = np.asarray(y)
    n = len(y)
    sel = select_features(X, y, k)
    Xs, _ = standardize(X[:, sel], X[:, sel])
    folds = np.array_split(np.random.default_rng(seed).permutation(n), n_folds)
    accs = []
    for f in folds:
        tr = np.setdiff1d(np.arange(n), f)
        pred = nearest_centroid(Xs[tr], y[tr], Xs[f])
        accs.append(np.mean(pred == y[f]))
    return float(np.mean(accs))


def main():
    data = np.loadtxt("data/genes.csv", delimiter=",", skiprows=1)
    acc = cross_val_accuracy(data[:, :-1], data[:, -1].astype(int), k=20)
    with open("report.json", "w") as fh:
        json.dump({"cv_accuracy": acc}, fh)
    print(f"cv_accuracy={acc:.3f}")


if __name__ == "__main__":
    main()
