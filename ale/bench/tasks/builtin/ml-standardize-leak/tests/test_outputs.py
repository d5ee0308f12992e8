import sys

import numpy as np
import pytest

sys.path.insert(0, "/app")
from prep import Standardizer, split_and_scale  # noqa: E402


def dataset(n=200, seed=5):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4)) * [1, 10, 100, 0.1] + [0, 5, -50, 3]
    y = rng.integers(0, 2, n)
    return X, y


def expected_indices(n, frac, seed):
    perm = np.random.default_rng(seed).permutation(n)
    k = round(n * frac)
    return perm[k:], perm[:k]


def test_scaler_fitted_on_train_only():
    X, y = dataset()
    X[np.random.default_rng(0).permutation(200)[:50], 2] += 1e4  # huge values in the test rows
    Xtr, Xte, ytr, yte, sc = split_and_scale(X, y, 0.25, 0)
    tr, te = expected_indices(200, 0.25, 0)
    assert np.allclose(sc.mean_, X[tr].mean(axis=0))
    assert np.allclose(sc.scale_, X[tr].std(axis=0))
    assert np.allclose(Xtr.mean(axis=0), 0, atol=1e-10)
    assert np.allclose(Xtr.std(axis=0), 1, atol=1e-10)
    assert np.allclose(Xte, (X[te] - X[tr].mean(axis=0)) / X[tr].std(axis=0))


@pytest.mark.parametrize("frac,seed", [(0.25, 0), (0.1, 3), (0.5, 11)])
def test_split_rows_and_order(frac, seed):
    X, y = dataset(97, seed)
    y = np.arange(97)  # labels identify rows
    Xtr, Xte, ytr, yte, sc = split_and_scale(X, y, frac, seed)
    tr, te = expected_indices(97, frac, seed)
    assert ytr.tolist() == tr.tolist() and yte.tolist() == te.tolist()
    assert np.allclose(Xtr * sc.scale_ + sc.mean_, X[tr])
    assert np.allclose(Xte * sc.scale_ + sc.mean_, X[te])


def test_constant_column():
    X, y = dataset(40)
    X[:, 1] = 7.0
    with np.errstate(all="raise"):
        Xtr, Xte, *_ , sc = split_and_scale(X, y)
    assert sc.scale_[1] == 1.0
    assert np.all(np.isfinite(Xtr)) and np.all(Xtr[:, 1] == 0) and np.all(Xte[:, 1] == 0)


def test_standardizer_direct():
    sc = Standardizer().fit([[1.0, 5.0], [3.0, 5.0]])
    assert sc.mean_.tolist() == [2.0, 5.0] and sc.scale_.tolist() == [1.0, 1.0]
    assert sc.transform([[5.0, 6.0]]).tolist() == [[3.0, 1.0]]
