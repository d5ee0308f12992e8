#!/bin/bash
python3 - <<'PY'
import json, csv
from collections import defaultdict
agg = defaultdict(lambda: [0, 0, 0.0])
for line in open("/app/orders.jsonl"):
    o = json.loads(line)
    if o["status"] not in ("paid", "shipped"):
        continue
    a = agg[o["customer"]]
    a[0] += 1
    for it in o["items"]:
        a[1] += it["qty"]; a[2] += it["qty"] * it["unit_price"]
rows = sorted(agg.items(), key=lambda kv: (-round(kv[1][2], 2), kv[0]))
with open("/app/summary.csv", "w", newline="") as f:
    w = csv.writer(f); w.writerow(["customer", "orders", "items", "revenue"])
    for c, (n, q, r) in rows:
        w.writerow([c, n, q, f"{r:.2f}"])
PY
