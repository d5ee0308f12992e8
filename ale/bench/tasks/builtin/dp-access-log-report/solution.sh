#!/bin/bash
python3 - <<'PY'
import re, json
from collections import Counter
pat = re.compile(r'^(\d+\.\d+\.\d+\.\d+) - - \[(\d\d)/(\w{3})/(\d{4}):(\d\d):\d\d:\d\d [+-]\d{4}\] "(\S+) (\S+) (\S+)" (\d{3}) (\d+|-) "[^"]*" "[^"]*"$')
mon = {m: i for i, m in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), 1)}
ok = bad = 0; st = Counter(); ips = Counter(); hours = Counter(); total = 0
for line in open("/app/access.log", encoding="utf-8", errors="replace").read().split("\n")[:-1]:
    m = pat.match(line)
    if not m:
        bad += 1; continue
    ok += 1
    ip, d, mo, y, h = m.group(1, 2, 3, 4, 5)
    st[m.group(9)] += 1; ips[ip] += 1
    total += 0 if m.group(10) == "-" else int(m.group(10))
    hours[f"{y}-{mon[mo]:02d}-{d}T{h}"] += 1
top = sorted(ips.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
busiest = sorted(hours.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
json.dump({"total_requests": ok, "malformed": bad, "status_counts": dict(st), "bytes_total": total,
           "top_ips": [list(t) for t in top], "busiest_hour": busiest}, open("/app/report.json", "w"), indent=2)
PY
