"""Per-uid kernel budgets are not shared between sandboxes (issue #12 item 6).

The kernel charges a user namespace's inotify instances (and its other per-user counters) to the
uid that created the namespace. With one owner uid for every sandbox, one sandbox holding 128
inotify instances gave every other sandbox EMFILE."""

from __future__ import annotations

import time

from ale.sandbox import NotFound, SandboxSpec

from attack_kit import SPEC

HOARD = """
import ctypes, os, time
libc = ctypes.CDLL(None, use_errno=True)
fds = []
while len(fds) < 4096:
    fd = libc.inotify_init1(0)
    if fd < 0:
        break
    fds.append(fd)
open('/tmp/held', 'w').write(str(len(fds)))
time.sleep(8)
"""
PROBE = "import ctypes; print(ctypes.CDLL(None, use_errno=True).inotify_init1(0) >= 0)"


def test_one_sandbox_cannot_use_up_anothers_inotify_instances(client):
    with client.create(SandboxSpec(**SPEC)) as hoarder, client.create(SandboxSpec(**SPEC)) as victim:
        assert victim.exec(["python3", "-c", PROBE]).stdout.strip() == "True"
        hoarder.write_file("/tmp/hoard.py", HOARD)
        hoarder.exec(["bash", "-c", "(setsid python3 /tmp/hoard.py </dev/null >/dev/null 2>&1 &)"])
        deadline, held = time.monotonic() + 10, None
        while held is None and time.monotonic() < deadline:
            try:
                held = int(hoarder.read_file("/tmp/held"))
            except (NotFound, ValueError):
                time.sleep(0.05)
        assert held and held >= 64, held
        r = victim.exec(["python3", "-c", PROBE])
        assert r.stdout.strip() == "True", f"the hoarder holds {held} inotify instances and the victim got none"
