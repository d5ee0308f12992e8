#!/bin/bash
python3 - <<'PY'
import csv
import numpy as np

DISTRICTS = ["north", "south", "east", "west"]


def load(path, target):
    rows = list(csv.DictReader(open(path)))
    X = np.array([[float(r[c]) for c in ("area_m2", "rooms", "age_years", "dist_km", "floor")]
                  + [1.0 * (r["district"] == d) for d in DISTRICTS[:3]] + [1.0] for r in rows])
    y = np.array([float(r["price"]) for r in rows]) if target else None
    return [r["id"] for r in rows], X, y


_, Xtr, ytr = load("/app/data/train.csv", True)
ids, Xte, _ = load("/app/data/test.csv", False)
w, *_ = np.linalg.lstsq(Xtr, ytr, rcond=None)
with open("/app/predictions.csv", "w") as fh:
    fh.write("id,price\n")
    for i, p in zip(ids, Xte @ w):
        fh.write(f"{i},{p:.4f}\n")
PY
