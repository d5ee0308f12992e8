import sys

import numpy as np
import pytest

sys.path.insert(0, "/app")
from metrics import confusion_matrix, precision_recall_f1  # noqa: E402


def ref(y_true, y_pred, labels):
    out = []
    for lab in labels:
        tp = sum(t == lab and p == lab for t, p in zip(y_true, y_pred))
        fp = sum(t != lab and p == lab for t, p in zip(y_true, y_pred))
        fn = sum(t == lab and p != lab for t, p in zip(y_true, y_pred))
        P = tp / (tp + fp) if tp + fp else 0.0
        R = tp / (tp + fn) if tp + fn else 0.0
        F = 2 * P * R / (P + R) if P + R else 0.0
        out.append((P, R, F, tp + fn, tp, fp, fn))
    return out


def data(seed):
    rng = np.random.default_rng(seed)
    yt = rng.integers(0, 4, 200)
    yp = np.where(rng.random(200) < 0.6, yt, rng.integers(0, 5, 200))  # label 4 only predicted
    return yt.tolist(), yp.tolist()


def test_confusion_small():
    C = confusion_matrix(["cat", "dog", "cat", "bird"], ["cat", "cat", "cat", "dog"])
    assert C.tolist() == [[0, 0, 1], [0, 2, 0], [0, 1, 0]]  # labels bird, cat, dog
    C2 = confusion_matrix([1, 2], [2, 2], labels=[2, 1, 3])
    assert C2.tolist() == [[1, 0, 0], [1, 0, 0], [0, 0, 0]]
    assert C2.dtype.kind == "i"


def test_confusion_random():
    yt, yp = data(1)
    C = confusion_matrix(yt, yp)
    assert C.shape == (5, 5) and C.sum() == 200
    for i in range(5):
        for j in range(5):
            assert C[i, j] == sum(t == i and p == j for t, p in zip(yt, yp))


def test_per_label():
    yt, yp = data(2)
    P, R, F = precision_recall_f1(yt, yp, average=None)
    r = ref(yt, yp, [0, 1, 2, 3, 4])
    assert np.allclose(P, [x[0] for x in r]) and np.allclose(R, [x[1] for x in r])
    assert np.allclose(F, [x[2] for x in r])
    assert R[4] == 0.0 and P[4] == 0.0  # label 4 never true: 0/0 recall -> 0


@pytest.mark.parametrize("seed", [3, 4])
def test_averages(seed):
    yt, yp = data(seed)
    r = ref(yt, yp, [0, 1, 2, 3, 4])
    macro = precision_recall_f1(yt, yp)
    assert macro == pytest.approx(tuple(np.mean([x[k] for x in r]) for k in range(3)))
    sup = np.array([x[3] for x in r], float)
    weighted = precision_recall_f1(yt, yp, average="weighted")
    assert weighted == pytest.approx(tuple(float(np.dot([x[k] for x in r], sup / sup.sum()))
                                           for k in range(3)))
    tp, fp, fn = (sum(x[i] for x in r) for i in (4, 5, 6))
    mp, mr = tp / (tp + fp), tp / (tp + fn)
    assert precision_recall_f1(yt, yp, average="micro") == pytest.approx((mp, mr, 2 * mp * mr / (mp + mr)))


def test_labels_subset_and_zero_division():
    P, R, F = precision_recall_f1(["a", "a", "b"], ["a", "b", "b"], average=None, labels=["b", "c"])
    assert np.allclose(P, [0.5, 0.0]) and np.allclose(R, [1.0, 0.0])
    assert np.allclose(F, [2 / 3, 0.0])


def test_errors():
    with pytest.raises(ValueError):
        precision_recall_f1([1, 2], [1])
    with pytest.raises(ValueError):
        precision_recall_f1([], [])
    with pytest.raises(ValueError):
        precision_recall_f1([1], [1], average="samples")
    with pytest.raises(ValueError):
        confusion_matrix([1], [1, 2])
