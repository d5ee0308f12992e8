#!/bin/bash
cd /app
python3 - <<'PY'
p = "prep.py"
s = open(p).read()
old_fit = "        self.scale_ = X.std(axis=0)\n"
new_fit = "        std = X.std(axis=0)\n        self.scale_ = np.where(std > 0, std, 1.0)\n"
old_split = """    scaler = Standardizer().fit(X)
    Xs = scaler.transform(X)
    n = len(X)
    perm = np.random.default_rng(seed).permutation(n)
    n_test = round(n * test_frac)
    test, train = perm[:n_test], perm[n_test:]
    return Xs[train], Xs[test], y[train], y[test], scaler
"""
new_split = """    n = len(X)
    perm = np.random.default_rng(seed).permutation(n)
    n_test = round(n * test_frac)
    test, train = perm[:n_test], perm[n_test:]
    scaler = Standardizer().fit(X[train])  # statistics from training rows only
    return scaler.transform(X[train]), scaler.transform(X[test]), y[train], y[test], scaler
"""
assert old_fit in s and old_split in s
open(p, "w").write(s.replace(old_fit, new_fit).replace(old_split, new_split))
PY
