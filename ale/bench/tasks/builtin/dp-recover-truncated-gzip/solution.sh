#!/bin/bash
python3 - <<'PY'
import json, zlib
raw = open("/app/events.jsonl.gz", "rb").read()
d = zlib.decompressobj(16 + zlib.MAX_WBITS)  # gzip wrapper; stream what decompresses
text = d.decompress(raw)
lines = text.split(b"\n")[:-1]  # last element is the partial line
good, bad = [], 0
for l in lines:
    try:
        o = json.loads(l)
        if not isinstance(o, dict) or set(o) != {"id", "user", "action", "value", "check"}:
            raise ValueError
        good.append(o)
    except ValueError:
        bad += 1
with open("/app/recovered.jsonl", "w") as f:
    for o in good:
        f.write(json.dumps(o) + "\n")
json.dump({"recovered": len(good), "corrupt": bad}, open("/app/recovery_report.json", "w"))
PY
