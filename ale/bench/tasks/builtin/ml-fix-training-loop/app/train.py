"""Softmax-regression classifier trained with minibatch SGD (numpy only).

Usage: python3 train.py   -> trains on data/train.csv, evaluates on data/val.csv, writes
model.npz (arrays W: (d, k), b: (k,)) and metrics.json {"train_loss", "val_accuracy"}.
"""
import json

import numpy as np


def softmax(Z):
    E = np.exp(Z)
    return E / E.sum(axis=1, keepdims=True)


def loss_and_grads(W, b, X, y, l2=0.0):
    """Mean cross-entropy + (l2/2)*||W||^2, and its gradients with respect to W and b."""
    n = len(X)
    P = softmax(X @ W + b)
    loss = -np.mean(np.log(P[np.arange(n), y])) + 0.5 * l2 * np.sum(W * W)
    G = P.copy()
    G[np.arange(n), y] -= 1
    dW = X.T @ G / n + l2 * W
    db = G.mean()
    return loss, dW, db


def predict(W, b, X):
    return np.argmax(X @ W + b, axis=1)


def train(X, y, n_classes, epochs=30, lr=0.1, batch_size=64, l2=1e-4, seed=0):
    rng = np.random.default_rng(seed)
    n, d = X.shape
    W = np.zeros((d, n_classes))
    b = np.zeros(n_classes)
    for _ in range(epochs):
        perm = rng.permutation(n)
        Xs = X[perm]
        for start in range(0, n, batch_size):
            Xb = Xs[start:start + batch_size]
            yb = y[start:start + batch_size]
            loss, dW, db = loss_and_grads(W, b, Xb, yb, l2)
            W += lr * dW
            b += lr * db
    return W, b


def load(path):
    data = np.loadtxt(path, delimiter=",", skiprows=1)
    return data[:, :-1], data[:, -1].astype(int)


def main():
    Xtr, ytr = load("data/train.csv")
    Xva, yva = load("data/val.csv")
    W, b = train(Xtr, ytr, n_classes=4)
    train_loss = loss_and_grads(W, b, Xtr, ytr)[0]
    val_acc = float(np.mean(predict(W, b, Xtr) == ytr))
    np.savez("model.npz", W=W, b=b)
    with open("metrics.json", "w") as fh:
        json.dump({"train_loss": float(train_loss), "val_accuracy": val_acc}, fh)
    print(f"train_loss={train_loss:.4f} val_accuracy={val_acc:.4f}")


if __name__ == "__main__":
    main()
