#!/bin/bash
python3 - <<'PY'
import csv
from collections import defaultdict
t = defaultdict(lambda: [0] * 12)
for r in csv.DictReader(open("/app/sales.csv", newline="")):
    if r["date"].startswith("2024-"):
        t[r["region"].strip().lower()][int(r["date"][5:7]) - 1] += int(r["units"])
with open("/app/pivot.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["region"] + [f"2024-{m:02d}" for m in range(1, 13)] + ["total"])
    cols = [0] * 13
    for reg in sorted(t):
        row = t[reg] + [sum(t[reg])]
        cols = [a + b for a, b in zip(cols, row)]
        w.writerow([reg] + row)
    w.writerow(["TOTAL"] + cols)
PY
