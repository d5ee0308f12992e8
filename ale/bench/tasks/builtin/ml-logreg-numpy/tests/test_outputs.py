import csv
import sys

import numpy as np

sys.path.insert(0, "/tests")
from gen import make  # noqa: E402


def load():
    X, y, n = make()
    truth = {i: int(y[i]) for i in range(n, len(y))}
    with open("/app/predictions.csv") as fh:
        rows = list(csv.DictReader(fh))
    return truth, rows


def test_format():
    truth, rows = load()
    assert rows and list(rows[0].keys()) == ["id", "label", "p0", "p1", "p2"]
    assert sorted(int(r["id"]) for r in rows) == sorted(truth)
    for r in rows:
        p = [float(r[k]) for k in ("p0", "p1", "p2")]
        assert min(p) >= 0 and abs(sum(p) - 1) < 1e-4
        assert int(r["label"]) == int(np.argmax(p))


def test_accuracy():
    truth, rows = load()
    acc = np.mean([int(r["label"]) == truth[int(r["id"])] for r in rows])
    assert acc >= 0.95, f"accuracy {acc:.3f}"


def test_log_loss():
    truth, rows = load()
    ll = -np.mean([np.log(max(float(r[f"p{truth[int(r['id'])]}"]), 1e-15)) for r in rows])
    assert ll <= 0.30, f"log-loss {ll:.3f}"
