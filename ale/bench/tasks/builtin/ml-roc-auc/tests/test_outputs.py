import sys
import time

import numpy as np
import pytest

sys.path.insert(0, "/app")
from ranking_metrics import average_precision, roc_auc, roc_curve  # noqa: E402


def ref_auc(y, s):
    pos = [b for a, b in zip(y, s) if a == 1]
    neg = [b for a, b in zip(y, s) if a == 0]
    return sum((p > q) + 0.5 * (p == q) for p in pos for q in neg) / (len(pos) * len(neg))


def ref_ap(y, s):
    total, prev_r, P = 0.0, 0.0, sum(y)
    for t in sorted(set(s), reverse=True):
        pred = [b >= t for b in s]
        tp = sum(p and a == 1 for p, a in zip(pred, y))
        r, prec = tp / P, tp / sum(pred)
        total += (r - prev_r) * prec
        prev_r = r
    return total


def tied(seed, n=300):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    s = np.round(y * 0.6 + rng.normal(size=n), 1)  # rounding creates many ties
    return y.tolist(), s.tolist()


def test_auc_simple():
    assert roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75)
    assert roc_auc([0, 1], [0.5, 0.5]) == pytest.approx(0.5)
    assert roc_auc([True, False, True], [3, 1, 2]) == pytest.approx(1.0)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_auc_with_ties(seed):
    y, s = tied(seed)
    assert roc_auc(y, s) == pytest.approx(ref_auc(y, s), abs=1e-12)


def test_curve():
    y, s = tied(4, 100)
    fpr, tpr, thr = roc_curve(y, s)
    assert thr[0] == np.inf and np.all(np.diff(thr) < 0)
    assert sorted(set(s), reverse=True) == thr[1:].tolist()
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0, 0, 1, 1)
    ys, ss = np.array(y), np.array(s)
    for i in (1, 5, 17):
        pred = ss >= thr[i]
        assert tpr[i] == pytest.approx((pred & (ys == 1)).sum() / (ys == 1).sum())
        assert fpr[i] == pytest.approx((pred & (ys == 0)).sum() / (ys == 0).sum())
    area = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))
    assert area == pytest.approx(roc_auc(y, s), abs=1e-12)


@pytest.mark.parametrize("seed", [5, 6])
def test_average_precision(seed):
    y, s = tied(seed, 200)
    assert average_precision(y, s) == pytest.approx(ref_ap(y, s), abs=1e-12)
    assert average_precision([1, 0, 1], [0.9, 0.8, 0.7]) == pytest.approx((1 + 2 / 3) / 2)


def test_errors():
    with pytest.raises(ValueError):
        roc_auc([1, 1], [0.2, 0.3])
    with pytest.raises(ValueError):
        roc_auc([0, 1], [0.2])
    with pytest.raises(ValueError):
        roc_auc([0, 2], [0.2, 0.3])
    with pytest.raises(ValueError):
        average_precision([0, 0], [0.2, 0.3])


def test_speed():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 1_000_000)
    s = np.round(rng.normal(size=1_000_000) + y, 3)
    for fn in (roc_auc, average_precision):
        t = time.perf_counter()
        v = fn(y, s)
        assert time.perf_counter() - t < 10
        assert 0.6 < v < 0.9
