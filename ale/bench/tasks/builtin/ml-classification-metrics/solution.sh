#!/bin/bash
cat > /app/metrics.py <<'PY'
import numpy as np


def _check(y_true, y_pred):
    if len(y_true) != len(y_pred) or len(y_true) == 0:
        raise ValueError("y_true and y_pred must be non-empty and of equal length")


def confusion_matrix(y_true, y_pred, labels=None):
    _check(y_true, y_pred)
    if labels is None:
        labels = sorted(set(y_true) | set(y_pred))
    index = {lab: i for i, lab in enumerate(labels)}
    C = np.zeros((len(labels), len(labels)), dtype=int)
    for t, p in zip(y_true, y_pred):
        if t in index and p in index:
            C[index[t], index[p]] += 1
    return C


def _div(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return np.where(b > 0, a / np.where(b > 0, b, 1), 0.0)


def precision_recall_f1(y_true, y_pred, average="macro", labels=None):
    if average not in (None, "macro", "micro", "weighted"):
        raise ValueError(f"unknown average {average!r}")
    _check(y_true, y_pred)
    if labels is None:
        labels = sorted(set(y_true) | set(y_pred))
    yt, yp = list(y_true), list(y_pred)
    tp = np.array([sum(t == lab and p == lab for t, p in zip(yt, yp)) for lab in labels])
    fp = np.array([sum(t != lab and p == lab for t, p in zip(yt, yp)) for lab in labels])
    fn = np.array([sum(t == lab and p != lab for t, p in zip(yt, yp)) for lab in labels])
    if average == "micro":
        P = float(_div(tp.sum(), tp.sum() + fp.sum()))
        R = float(_div(tp.sum(), tp.sum() + fn.sum()))
        F = float(_div(2 * P * R, P + R))
        return P, R, F
    P = _div(tp, tp + fp)
    R = _div(tp, tp + fn)
    F = _div(2 * P * R, P + R)
    if average is None:
        return P, R, F
    if average == "macro":
        return float(P.mean()), float(R.mean()), float(F.mean())
    w = tp + fn
    w = w / w.sum() if w.sum() else np.zeros(len(w))
    return float(P @ w), float(R @ w), float(F @ w)
PY
