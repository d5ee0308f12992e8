#!/bin/bash
cat > /app/train.py <<'PY'
"""Softmax regression by full-batch gradient descent on standardised features."""
import numpy as np

tr = np.genfromtxt("/app/data/train.csv", delimiter=",", names=True)
te = np.genfromtxt("/app/data/test.csv", delimiter=",", names=True)
feats = [f"f{i}" for i in range(8)]
Xtr = np.column_stack([tr[f] for f in feats])
ytr = tr["label"].astype(int)
Xte = np.column_stack([te[f] for f in feats])
mu, sd = Xtr.mean(0), Xtr.std(0)


def design(X):
    return np.c_[(X - mu) / sd, np.ones(len(X))]


def probs(A, W):
    L = A @ W
    L -= L.max(1, keepdims=True)
    P = np.exp(L)
    return P / P.sum(1, keepdims=True)


A = design(Xtr)
Y = np.eye(3)[ytr]
W = np.zeros((A.shape[1], 3))
for _ in range(5000):
    W -= 0.5 * A.T @ (probs(A, W) - Y) / len(A)
P = probs(design(Xte), W)
with open("/app/predictions.csv", "w") as fh:
    fh.write("id,label,p0,p1,p2\n")
    for i, p in zip(te["id"].astype(int), P):
        fh.write(f"{i},{p.argmax()},{p[0]:.8f},{p[1]:.8f},{p[2]:.8f}\n")
PY
python3 /app/train.py
