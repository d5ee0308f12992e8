#!/bin/bash
cat > /app/ranking_metrics.py <<'PY'
import numpy as np


def _prep(y_true, scores):
    y = np.asarray(y_true)
    s = np.asarray(scores, dtype=float)
    if y.shape != s.shape or y.ndim != 1:
        raise ValueError("y_true and scores must be 1-D of equal length")
    if not np.all((y == 0) | (y == 1)):
        raise ValueError("labels must be 0/1")
    return y.astype(int), s


def _counts(y, s):
    """Cumulative TP/FP at each distinct threshold, thresholds decreasing."""
    order = np.argsort(-s, kind="mergesort")
    s, y = s[order], y[order]
    last = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1]  # last index of each tie group
    tp = np.cumsum(y)[last]
    fp = (last + 1) - tp
    return s[last], tp, fp


def roc_curve(y_true, scores):
    y, s = _prep(y_true, scores)
    P, N = y.sum(), len(y) - y.sum()
    if P == 0 or N == 0:
        raise ValueError("need both classes")
    thr, tp, fp = _counts(y, s)
    return (np.r_[0.0, fp / N], np.r_[0.0, tp / P], np.r_[np.inf, thr])


def roc_auc(y_true, scores):
    fpr, tpr, _ = roc_curve(y_true, scores)
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def average_precision(y_true, scores):
    y, s = _prep(y_true, scores)
    P = y.sum()
    if P == 0:
        raise ValueError("no positives")
    _, tp, fp = _counts(y, s)
    recall = tp / P
    precision = tp / (tp + fp)
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))
PY
