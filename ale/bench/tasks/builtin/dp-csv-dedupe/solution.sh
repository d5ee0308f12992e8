#!/bin/bash
python3 - <<'PY'
import csv
with open("/app/data/customers.csv", newline="") as f:
    rows = list(csv.DictReader(f))
best = {}
for r in rows:
    key = r["email"].strip().lower()
    cand = (r["signup_date"], int(r["id"]))
    if key not in best or cand < (best[key]["signup_date"], int(best[key]["id"])):
        best[key] = dict(r, email=key)
out = sorted(best.values(), key=lambda r: int(r["id"]))
with open("/app/data/customers_dedup.csv", "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=["id", "name", "email", "signup_date"])
    w.writeheader(); w.writerows(out)
PY
