import json
import sys

import numpy as np
import pytest

sys.path.insert(0, "/tests")
from gen import make  # noqa: E402

sys.path.insert(0, "/app")
import train as T  # noqa: E402


def test_softmax_stable():
    with np.errstate(over="raise", invalid="raise"):
        P = T.softmax(np.array([[1000.0, 0.0, -1000.0], [1.0, 2.0, 3.0]]))
    assert np.allclose(P.sum(1), 1) and P[0, 0] == pytest.approx(1.0)
    assert np.allclose(P[1], np.exp([1, 2, 3]) / np.exp([1, 2, 3]).sum())


def test_gradients_match_finite_differences():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(13, 5)), rng.integers(0, 3, 13)
    W, b = rng.normal(size=(5, 3)), rng.normal(size=3)
    loss, dW, db = T.loss_and_grads(W, b, X, y, l2=0.3)
    assert np.shape(db) == (3,)
    eps = 1e-6
    for idx in [(0, 0), (2, 1), (4, 2)]:
        Wp, Wm = W.copy(), W.copy()
        Wp[idx] += eps
        Wm[idx] -= eps
        num = (T.loss_and_grads(Wp, b, X, y, 0.3)[0] - T.loss_and_grads(Wm, b, X, y, 0.3)[0]) / (2 * eps)
        assert dW[idx] == pytest.approx(num, abs=1e-6)
    for j in range(3):
        bp, bm = b.copy(), b.copy()
        bp[j] += eps
        bm[j] -= eps
        num = (T.loss_and_grads(W, bp, X, y, 0.3)[0] - T.loss_and_grads(W, bm, X, y, 0.3)[0]) / (2 * eps)
        assert db[j] == pytest.approx(num, abs=1e-6)
    P = np.exp(X @ W + b)
    P /= P.sum(1, keepdims=True)
    ref = -np.mean(np.log(P[np.arange(13), y])) + 0.15 * np.sum(W * W)
    assert loss == pytest.approx(ref, rel=1e-10)


def test_train_learns_fresh_data():
    X, y = make(seed=99, n=1200)
    W, b = T.train(X[:900], y[:900], n_classes=4, seed=1)
    acc = np.mean(T.predict(W, b, X[900:]) == y[900:])
    assert acc >= 0.9, acc
    l0 = T.loss_and_grads(np.zeros_like(W), np.zeros_like(b), X[:900], y[:900])[0]
    assert T.loss_and_grads(W, b, X[:900], y[:900])[0] < 0.5 * l0


def test_labels_follow_shuffle():
    # a perfectly separable 1-D problem is only learnable if every batch keeps its own labels
    X = np.r_[np.linspace(-3, -1, 200), np.linspace(1, 3, 200)][:, None]
    y = np.r_[np.zeros(200, int), np.ones(200, int)]
    W, b = T.train(X, y, n_classes=2, epochs=20, seed=3)
    assert np.mean(T.predict(W, b, X) == y) == 1.0


def test_artifacts_and_reported_val_accuracy():
    m = json.load(open("/app/metrics.json"))
    model = np.load("/app/model.npz")
    X, y = make()
    Xva, yva = X[1500:], y[1500:]
    acc = float(np.mean(np.argmax(Xva @ model["W"] + model["b"], axis=1) == yva))
    assert m["val_accuracy"] == pytest.approx(acc, abs=2e-3)
    assert acc >= 0.90
    assert m["train_loss"] > 0
