import sys

import numpy as np
import pytest

sys.path.insert(0, "/tests")
from gen import spiral  # noqa: E402

sys.path.insert(0, "/app")
import mlp  # noqa: E402


def rand_params(rng, d=3, H=7, K=4):
    return {"W1": rng.normal(size=(d, H)), "b1": rng.normal(size=H),
            "W2": rng.normal(size=(H, K)), "b2": rng.normal(size=K)}


def ref_loss(p, X, y):
    L = np.maximum(0, X @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"]
    L = L - L.max(1, keepdims=True)
    return -np.mean(L[np.arange(len(y)), y] - np.log(np.exp(L).sum(1)))


def test_loss_value():
    rng = np.random.default_rng(0)
    p = rand_params(rng)
    X, y = rng.normal(size=(11, 3)), rng.integers(0, 4, 11)
    loss, _ = mlp.loss_and_grads(p, X, y)
    assert loss == pytest.approx(ref_loss(p, X, y), rel=1e-10)


def test_gradients_finite_differences():
    rng = np.random.default_rng(1)
    p = rand_params(rng)
    X, y = rng.normal(size=(9, 3)), rng.integers(0, 4, 9)
    _, g = mlp.loss_and_grads(p, X, y)
    eps = 1e-6
    for name in ("W1", "b1", "W2", "b2"):
        assert g[name].shape == p[name].shape
        for idx in np.ndindex(p[name].shape):
            q = {k: v.copy() for k, v in p.items()}
            q[name][idx] += eps
            up = ref_loss(q, X, y)
            q[name][idx] -= 2 * eps
            num = (up - ref_loss(q, X, y)) / (2 * eps)
            assert g[name][idx] == pytest.approx(num, abs=1e-6), (name, idx)


def model():
    m = dict(np.load("/app/model.npz"))
    H = m["W1"].shape[1]
    assert m["W1"].shape == (2, H) and m["b1"].shape == (H,) and H <= 256
    assert m["W2"].shape == (H, 3) and m["b2"].shape == (3,)
    return m


def test_model_saved():
    model()


@pytest.mark.parametrize("seed", [101, 202])
def test_generalises(seed):
    X, y = spiral(seed=seed)
    pred = np.asarray(mlp.predict(X))
    assert pred.shape == y.shape
    assert np.mean(pred == y) >= 0.95


def test_predict_uses_saved_network():
    m = model()
    X, _ = spiral(seed=303)
    logits = np.maximum(0, X @ m["W1"] + m["b1"]) @ m["W2"] + m["b2"]
    assert np.array_equal(np.asarray(mlp.predict(X)), logits.argmax(1))
