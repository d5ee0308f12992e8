import json
import sys

import numpy as np
import pytest

sys.path.insert(0, "/tests")
from gen import make  # noqa: E402

sys.path.insert(0, "/app")
import cv  # noqa: E402


def ref_cv(X, y, k, n_folds=5, seed=0):
    n = len(y)
    folds = np.array_split(np.random.default_rng(seed).permutation(n), n_folds)
    correct = 0
    for f in folds:
        tr = np.setdiff1d(np.arange(n), f)
        Xtr, ytr = X[tr], y[tr]
        Xc, yc = Xtr - Xtr.mean(0), ytr - ytr.mean()
        den = np.sqrt((Xc ** 2).sum(0) * (yc ** 2).sum())
        score = np.abs(Xc.T @ yc) / np.where(den > 0, den, 1.0)
        sel = np.argsort(-score, kind="stable")[:k]
        mu, sd = Xtr[:, sel].mean(0), Xtr[:, sel].std(0)
        sd = np.where(sd > 0, sd, 1.0)
        Ztr, Zte = (Xtr[:, sel] - mu) / sd, (X[f][:, sel] - mu) / sd
        classes = np.unique(ytr)
        C = np.array([Ztr[ytr == c].mean(0) for c in classes])
        pred = classes[((Zte[:, None] - C[None]) ** 2).sum(-1).argmin(1)]
        correct += int((pred == y[f]).sum())
    return correct / n


def signal_data(seed=3, n=90, d=300):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    X = rng.normal(size=(n, d))
    X[:, :6] += y[:, None] * 0.9
    return X, y


def test_noise_data_gives_chance_level():
    X, y = make()
    acc = cv.cross_val_accuracy(X, y, k=20)
    assert acc == pytest.approx(ref_cv(X, y, 20), abs=1e-12)
    assert acc < 0.7


@pytest.mark.parametrize("k,folds,seed", [(5, 5, 0), (10, 4, 7), (3, 10, 1)])
def test_signal_data_matches_reference(k, folds, seed):
    X, y = signal_data()
    acc = cv.cross_val_accuracy(X, y, k=k, n_folds=folds, seed=seed)
    assert acc == pytest.approx(ref_cv(X, y, k, folds, seed), abs=1e-12)
    assert acc > 0.6


def test_pooled_not_mean_of_folds():
    X, y = signal_data(5, n=23, d=40)
    assert cv.cross_val_accuracy(X, y, k=4, n_folds=5, seed=2) == pytest.approx(
        ref_cv(X, y, 4, 5, 2), abs=1e-12)


def test_report_regenerated():
    rep = json.load(open("/app/report.json"))
    X, y = make()
    # the CSV holds 5-decimal values; the estimate must be the honest one for that data
    data = np.loadtxt("/app/data/genes.csv", delimiter=",", skiprows=1)
    assert rep["cv_accuracy"] == pytest.approx(ref_cv(data[:, :-1], data[:, -1].astype(int), 20), abs=1e-12)
    assert rep["cv_accuracy"] < 0.7
