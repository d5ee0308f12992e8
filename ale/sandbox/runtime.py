"""Low level: start one sandbox (ale-init) and talk its frame protocol from asyncio.

No threads per sandbox: the control pipe and a pidfd are watched by the event loop. The protocol is
documented at the top of native/ale-init.c.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import signal
import struct
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

F_READY, F_SPAWN, F_STARTED, F_OUT, F_EXIT, F_IN, F_CLOSEIN, F_KILL, F_EVENT, F_ERROR, F_PID, F_RESIZE = range(1, 13)
SPAWN_PTY, SPAWN_STDIN = 1, 2
UID_BASE = 100000  # uid/gid 0..65535 inside every sandbox are 100000.. on the host
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


@dataclass
class InitProcess:
    """One running sandbox: the launcher (our child), the init inside, and the control pipe."""

    launcher: subprocess.Popen
    scratch: Path
    on_event: Callable[[dict], None]
    init_pid: int = 0  # host pid of the sandbox's PID 1
    _buf: bytearray = field(default_factory=bytearray)
    _procs: dict[int, Proc] = field(default_factory=dict)
    _next_id: int = 1
    _ready: asyncio.Future | None = None
    _dead: asyncio.Future | None = None
    _stderr: bytearray = field(default_factory=bytearray)
    _pidfd: int = -1

    @classmethod
    async def start(
        cls, *, binary: Path, scratch: Path, layers: list[Path], disk: int, hostname: str, workdir: str,
        host_net: bool, cgroup_dirs: list[str], seccomp: bytes, on_event: Callable[[dict], None],
        keep_caps: int = 0, user: tuple[int, int] = (0, 0), timeout: float = 30.0,
    ) -> InitProcess:
        scratch.mkdir(parents=True, exist_ok=True)
        r, w = os.pipe()
        os.write(w, seccomp)  # < 64 KiB: fits the pipe buffer
        os.close(w)
        argv = [str(binary), "--scratch", str(scratch), "--lower", ":".join(map(str, layers)),
                "--disk", str(disk), "--hostname", hostname, "--workdir", workdir, "--seccomp-fd", str(r),
                "--uid-base", str(UID_BASE), "--keep-caps", hex(keep_caps),
                "--user", f"{user[0]}:{user[1]}"]
        for d in cgroup_dirs:
            argv += ["--cgroup", d]
        if host_net:
            argv.append("--host-net")
        try:
            # No start_new_session/preexec: they stop Python from using vfork, and a full fork of a big
            # server process costs milliseconds. The launcher calls setsid() itself.
            launcher = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        pass_fds=(r,))
        finally:
            os.close(r)
        loop = asyncio.get_running_loop()
        self = cls(launcher=launcher, scratch=scratch, on_event=on_event)
        self._ready, self._dead = loop.create_future(), loop.create_future()
        for f in (launcher.stdout, launcher.stderr, launcher.stdin):
            os.set_blocking(f.fileno(), False)
        loop.add_reader(launcher.stdout.fileno(), self._on_readable)
        loop.add_reader(launcher.stderr.fileno(), self._on_stderr)
        self._pidfd = os.pidfd_open(launcher.pid)
        loop.add_reader(self._pidfd, self._on_launcher_exit)
        try:
            await asyncio.wait_for(asyncio.shield(self._ready), timeout)
        except BaseException:
            await self.kill()
            raise
        return self

    # ---- host -> init
    def _send(self, ftype: int, pid: int, payload: bytes = b"") -> None:
        if self._dead.done():
            raise ProcessLookupError("sandbox is not running")
        data = struct.pack("<IBI", len(payload) + 5, ftype, pid) + payload
        fd = self.launcher.stdin.fileno()
        # Frames are small and the init drains its pipe promptly; a full pipe means it is wedged.
        view = memoryview(data)
        while view:
            try:
                n = os.write(fd, view)
            except BlockingIOError:
                raise RuntimeError("sandbox init is not reading its control pipe") from None
            view = view[n:]

    async def spawn(self, argv: list[str], *, cwd: str, env: dict[str, str], on_output: Callable[[int, bytes], None],
                    pty: bool = False, stdin: bool = False) -> Proc:
        loop = asyncio.get_running_loop()
        pid = self._next_id
        self._next_id += 1
        proc = Proc(pid, on_output, loop.create_future(), loop.create_future())
        self._procs[pid] = proc
        flags = (SPAWN_PTY if pty else 0) | (SPAWN_STDIN if stdin else 0)
        env_items = [f"{k}={v}" for k, v in env.items()]
        payload = struct.pack("<III", flags, len(argv), len(env_items)) + b"".join(
            s.encode() + b"\0" for s in [cwd, *argv, *env_items])
        self._send(F_SPAWN, pid, payload)
        await proc.started
        return proc

    def write(self, proc: Proc, data: bytes) -> None:
        self._send(F_IN, proc.id, data)

    def close_stdin(self, proc: Proc) -> None:
        self._send(F_CLOSEIN, proc.id)

    def signal(self, proc: Proc, sig: int = signal.SIGKILL) -> None:
        """Signal the process group of `proc` (each spawned process leads its own)."""
        if not self._dead.done():
            self._send(F_KILL, proc.id, struct.pack("<i", sig))

    # ---- init -> host
    def _on_readable(self) -> None:
        try:
            chunk = os.read(self.launcher.stdout.fileno(), 1 << 20)
        except BlockingIOError:
            return
        if not chunk:
            asyncio.get_running_loop().remove_reader(self.launcher.stdout.fileno())
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

    def _on_stderr(self) -> None:
        try:
            chunk = os.read(self.launcher.stderr.fileno(), 65536)
        except BlockingIOError:
            return
        if not chunk:
            asyncio.get_running_loop().remove_reader(self.launcher.stderr.fileno())
            return
        self._stderr += chunk
        del self._stderr[:-4096]

    def _on_launcher_exit(self) -> None:
        loop = asyncio.get_running_loop()
        loop.remove_reader(self._pidfd)
        self._on_readable()  # frames written just before death
        rc = self.launcher.wait()
        for fd in (self.launcher.stdout.fileno(), self.launcher.stderr.fileno()):
            loop.remove_reader(fd)
        self._on_stderr_final()
        os.close(self._pidfd)
        err = self._stderr.decode(errors="replace").strip()
        exc = RuntimeError(f"sandbox failed to start (exit {rc}): {err or 'no message'}")
        if not self._ready.done():
            self._ready.set_exception(exc)
            self._ready.exception()  # mark retrieved
        for proc in self._procs.values():
            if not proc.started.done():
                proc.started.set_exception(ProcessLookupError("sandbox stopped"))
            if not proc.exited.done():
                proc.exited.set_result(-1)
        self._procs.clear()
        for f in (self.launcher.stdin, self.launcher.stdout, self.launcher.stderr):
            f.close()
        self._dead.set_result(rc)

    def _on_stderr_final(self) -> None:
        try:
            while chunk := os.read(self.launcher.stderr.fileno(), 65536):
                self._stderr += chunk
        except (BlockingIOError, OSError):
            pass

    @property
    def alive(self) -> bool:
        return not self._dead.done()

    @property
    def root(self) -> Path:
        """The sandbox's root filesystem as the host reaches it (never follow links in it: see fs.py)."""
        return Path(f"/proc/{self.launcher.pid}/root") / str(self.scratch).lstrip("/") / "root"

    @property
    def upper(self) -> Path:
        return Path(f"/proc/{self.launcher.pid}/root") / str(self.scratch).lstrip("/") / "upper"

    async def kill(self) -> None:
        """Kill everything in the sandbox (PID 1 dying takes its whole pid namespace) and wait."""
        if self._dead.done():
            return
        for pid in (self.init_pid, self.launcher.pid):
            if pid:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        await asyncio.shield(self._dead)

    async def wait(self) -> int:
        return await asyncio.shield(self._dead)
