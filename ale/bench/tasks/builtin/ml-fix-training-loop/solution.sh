#!/bin/bash
set -e
cd /app
python3 - <<'PY'
def patch(s, old, new):
    assert old in s, old
    return s.replace(old, new)

p = "train.py"
s = open(p).read()
s = patch(s, "    E = np.exp(Z)\n", "    E = np.exp(Z - Z.max(axis=1, keepdims=True))\n")
s = patch(s, "    db = G.mean()\n", "    db = G.sum(axis=0) / n\n")
s = patch(s, "        Xs = X[perm]\n", "        Xs, ys = X[perm], y[perm]\n")
s = patch(s, "            yb = y[start:start + batch_size]\n", "            yb = ys[start:start + batch_size]\n")
s = patch(s, "            W += lr * dW\n            b += lr * db\n", "            W -= lr * dW\n            b -= lr * db\n")
s = patch(s, "val_acc = float(np.mean(predict(W, b, Xtr) == ytr))", "val_acc = float(np.mean(predict(W, b, Xva) == yva))")
open(p, "w").write(s)
PY
python3 train.py
