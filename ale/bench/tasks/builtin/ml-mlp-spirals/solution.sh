#!/bin/bash
cat > /app/mlp.py <<'PY'
"""One-hidden-layer ReLU network with softmax cross-entropy; full-batch GD with momentum."""
import numpy as np

MODEL = "/app/model.npz"


def _hidden(params, X):
    return np.maximum(0, X @ params["W1"] + params["b1"])


def loss_and_grads(params, X, y):
    X = np.asarray(X, float)
    y = np.asarray(y, int)
    n = len(X)
    h = _hidden(params, X)
    L = h @ params["W2"] + params["b2"]
    L = L - L.max(1, keepdims=True)
    P = np.exp(L)
    P /= P.sum(1, keepdims=True)
    loss = float(-np.mean(np.log(P[np.arange(n), y])))
    G = P.copy()
    G[np.arange(n), y] -= 1
    G /= n
    dh = (G @ params["W2"].T) * (h > 0)
    return loss, {"W1": X.T @ dh, "b1": dh.sum(0), "W2": h.T @ G, "b2": G.sum(0)}


def train(X, y, k, H=100, iters=2000, lr=0.1, seed=0):
    rng = np.random.default_rng(seed)
    p = {"W1": rng.normal(0, 1, (X.shape[1], H)), "b1": np.zeros(H),
         "W2": rng.normal(0, 0.1, (H, k)), "b2": np.zeros(k)}
    vel = {name: np.zeros_like(a) for name, a in p.items()}
    for _ in range(iters):
        _, g = loss_and_grads(p, X, y)
        for name in p:
            vel[name] = 0.9 * vel[name] - lr * g[name]
            p[name] += vel[name]
    return p


def predict(X):
    p = dict(np.load(MODEL))
    return (_hidden(p, np.asarray(X, float)) @ p["W2"] + p["b2"]).argmax(1)


if __name__ == "__main__":
    data = np.loadtxt("/app/data/spirals.csv", delimiter=",", skiprows=1)
    X, y = data[:, :2], data[:, 2].astype(int)
    params = train(X, y, 3)
    np.savez(MODEL, **params)
    print("train accuracy", float(np.mean(predict(X) == y)))
PY
python3 /app/mlp.py
