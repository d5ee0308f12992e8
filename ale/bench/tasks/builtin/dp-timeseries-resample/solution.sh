#!/bin/bash
python3 - <<'PY'
import csv, math
from datetime import datetime, timezone, timedelta
last = {}
for r in csv.DictReader(open("/app/readings.csv", newline="")):
    t = datetime.fromisoformat(r["timestamp"]).astimezone(timezone.utc)
    last[(r["sensor_id"], t)] = r["value"]
per = {}
for (s, t), v in last.items():
    if v.strip() == "" or v.lower() == "nan":
        continue
    h = t.replace(minute=0, second=0, microsecond=0)
    per.setdefault(s, {}).setdefault(h, []).append(float(v))
with open("/app/hourly.csv", "w", newline="") as f:
    w = csv.writer(f); w.writerow(["sensor_id", "hour", "mean", "count"])
    for s in sorted(per):
        hours = per[s]; known = sorted(hours)
        h = known[0]; idx = 0
        while h <= known[-1]:
            if h in hours:
                vals = hours[h]; w.writerow([s, h.strftime("%Y-%m-%dT%H:00Z"), f"{sum(vals)/len(vals):.3f}", len(vals)])
            else:
                prev = max(k for k in known if k < h); nxt = min(k for k in known if k > h)
                pm = sum(hours[prev]) / len(hours[prev]); nm = sum(hours[nxt]) / len(hours[nxt])
                frac = (h - prev) / (nxt - prev)
                w.writerow([s, h.strftime("%Y-%m-%dT%H:00Z"), f"{pm + (nm - pm) * frac:.3f}", 0])
            h += timedelta(hours=1)
PY
