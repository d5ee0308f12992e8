import csv
import sys

import numpy as np

sys.path.insert(0, "/tests")
from gen import make  # noqa: E402


def truth():
    X, y, n_train = make()
    return {str(i): y[i] for i in range(n_train, len(y))}


def preds():
    with open("/app/predictions.csv") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["id", "price"]
    return {r[0]: float(r[1]) for r in rows[1:] if r}


def test_every_test_row_predicted_once():
    p, t = preds(), truth()
    assert set(p) == set(t)
    with open("/app/predictions.csv") as fh:
        assert sum(1 for _ in fh) == len(t) + 1


def test_rmse():
    p, t = preds(), truth()
    err = np.array([p[k] - t[k] for k in t])
    rmse = float(np.sqrt(np.mean(err ** 2)))
    assert rmse < 11.0, f"RMSE {rmse:.2f}"


def test_not_constant():
    p = np.array(list(preds().values()))
    assert p.std() > 50
