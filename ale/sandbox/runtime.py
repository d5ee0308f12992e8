"""Low level: start one sandbox (ale-init) and talk its frame protocol from asyncio.

No threads and no process spawns per sandbox: a zygote forks launchers, each sandbox's control
socket is watched by the event loop, and the zygote's socket reports sandbox deaths. Once a sandbox
runs, its init is its only task on the host (the launcher exits; the zygote adopts the init). The protocol is
documented at the top of native/ale-init.c.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

(F_READY, F_SPAWN, F_STARTED, F_OUT, F_EXIT, F_IN, F_CLOSEIN, F_KILL, F_EVENT, F_ERROR, F_PID, F_RESIZE, F_CTL,
 F_STATUS) = range(1, 15)
SPAWN_PTY, SPAWN_STDIN, SPAWN_CTL, SPAWN_WINSIZE = 1, 2, 4, 8
CTL_FD = 100  # where a process spawned with ctl=True finds its private control socket
UID_BASE = 100000  # uid/gid 0..65535 inside every sandbox are 100000.. on the host
# Each sandbox's user namespace is created (owned) by a uid of its own from this range, so per-uid
# kernel budgets (inotify instances and watches, ...) are not shared between sandboxes. ALE reserves
# host uids UID_BASE .. OWNER_BASE + OWNER_SLOTS - 1: no host user may have one of them.
OWNER_BASE, OWNER_SLOTS = UID_BASE + 65536, 65536
_SOURCE = Path(__file__).with_name("native") / "ale-init.c"


def init_binary(home: Path) -> Path:
    """Path of ale-init, compiled on first use (cached by source hash)."""
    src = _SOURCE.read_bytes()
    out = home / "bin" / f"ale-init-{hashlib.sha256(src).hexdigest()[:12]}"
    if not out.exists():
        cc = shutil.which("cc") or shutil.which("gcc")
        if not cc:
            raise RuntimeError("ALE needs a C compiler (cc/gcc) to build its sandbox init once")
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(f".tmp{os.getpid()}")
        # Static when libc.a is there: no dynamic loading on every sandbox start.
        r = subprocess.run([cc, "-O2", "-static", "-o", str(tmp), str(_SOURCE), "-lutil"], capture_output=True, text=True)
        if r.returncode != 0:
            r = subprocess.run([cc, "-O2", "-o", str(tmp), str(_SOURCE), "-lutil"], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"building ale-init failed:\n{r.stderr}")
        os.replace(tmp, out)
    return out


def decode_status(status: int) -> int:
    """Wait status -> shell-style exit code (128+N for signal N)."""
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


@dataclass
class Proc:
    """A process running in the sandbox, as seen by the host."""

    id: int
    on_output: Callable[[int, bytes], None]  # (stream 1|2, data)
    started: asyncio.Future
    exited: asyncio.Future  # resolves to the shell-style exit code
    ns_pid: int = 0
    on_status: Callable[[bytes], None] | None = None  # ctl=True: what the process itself sent on CTL_FD


class Zygote:
    """The runtime's side of `ale-init --zygote`: asks it for launchers, learns of their deaths.

    One per manager. The zygote is a small C process, so forking a launcher costs a fraction of what
    spawning a program from this (big) Python process does; it hands back each launcher's control
    socket and pidfd over a SOCK_SEQPACKET socket (SCM_RIGHTS), then the init's pidfd and an fd of the
    sandbox's scratch dir when the launcher hands the init over, and reports every sandbox's end.
    `dev` is an empty directory where the zygote mounts the device tmpfs all sandboxes' /dev bind
    (in its own mount namespace: it goes with the zygote).
    """

    def __init__(self, binary: Path, dev: Path):
        self.binary, self.dev = binary, dev
        self.proc: subprocess.Popen | None = None
        self.sock: socket.socket | None = None
        self._tag = 0
        self._pending: dict[int, tuple[asyncio.Future, InitProcess]] = {}
        self._live: dict[int, InitProcess] = {}  # tag -> sandbox

    def start(self) -> None:
        """Start the zygote (from the event loop's thread: it dies with the thread that started it)."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        for s in (ours, theirs):  # room for a burst of requests and replies
            s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        try:
            self.proc = subprocess.Popen([str(self.binary), "--zygote", str(self.dev)], stdin=theirs,
                                         stdout=subprocess.DEVNULL)
        finally:
            theirs.close()
        ours.setblocking(False)
        self.sock = ours
        asyncio.get_running_loop().add_reader(ours.fileno(), self._on_reply)

    @property
    def alive(self) -> bool:
        return self.sock is not None

    async def launch(self, inst: InitProcess, args: list[str], seccomp: bytes) -> None:
        """Fork a launcher for `inst`; returns once `inst` holds its control socket and pidfd."""
        if not self.alive:
            raise RuntimeError("the sandbox zygote is not running")
        self._tag += 1
        tag = self._tag
        opts = b"".join(a.encode() + b"\0" for a in args)
        fut = asyncio.get_running_loop().create_future()
        self._pending[tag] = (fut, inst)
        try:
            await asyncio.get_running_loop().sock_sendall(self.sock, struct.pack("<II", tag, len(opts)) + opts + seccomp)
            await fut
        finally:
            self._pending.pop(tag, None)

    def reap(self, pid: int) -> None:
        """The init `pid` is dying (its control socket closed): the zygote reaps it by pid, and its
        death reaches _on_reply. (It never walks all its children to find one: see ale-init.c.)"""
        if self.sock is not None:
            try:
                self.sock.send(struct.pack("<II", pid, 0))
            except OSError:  # a full socket: the zygote's periodic sweep reaps it instead
                pass

    def _on_reply(self) -> None:
        while self.sock is not None:
            try:
                msg, anc, _, _ = self.sock.recvmsg(16, socket.CMSG_SPACE(8))
            except BlockingIOError:
                return
            except OSError:
                msg, anc = b"", []
            fds = [fd for level, kind, data in anc if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS
                   for fd in struct.unpack(f"<{len(data) // 4}i", data[:len(data) - len(data) % 4])]
            if len(msg) < 16:  # the zygote is gone: its launchers (and so every sandbox) die with it
                for fd in fds:
                    os.close(fd)
                self._on_death()
                return
            kind, tag, pid, value = struct.unpack("<IIii", msg)
            if kind == 2:
                inst = self._live.pop(tag, None)
                if inst is not None:
                    inst._on_exit(value)
                continue
            if kind == 5:
                inst = self._live.get(tag)
                if inst is not None and not inst._launcher_gone.done():
                    inst._launcher_gone.set_result(True)
                continue
            if kind == 4:
                inst = self._live.get(tag)
                if inst is not None and len(fds) == 2:
                    inst._handoff(pid, *fds)
                else:
                    for fd in fds:
                        os.close(fd)
                continue
            fut, inst = self._pending.get(tag, (None, None))
            if kind == 1 and fut is not None and not fut.done():
                self._live[tag] = inst
                inst._attach(pid, fds[0], fds[1] if len(fds) > 1 else -1)
                fut.set_result(pid)
            else:
                for fd in fds:
                    os.close(fd)
                if fut is not None and not fut.done():
                    fut.set_exception(RuntimeError(f"the sandbox zygote could not fork a launcher: {os.strerror(value)}"))

    def _on_death(self) -> None:
        loop = asyncio.get_running_loop()
        if self.sock is not None:
            loop.remove_reader(self.sock.fileno())
            self.sock.close()
            self.sock = None
        for fut, _ in self._pending.values():
            if not fut.done():
                fut.set_exception(RuntimeError("the sandbox zygote died"))
        for inst in list(self._live.values()):
            inst._on_exit(signal.SIGKILL)  # launchers and inits got SIGKILL (parent-death signal)
        self._live.clear()

    def close(self) -> None:
        if self.sock is not None:
            self._on_death()
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


@dataclass
class InitProcess:
    """One running sandbox: the init inside (a child of the zygote once its launcher exits), the control socket."""

    scratch: Path
    on_event: Callable[[dict], None]
    _zygote: Zygote
    launcher_pid: int = 0  # the zygote's child standing for this sandbox: the launcher, then the init itself
    init_pid: int = 0  # host pid of the sandbox's PID 1
    _ctrl: int = -1  # control socket (frames both ways)
    _pidfd: int = -1  # the launcher's, then the init's, for kill(): never signals a recycled pid
    _scratch: int = -1  # O_PATH fd of the scratch tmpfs (the upper layer is in it), from the launcher
    _handed: asyncio.Future | None = None  # set when the init's pidfd and the scratch fd are here
    _launcher_gone: asyncio.Future | None = None  # set when the launcher has exited (after the hand-off)
    _kill: bool = False  # kill() came before the hand-off: the init is killed as soon as it is ours
    _buf: bytearray = field(default_factory=bytearray)
    _procs: dict[int, Proc] = field(default_factory=dict)
    _next_id: int = 1
    _ready: asyncio.Future | None = None
    _dead: asyncio.Future | None = None
    _error: str = ""

    @classmethod
    async def start(
        cls, *, zygote: Zygote, scratch: Path, layers: list[Path], disk: int, hostname: str, workdir: str,
        host_net: bool, cgroup_dirs: list[str], cgroup_ops: list[str], seccomp: bytes,
        on_event: Callable[[dict], None], keep_caps: int = 0, user: tuple[int, int] = (0, 0), owner_uid: int = UID_BASE,
        timeout: float = 30.0,
    ) -> InitProcess:
        args = ["--scratch", str(scratch), "--lower", ":".join(map(str, layers)), "--disk", str(disk),
                "--hostname", hostname, "--workdir", workdir, "--uid-base", str(UID_BASE), "--owner-uid", str(owner_uid),
                "--keep-caps", hex(keep_caps), "--user", f"{user[0]}:{user[1]}"]
        for op in cgroup_ops:
            args += ["--cg-op", op]
        for d in cgroup_dirs:
            args += ["--cgroup", d]
        if host_net:
            args.append("--host-net")
        loop = asyncio.get_running_loop()
        self = cls(scratch=scratch, on_event=on_event, _zygote=zygote)
        self._ready, self._dead = loop.create_future(), loop.create_future()
        self._handed, self._launcher_gone = loop.create_future(), loop.create_future()
        await zygote.launch(self, args, seccomp)
        try:
            async with asyncio.timeout(timeout):
                await asyncio.shield(self._ready)
                await asyncio.shield(self._handed)
                # Its exit (tearing down its mount namespace) overlaps the init's setup; once it is
                # gone, the sandbox is its init alone.
                await asyncio.shield(self._launcher_gone)
        except BaseException:
            await self.kill()
            raise
        return self

    def _attach(self, pid: int, ctrl: int, pidfd: int) -> None:
        self.launcher_pid, self._ctrl, self._pidfd = pid, ctrl, pidfd
        os.set_blocking(ctrl, False)
        asyncio.get_running_loop().add_reader(ctrl, self._on_readable)

    # ---- host -> init
    def _send(self, ftype: int, pid: int, payload: bytes = b"") -> None:
        if self._dead.done():
            raise ProcessLookupError("sandbox is not running")
        data = struct.pack("<IBI", len(payload) + 5, ftype, pid) + payload
        # Frames are small and the init drains its socket promptly; a full socket means it is wedged.
        view = memoryview(data)
        while view:
            try:
                n = os.write(self._ctrl, view)
            except BlockingIOError:
                raise RuntimeError("sandbox init is not reading its control socket") from None
            view = view[n:]

    async def spawn(self, argv: list[str], *, cwd: str, env: dict[str, str], on_output: Callable[[int, bytes], None],
                    pty: bool = False, stdin: bool = False, on_status: Callable[[bytes], None] | None = None,
                    winsize: tuple[int, int] | None = None) -> Proc:
        """Start a process (`winsize`: a pty's first (rows, cols)). With `on_status`, it also gets a private control socket on CTL_FD: bytes
        written to send_ctl() arrive there, and what it writes back reaches on_status only when the
        kernel says that very process sent it (nothing else in the sandbox can forge it)."""
        loop = asyncio.get_running_loop()
        pid = self._next_id
        self._next_id += 1
        proc = Proc(pid, on_output, loop.create_future(), loop.create_future(), on_status=on_status)
        self._procs[pid] = proc
        flags = ((SPAWN_PTY if pty else 0) | (SPAWN_STDIN if stdin else 0) | (SPAWN_CTL if on_status else 0)
                 | (SPAWN_WINSIZE if winsize else 0))
        env_items = [f"{k}={v}" for k, v in env.items()]
        size = struct.pack("<HH", *(max(1, min(n, 0xFFFF)) for n in winsize)) if winsize else b""
        payload = struct.pack("<III", flags, len(argv), len(env_items)) + size + b"".join(
            s.encode() + b"\0" for s in [cwd, *argv, *env_items])
        self._send(F_SPAWN, pid, payload)
        await proc.started
        return proc

    def write(self, proc: Proc, data: bytes) -> None:
        self._send(F_IN, proc.id, data)

    def send_ctl(self, proc: Proc, data: bytes) -> None:
        self._send(F_CTL, proc.id, data)

    def resize(self, proc: Proc, rows: int, cols: int) -> None:
        """The window size of a pty process (its foreground job gets SIGWINCH)."""
        self._send(F_RESIZE, proc.id, struct.pack("<HH", max(1, min(rows, 0xFFFF)), max(1, min(cols, 0xFFFF))))

    def close_stdin(self, proc: Proc) -> None:
        self._send(F_CLOSEIN, proc.id)

    def signal(self, proc: Proc, sig: int = signal.SIGKILL) -> None:
        """Signal the process group of `proc` (each spawned process leads its own)."""
        if not self._dead.done():
            self._send(F_KILL, proc.id, struct.pack("<i", sig))

    # ---- init -> host
    def _on_readable(self) -> None:
        try:
            chunk = os.read(self._ctrl, 1 << 20)
        except BlockingIOError:
            return
        except OSError:  # ECONNRESET: the init died with frames unread
            chunk = b""
        if not chunk:
            asyncio.get_running_loop().remove_reader(self._ctrl)
            if self.init_pid:
                self._zygote.reap(self.init_pid)
            return
        buf = self._buf
        buf += chunk
        off = 0
        while len(buf) - off >= 9:
            (total,) = struct.unpack_from("<I", buf, off)
            if len(buf) - off < 4 + total:
                break
            ftype, pid = struct.unpack_from("<BI", buf, off + 4)
            self._dispatch(ftype, pid, bytes(buf[off + 9: off + 4 + total]))
            off += 4 + total
        del buf[:off]

    def _dispatch(self, ftype: int, pid: int, payload: bytes) -> None:
        proc = self._procs.get(pid)
        if ftype == F_OUT and proc:
            proc.on_output(payload[0], payload[1:])
        elif ftype == F_STATUS and proc and proc.on_status:
            proc.on_status(payload)
        elif ftype == F_EXIT and proc:
            self._procs.pop(pid, None)
            if not proc.exited.done():
                proc.exited.set_result(decode_status(struct.unpack("<i", payload)[0]))
        elif ftype == F_STARTED and proc:
            proc.ns_pid = struct.unpack("<i", payload)[0]
            proc.started.set_result(proc.ns_pid)
        elif ftype == F_ERROR:
            msg = payload.decode(errors="replace")
            if proc:
                self._procs.pop(pid, None)
                if not proc.started.done():
                    proc.started.set_exception(RuntimeError(f"sandbox could not start the process: {msg}"))
            elif not self._ready.done():  # a launch failure: why the sandbox could not start
                self._error = msg
            else:
                self.on_event({"kind": "init_error", "message": msg})
        elif ftype == F_EVENT:
            try:
                self.on_event(json.loads(payload))
            except ValueError:
                self.on_event({"kind": "init_error", "message": payload.decode(errors="replace")})
        elif ftype == F_PID:
            self.init_pid = struct.unpack("<i", payload)[0]
        elif ftype == F_READY and not self._ready.done():
            self._ready.set_result(True)

    def _handoff(self, init_pid: int, pidfd: int, scratch: int) -> None:
        """The launcher is done: from now on the init is the zygote's child, and kill() signals it."""
        if self._pidfd >= 0:
            os.close(self._pidfd)
        self.launcher_pid, self.init_pid, self._pidfd, self._scratch = init_pid, init_pid, pidfd, scratch
        if self._kill:
            signal.pidfd_send_signal(pidfd, signal.SIGKILL)
        if not self._handed.done():
            self._handed.set_result(True)

    def _on_exit(self, status: int) -> None:
        if self._ctrl >= 0:
            self._on_readable()  # frames written just before death
            asyncio.get_running_loop().remove_reader(self._ctrl)
            os.close(self._ctrl)
            self._ctrl = -1
        for fd in (self._pidfd, self._scratch):
            if fd >= 0:
                os.close(fd)
        self._pidfd = self._scratch = -1
        rc = decode_status(status)
        if not self._ready.done():
            self._ready.set_exception(RuntimeError(f"sandbox failed to start (exit {rc}): {self._error or 'no message'}"))
            self._ready.exception()  # mark retrieved
        for fut in (self._handed, self._launcher_gone):
            if not fut.done():
                fut.set_exception(ProcessLookupError("sandbox stopped"))
                fut.exception()
        for proc in self._procs.values():
            if not proc.started.done():
                proc.started.set_exception(ProcessLookupError("sandbox stopped"))
            if not proc.exited.done():
                proc.exited.set_result(-1)
        self._procs.clear()
        if not self._dead.done():
            self._dead.set_result(rc)

    @property
    def alive(self) -> bool:
        return not self._dead.done()

    @property
    def spawned(self) -> bool:
        """Whether any process was ever started in this sandbox (the init alone uses no budget)."""
        return self._next_id > 1

    @property
    def root(self) -> Path:
        """The sandbox's root filesystem as the host reaches it (never follow links in it: see fs.py)."""
        return Path(f"/proc/{self.init_pid}/root")

    @property
    def upper(self) -> Path:
        """The overlay's upper layer (the sandbox's changes), in the scratch tmpfs the launcher handed over."""
        return Path(f"/proc/{os.getpid()}/fd/{self._scratch}/upper")

    async def kill(self) -> None:
        """Kill everything in the sandbox (PID 1 dying takes its whole pid namespace) and wait."""
        if self._dead.done():
            return
        self._kill = True  # a launcher that hands its init over after this: the init is killed then
        try:  # a launcher's init dies with it (it waits for its launcher before it runs)
            if self._pidfd >= 0:
                signal.pidfd_send_signal(self._pidfd, signal.SIGKILL)
            elif self.launcher_pid:
                os.kill(self.launcher_pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        await asyncio.shield(self._dead)

    async def wait(self) -> int:
        return await asyncio.shield(self._dead)
