"""Tools of the security suite: a runner for the attack scripts in attacks/, verdict and event checks,
host canaries watched with inotify, and host listeners on local addresses (fixtures: conftest.py).

Every attack script prints `BLOCKED: ...` / `ESCAPED: ...` lines and ends with `VERDICT: BLOCKED` or
`VERDICT: ESCAPED`. Network fixtures bind only to 127.0.0.1, ::1 and this host's own interface
addresses: no test sends traffic off the machine.
"""

from __future__ import annotations

import ctypes
import json
import os
import shlex
import socket
import struct
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from ale.sandbox import ExecResult

ATTACKS = Path(__file__).parent / "attacks"
SPEC = dict(memory="256m", pids=128, disk="64m")

def run_attack(sb, name: str, *args: str, timeout: float = 30, max_output: int | None = None,
               background: bool = False) -> ExecResult:
    """Copy attacks/<name> into the sandbox and run it (C sources are compiled there with gcc).
    `background`: start it detached (output to /attack/log) and return at once."""
    dest = f"/attack/{name}"
    sb.write_file(dest, (ATTACKS / name).read_bytes(), mode=0o755)
    if name.endswith(".c"):
        cc = sb.exec(["gcc", "-O1", "-o", "/attack/a.out", dest], timeout=60)
        assert cc.exit_code == 0, f"{name} did not compile:\n{cc.stderr}"
        argv = ["/attack/a.out"]
    else:
        argv = ["python3" if name.endswith(".py") else "bash", dest]
    if background:
        cmd = " ".join(shlex.quote(a) for a in [*argv, *args])
        return sb.exec(["bash", "-c", f"setsid {cmd} </dev/null >/attack/log 2>&1 &"], timeout=timeout)
    return sb.exec([*argv, *args], timeout=timeout, max_output=max_output)


def assert_blocked(r: ExecResult) -> list[str]:
    """The attack reported no escape and finished with a BLOCKED verdict; returns its BLOCKED lines."""
    out = r.stdout + r.stderr
    escaped = [line for line in out.splitlines() if line.startswith("ESCAPED")]
    assert not escaped, f"attack succeeded:\n{out}"
    assert "VERDICT: BLOCKED" in r.stdout, f"attack did not finish (exit {r.exit_code}):\n{out}"
    return [line for line in r.stdout.splitlines() if line.startswith("BLOCKED")]


def denied_syscalls(sb) -> set[str]:
    return {e.get("syscall") for e in sb.events() if e["kind"] == "denied_syscall"}


def network_attempts(sb) -> set[str]:
    return {e.get("address") for e in sb.events() if e["kind"] == "network_attempt"}


# ------------------------------------------------------------------ host canaries
_libc = ctypes.CDLL(None, use_errno=True)
_IN_ALL_EVENTS, _IN_NONBLOCK, _IN_CLOEXEC = 0xFFF, 0o4000, 0o2000000
_IN_NAMES = {0x1: "ACCESS", 0x2: "MODIFY", 0x4: "ATTRIB", 0x8: "CLOSE_WRITE", 0x10: "CLOSE_NOWRITE", 0x20: "OPEN",
             0x40: "MOVED_FROM", 0x80: "MOVED_TO", 0x100: "CREATE", 0x200: "DELETE"}


@dataclass
class HostCanary:
    """A host directory with a secret file, watched with inotify: any open, read, write, create or delete in
    it (by anyone) is recorded, so 'untouched and unread' is a host-side fact, not the attacker's word."""

    dir: Path
    secret: str
    fd: int = -1
    seen: list[str] = field(default_factory=list)

    @property
    def file(self) -> Path:
        return self.dir / "secret.txt"

    def watch(self) -> None:
        self.fd = _libc.inotify_init1(_IN_NONBLOCK | _IN_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1 (host)")
        for path in (self.dir, self.file):
            if _libc.inotify_add_watch(self.fd, str(path).encode(), _IN_ALL_EVENTS) < 0:
                raise OSError(ctypes.get_errno(), f"inotify_add_watch {path}")

    def events(self) -> list[str]:
        while True:
            try:
                buf = os.read(self.fd, 65536)
            except BlockingIOError:
                return self.seen
            off = 0
            while off < len(buf):
                _wd, mask, _cookie, n = struct.unpack_from("iIII", buf, off)
                name = buf[off + 16: off + 16 + n].rstrip(b"\0").decode()
                kinds = [v for k, v in _IN_NAMES.items() if mask & k]
                if kinds:
                    self.seen.append(f"{'|'.join(kinds)} {name or self.file.name}")
                off += 16 + n

    def assert_untouched(self) -> None:
        seen = list(self.events())  # before our own read below
        assert not seen, f"host canary {self.dir} was touched: {seen}"
        assert self.file.read_text() == self.secret
        assert sorted(p.name for p in self.dir.iterdir()) == ["secret.txt"]


# ------------------------------------------------------------------ host listeners (local addresses only)
def host_addresses() -> list[str]:
    """This machine's own non-loopback IPv4 interface addresses."""
    try:
        out = subprocess.run(["ip", "-j", "-4", "addr"], capture_output=True, text=True, timeout=5).stdout
        links = json.loads(out or "[]")
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return []
    return [a["local"] for link in links for a in link.get("addr_info", [])
            if a.get("local") and not a["local"].startswith("127.")]


@dataclass
class Listeners:
    """TCP listeners on 127.0.0.1, ::1 and each host address, a UDP socket on 127.0.0.1 and an abstract unix
    socket, all non-blocking. `targets` is what the sandbox is told to try (kind, address, port)."""

    socks: list[tuple[str, socket.socket]] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)

    def add(self, kind: str, family: int, stype: int, addr) -> None:
        s = socket.socket(family, stype)
        s.setblocking(False)
        s.bind(addr)
        if stype == socket.SOCK_STREAM:
            s.listen(16)
        self.socks.append((kind, s))
        name = s.getsockname()
        if family == socket.AF_UNIX:
            self.targets.append(f"unix {name[1:].decode()} 0")
        else:
            self.targets.append(f"{kind} {name[0]} {name[1]}")

    def contacts(self) -> list[str]:
        """Connections accepted or datagrams received on any listener (must stay empty)."""
        got = []
        for kind, s in self.socks:
            try:
                if kind in ("udp",):
                    data, peer = s.recvfrom(65536)
                    got.append(f"udp datagram from {peer}: {data[:40]!r}")
                else:
                    conn, peer = s.accept()
                    conn.close()
                    got.append(f"{kind} connection from {peer}")
            except (BlockingIOError, InterruptedError):
                pass
        return got
