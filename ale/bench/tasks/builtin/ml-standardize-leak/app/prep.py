"""Data preparation for the churn model."""
import numpy as np


class Standardizer:
    """z-scores each column: (x - mean_) / scale_. Columns with zero spread get scale_ = 1."""

    def fit(self, X):
        X = np.asarray(X, dtype=float)
        self.mean_ = X.mean(axis=0)
        self.scale_ = X.std(axis=0)
        return self

    def transform(self, X):
        return (np.asarray(X, dtype=float) - self.mean_) / self.scale_


def split_and_scale(X, y, test_frac=0.25, seed=0):
    """Shuffle-split X, y into train and test and standardize the features.

    Split: perm = np.random.default_rng(seed).permutation(n); the first round(n * test_frac)
    indices of perm form the test set, the rest the training set (both in perm order).
    Returns X_train, X_test, y_train, y_test, scaler (the fitted Standardizer).
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y)
    scaler = Standardizer().fit(X)
    Xs = scaler.transform(X)
    n = len(X)
    perm = np.random.default_rng(seed).permutation(n)
    n_test = round(n * test_frac)
    test, train = perm[:n_test], perm[n_test:]
    return Xs[train], Xs[test], y[train], y[test], scaler
