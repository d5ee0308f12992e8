"""Numerical helpers for the classifier's output layer (numpy arrays in, numpy arrays out)."""
import numpy as np


def logsumexp(x, axis=None):
    """log(sum(exp(x))) along axis (all elements if axis is None)."""
    return np.log(np.sum(np.exp(x), axis=axis))


def softmax(x, axis=-1):
    e = np.exp(x)
    return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax(x, axis=-1):
    return np.log(softmax(x, axis=axis))


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def softplus(x):
    """log(1 + exp(x))."""
    return np.log(1.0 + np.exp(x))
