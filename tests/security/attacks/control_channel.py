"""Attack: hijack the init's control channel to the host, or the host's ale-init binary itself.
The init's fds 0/1 are the pipes the host reads frames from: writing a forged SPAWN or EVENT frame there,
or getting the init's fds through /proc/1/fd, would let a process talk to the host as the init.
/proc/1/exe is the host's ale-init binary: rewriting it would run our code as host root on the next
sandbox start (runc CVE-2019-5736). Also: no fd inherited by our own process may point at the host."""
import os
import struct

escaped = False


def verdict(what, err):
    global escaped
    if err is None:
        escaped = True
        print(f"ESCAPED: {what}")
    else:
        print(f"BLOCKED: {what}: {err}")


def try_open(path, flags):
    try:
        fd = os.open(path, flags)
    except OSError as e:
        return e.strerror
    os.close(fd)
    return None


forged = struct.pack("<IBI", 5 + 12, 2, 999) + struct.pack("<III", 0, 0, 0)  # a SPAWN frame
for n in (0, 1, 2):
    verdict(f"open /proc/1/fd/{n} for writing", try_open(f"/proc/1/fd/{n}", os.O_WRONLY))
for p in ("/proc/1/exe", "/proc/1/mem", "/proc/1/environ", "/proc/1/root/.", "/proc/1/map_files"):
    verdict(f"open {p}", try_open(p, os.O_RDONLY))
verdict("open /proc/1/exe for writing (CVE-2019-5736)", try_open("/proc/1/exe", os.O_WRONLY))
try:
    os.listdir("/proc/1/fd")
    verdict("list /proc/1/fd", None)
except OSError as e:
    verdict("list /proc/1/fd", e.strerror)
# Our own fds: 0/1/2 and nothing else that reaches outside the sandbox.
for fd in os.listdir("/proc/self/fd"):
    try:
        target = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        continue
    # pipes to the init, the sandbox's /dev/null and terminals, and the listdir handle itself
    ok = target.startswith(("pipe:", "/dev/null", "/dev/pts", "/proc/self/fd", f"/proc/{os.getpid()}/fd"))
    if ok:
        print(f"BLOCKED: fd {fd} -> {target}")
    else:
        verdict(f"unexpected inherited fd {fd} -> {target}", None)
# Writing a forged frame to our own stdout only produces output of this process (framed by the init).
os.write(1, forged + b"\n")
print()
print("BLOCKED: a forged frame on stdout is just output")
print("VERDICT:", "ESCAPED" if escaped else "BLOCKED")
