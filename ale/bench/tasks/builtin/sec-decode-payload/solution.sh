#!/bin/bash
set -e
cd /app
python3 - <<'PY'
import base64, gzip, json, re, zlib

src = open("/app/incident/suspicious.sh").read()
b64 = re.search(r"_x='(.*?)'", src, re.S).group(1)
stage2 = gzip.decompress(base64.b64decode("".join(b64.split()))).decode()
blob = re.search(r"b85decode\('([^']*)'\)", stage2).group(1)
stage3 = zlib.decompress(base64.b85decode(blob)).decode()
open("/app/stage3.py", "w").write(stage3)
key = int(re.search(r"^k = (\d+)$", stage3, re.M).group(1))
dec = lambda h: bytes(b ^ key for b in bytes.fromhex(h)).decode()
url = dec(re.search(r"^u = d\('([0-9a-f]+)'\)", stage3, re.M).group(1))
path = dec(re.search(r"^p = d\('([0-9a-f]+)'\)", stage3, re.M).group(1))
hexpath = re.search(r"P=\$\(printf '([^']*)'\)", stage2).group(1)
cron_path = bytes(int(h, 16) for h in re.findall(r"\\x([0-9a-f]{2})", hexpath)).decode()
tmpl = re.search(r'echo "(.*)" >> /etc/crontab', stage2).group(1)
json.dump({"url": url, "dropped_file": path, "cron_line": tmpl.replace("$P", cron_path)},
          open("/app/iocs.json", "w"), indent=1)
PY
