"""Persistent bash sessions on a pty, interactive terminals, and the output capture shared with one-shot exec.

A session is `bash -i` on a pseudo-terminal inside the sandbox, so programs behave as in a terminal
(and cd, exports, functions persist). Each command travels with a fresh nonce on the shell's private
control socket (fd 100, see InitProcess.spawn), never through the terminal, which other processes in
the sandbox may hold and read. The shell syntax-checks it without running it (so an unfinished quote
or heredoc is reported instead of hanging the shell), runs it with `eval` (fd 100 closed, so nothing
it starts inherits the socket), then prints a marker on the terminal (where the output ends) and
sends `nonce status` back on the socket. Only that status, which the init forwards only when the
shell's own pid sent it, completes a command: a process left in the session cannot forge results.
A command that goes quiet is checked for blocking on a terminal read ("waiting for input").
The terminal is non-canonical (-icanon) so input lines are not cut at the tty's 4096-byte line limit.
"""

from __future__ import annotations

import asyncio
import codecs
import os
import secrets
import signal
import string
import time
from collections.abc import Callable
from pathlib import Path

from .runtime import InitProcess, Proc
from .spec import SandboxError, SessionResult

_BOOT = r"""stty -echo -onlcr -icanon 2>/dev/null
PS1='' PS2='' PS0='' PROMPT_COMMAND=''
unset HISTFILE
export TERM=dumb PAGER=cat GIT_PAGER=cat DEBIAN_FRONTEND=noninteractive
__ale_run() {
  { eval "__ale_chk() { :
$__ale_c
}"; } 2>/dev/shm/.ale_chk.$$ || {
    IFS= read -r -d '' __ale_e </dev/shm/.ale_chk.$$
    case $__ale_e in *"unexpected end of file"*|*"unexpected EOF"*|*"here-document"*) cat /dev/shm/.ale_chk.$$; return 254;; esac
  }
  unset -f __ale_chk
  eval "$__ale_c" 100>&-
}
__ale_done() {
  printf '\036__ALE_%s_%d\036' "$__ale_n" "$1"
  printf '%s %d\n' "$__ale_n" "$1" >&100
}
__ale_loop() {
  while IFS= read -r -d '' -u 100 __ale_n && IFS= read -r -d '' -u 100 __ale_c; do
    __ale_run; __ale_done $?
  done
}
"""
_INCOMPLETE = 254
# Bash's own variables: read-only, or set by bash itself as it runs; never carried to a fork.
_SHELL_OWN = ("__ale_*|BASH|BASH_*|BASHOPTS|BASHPID|EUID|UID|PPID|SHELLOPTS|FUNCNAME|GROUPS|DIRSTACK|PIPESTATUS|"
              "RANDOM|SRANDOM|SECONDS|LINENO|HISTCMD|EPOCHREALTIME|EPOCHSECONDS|COMP_WORDBREAKS|_|PWD|IFS")
_SECTION = "#ale-section"
# What a fork's session needs to be this one: cwd, variables (exported or not, arrays, attributes),
# functions, aliases, shell options, umask; fork_script() turns it into the script a fork runs. In a
# subshell, so it changes nothing in the session. No `read` loops (bash reads a pipe a byte at a time:
# they took 15 ms) and three forks in all. `declare -p` prints one line per variable (a newline in a
# value comes out as $'\n').
_DUMP = r"""(
builtin printf 'builtin cd -- %q\n' "$PWD"
builtin declare -p IFS 2>/dev/null
IFS=$'\n' __ale_vs=() __ale_fs=()
for __ale_v in $(builtin compgen -v); do case $__ale_v in SHELL_OWN) ;; *) __ale_vs+=("$__ale_v");; esac; done
builtin declare -p -- "${__ale_vs[@]}"
builtin printf '%s\n' 'SECTION'
for __ale_v in $(builtin compgen -A function); do case $__ale_v in __ale_*) ;; *) __ale_fs+=("$__ale_v");; esac; done
(( ${#__ale_fs[@]} )) && builtin declare -f -- "${__ale_fs[@]}"
builtin printf '%s\n' 'SECTION'
builtin declare -F
builtin printf '%s\n' 'SECTION'
builtin alias -p
builtin shopt -p
builtin set +o
builtin umask -p
)""".replace("SHELL_OWN", _SHELL_OWN).replace("SECTION", _SECTION)


def fork_script(dump: str) -> str:
    """The output of _DUMP as the script that makes a fresh session that state. It runs inside the
    session's __ale_run (a function), so variables are declared global (-g). Functions are defined
    before any alias exists (their printed bodies are already alias-expanded)."""
    parts: list[list[str]] = [[]]
    for line in dump.splitlines():
        if line == _SECTION and len(parts) < 4:
            parts.append([])
        else:
            parts[-1].append(line)
    variables, functions, exported, options = parts
    names = [line.split("=", 1)[0].split()[-1] for line in variables if line.startswith("declare ")]
    # First drop the variables the fresh shell has and this one had not (unset here stays unset). Only
    # those: unsetting and setting LANG or TERM again makes bash reload the locale or terminal (~ms).
    every = " ".join(f"${{!{c}@}}" for c in string.ascii_letters + "_")  # all names, without a fork
    lines = [f"for __ale_v in {every}; do case $__ale_v in {_SHELL_OWN}|{'|'.join(names)}) ;; "
             "*) builtin unset -v -- \"$__ale_v\" 2>/dev/null;; esac; done"]
    lines += [line if not line.startswith("declare ") else "declare -g " + line[len("declare "):] for line in variables]
    lines += functions
    lines += [f"builtin export -f -- {line.split()[-1]}" for line in exported
              if line.startswith("declare -fx ") and not line.split()[-1].startswith("__ale_")]
    lines.append("builtin unalias -a")
    # not the line editors: the session runs --noediting, and `set +o emacs` there broke its loop
    lines += [line for line in options if line not in ("set +o emacs", "set +o vi")]
    return "\n".join(lines) + "\n"


_PIECE = 1 << 20  # bytes decoded at a time (see OutputCapture.text)
_CTL_CHUNK = 256 << 10  # command bytes per frame: well below the init's 1 MiB frame buffer


class OutputCapture:
    """Keeps the head and tail of a stream in memory; past `cap` bytes, the whole stream also goes
    to a file inside the sandbox (its path is returned so the full output is never lost)."""

    def __init__(self, cap: int, spill: Callable[[bytes], str | None]):
        self.cap, self.spill = cap, spill
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0
        self.path: str | None = None

    def feed(self, data: bytes) -> None:
        self.total += len(data)
        if self.path is None and len(self.head) + len(data) <= self.cap:
            self.head += data
            return
        if self.path is None:  # first overflow: spill all so far, then split it into head and tail
            everything = self.head + data
            self.path = self.spill(bytes(everything))
            keep = self.cap // 2
            self.head, self.tail = everything[:keep], everything[keep:]
        else:
            self.spill(data)
            self.tail += data
        del self.tail[: max(0, len(self.tail) - self.cap // 2)]

    @property
    def truncated(self) -> bool:
        return self.total > len(self.head) + len(self.tail)

    def close(self) -> None:
        """The stream ended: release the spill file (the sink may keep it open between chunks)."""
        close = getattr(self.spill, "close", None)
        if close:
            close()

    def text(self) -> tuple[str, bool]:
        """(the kept output as text with replacement characters, whether it was valid UTF-8)."""
        for errors in ("strict", "replace"):
            try:
                return "".join(self.decoded(errors)), errors == "strict"
            except UnicodeDecodeError:
                continue
        raise AssertionError("unreachable: 'replace' never raises")

    def decoded(self, errors: str):
        """The kept output decoded in 1 MiB pieces (an event loop can yield between pieces: one
        64 MiB decode held it for a fifth of a second)."""
        parts: list[bytes | bytearray] = [self.head]
        if self.truncated:
            skipped = self.total - len(self.head) - len(self.tail)
            where = f"; full output in {self.path}" if self.path else ""
            parts += [f"\n[... {skipped} bytes omitted{where} ...]\n".encode(), self.tail]
        dec = codecs.getincrementaldecoder("utf-8")(errors)
        for part in parts:
            view = memoryview(part)
            for i in range(0, len(view), _PIECE):
                yield dec.decode(view[i: i + _PIECE])
        yield dec.decode(b"", final=True)

    def data(self) -> bytes:
        if not self.truncated:
            return bytes(self.head + self.tail)
        skipped = self.total - len(self.head) - len(self.tail)
        where = f"; full output in {self.path}" if self.path else ""
        return bytes(self.head) + f"\n[... {skipped} bytes omitted{where} ...]\n".encode() + bytes(self.tail)


def descendants(host_pid: int) -> list[int]:
    """Host pids of every descendant of host_pid (via /proc/PID/task/*/children)."""
    out, todo = [], [host_pid]
    while todo:
        pid = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for t in tasks:
            try:
                kids = [int(x) for x in Path(f"/proc/{pid}/task/{t}/children").read_text().split()]
            except OSError:
                continue
            out += kids
            todo += kids
    return out


def host_pid_of(init_host_pid: int, ns_pid: int) -> int | None:
    for pid in descendants(init_host_pid):
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("NSpid:") and int(line.split()[-1]) == ns_pid:
                    return pid
        except (OSError, ValueError):
            continue
    return None


def reading_terminal(pids: list[int]) -> bool:
    """Is any of these processes blocked in read() on a terminal? (x86-64: read is syscall 0)"""
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/syscall").read_text().split()
            if fields and fields[0] == "0":
                fd = int(fields[1], 16)
                if os.readlink(f"/proc/{pid}/fd/{fd}").startswith("/dev/pts/"):
                    return True
        except (OSError, ValueError, IndexError):
            continue
    return False


class BashSession:
    def __init__(self, sid: str, init: InitProcess, spill_factory: Callable[[str], Callable[[bytes], str | None]],
                 cap: int):
        self.id, self.init, self.cap = sid, init, cap
        self._spill_factory = spill_factory
        self.proc: Proc | None = None
        self.host_pid: int | None = None
        self._buf = bytearray()
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._counter = 0
        self.closed = False
        self._want: str | None = None  # the nonce of the command in progress
        self._status: int | None = None  # its exit status, once the shell itself reported it
        self._sbuf = bytearray()

    async def start(self, cwd: str, env: dict[str, str]) -> None:
        self.proc = await self.init.spawn(["bash", "--noprofile", "--norc", "--noediting", "-i"], cwd=cwd,
                                          env=env, on_output=self._on_output, pty=True, on_status=self._on_status)
        self.proc.exited.add_done_callback(lambda _: self._wake.set())
        r = await self.run(_BOOT, timeout=20, idle_timeout=20, _raw=True)
        if r.status != "completed":
            raise RuntimeError(f"bash session did not start ({r.status}): is bash in the image?")

    def _on_output(self, _stream: int, data: bytes) -> None:
        self._buf += data
        self._wake.set()

    def _on_status(self, data: bytes) -> None:
        """`nonce status` lines from the shell itself (the init drops what any other process sends)."""
        self._sbuf += data
        *lines, rest = self._sbuf.split(b"\n")
        self._sbuf = bytearray(rest[-256:])
        for line in lines:
            parts = line.decode(errors="replace").split()
            if len(parts) == 2 and parts[0] == self._want and parts[1].lstrip("-").isdigit():
                self._status = int(parts[1])
                self._wake.set()

    async def run(self, command: str, timeout: float = 60.0, idle_timeout: float | None = None,
                  input_check_after: float = 1.0, _raw: bool = False) -> SessionResult:
        if self.closed or self.proc is None or self.proc.exited.done():
            self.closed = True
            return SessionResult(output="", exit_code=None, status="closed")
        async with self._lock:
            try:
                return await self._run(command, timeout, idle_timeout, input_check_after, _raw)
            except asyncio.CancelledError:  # the caller went away: the command must not run on
                if self._status is None and not self.proc.exited.done():
                    asyncio.ensure_future(self._interrupt_later(f"\x1e__ALE_{self._want}_".encode()))
                raise

    async def _interrupt_later(self, marker: bytes) -> None:
        async with self._lock:  # before any next command (the lock is FIFO)
            if self._status is None and not self.proc.exited.done():
                await self._interrupt(marker)

    async def _run(self, command, timeout, idle_timeout, input_check_after, raw) -> SessionResult:
        t0 = time.monotonic()
        nonce = secrets.token_hex(8)
        marker = f"\x1e__ALE_{nonce}_".encode()
        self._counter += 1
        cap = OutputCapture(self.cap, self._spill_factory(f"session-{self.id}-{self._counter}"))
        self._buf.clear()
        self._want, self._status = nonce, None
        if raw:  # the boot script: nothing but the host has run in this shell yet
            self.init.write(self.proc, f"{command}\n__ale_n={nonce}; __ale_done $?; __ale_loop\n".encode())
        else:
            if "\0" in command:
                raise SandboxError("NUL byte in the command")
            data = f"{nonce}\0{command}\0".encode()
            for i in range(0, len(data), _CTL_CHUNK):
                self.init.send_ctl(self.proc, data[i: i + _CTL_CHUNK])
        last_output = time.monotonic()
        status, exit_code, pending = "timeout", None, bytearray()
        seen_marker, status_at = False, None
        while True:
            self._wake.clear()
            if self._buf:
                pending += self._buf
                self._buf.clear()
                last_output = time.monotonic()
            while (i := pending.find(marker)) >= 0 and (end := pending.find(b"\x1e", i + len(marker))) >= 0:
                cap.feed(bytes(pending[:i]))  # where the output ends (the exit status is not taken from here)
                del pending[:end + 1]
                seen_marker = True
            if pending.find(marker) < 0:
                keep = len(marker) + 24  # a partial marker may sit at the end
                cap.feed(bytes(pending[:-keep]))
                del pending[:-keep]
            now = time.monotonic()
            if self._status is not None:
                status_at = status_at or now
                # The terminal may deliver the last output a moment after the status: wait for the
                # marker, unless the command redirected the shell's output away from the terminal.
                if seen_marker or now - status_at > 1.0:
                    if not seen_marker:
                        cap.feed(bytes(pending))
                    exit_code, status = self._status, "completed"
                    if exit_code == _INCOMPLETE and not raw:
                        status, exit_code = "incomplete_input", None
                    break
            if self.proc.exited.done():
                cap.feed(bytes(pending))
                cap.close()
                self.closed = True
                return SessionResult(output=cap.data().decode(errors="replace"), exit_code=None, status="closed",
                                     truncated=cap.truncated, output_path=cap.path, duration_s=time.monotonic() - t0)
            if now - t0 >= timeout:
                status = "timeout"
                break
            silent = now - last_output
            if idle_timeout is not None and silent >= idle_timeout:
                status = "idle_timeout"
                break
            if silent >= input_check_after and self._status is None and self._waiting_for_input():
                status = "waiting_for_input"
                break
            wait = min(0.25, max(0.01, timeout - (now - t0)))
            try:
                await asyncio.wait_for(self._wake.wait(), wait)
            except asyncio.TimeoutError:
                pass
        if status not in ("completed", "incomplete_input"):
            cap.feed(bytes(pending))
            pending.clear()
            await self._interrupt(marker)
        cap.close()
        return SessionResult(output=cap.data().decode(errors="replace"), exit_code=exit_code, status=status,
                             truncated=cap.truncated, output_path=cap.path, duration_s=time.monotonic() - t0)

    def _waiting_for_input(self) -> bool:
        if not self.init.init_pid or not self.proc:
            return False
        if self.host_pid is None:
            self.host_pid = host_pid_of(self.init.init_pid, self.proc.ns_pid)
        if self.host_pid is None:
            return False
        return reading_terminal([self.host_pid, *descendants(self.host_pid)])

    async def _interrupt(self, marker: bytes) -> None:
        """Ctrl-C the running command. The shell's loop survives a command that handles SIGINT (its
        status comes back); otherwise bash drops to its prompt and the loop is restarted by typing it.
        A command that ignores Ctrl-C has its foreground group killed. Output after the interruption
        is discarded (up to the marker that follows the status)."""
        self.init.write(self.proc, b"\x03")
        for within, last in ((2.0, False), (3.0, True)):
            if await self._await_status(marker, within):
                return
            if self._at_prompt():
                self.init.write(self.proc, b"__ale_done 130; __ale_loop\n")
                if await self._await_status(marker, 2.0):
                    return
            elif not last:
                pgrp = self._foreground_pgrp()
                if pgrp and pgrp > 0 and pgrp != self.host_pid:
                    try:
                        os.killpg(pgrp, signal.SIGKILL)
                    except OSError:  # gone, or not a valid group (tpgid -1)
                        pass
        # The shell itself is stuck (e.g. a builtin `read` with SIGINT ignored): nothing for it but a new shell.
        self.init.signal(self.proc, signal.SIGKILL)
        self.closed = True

    def _at_prompt(self) -> bool:
        """Is bash itself reading its terminal (its command loop broken by a Ctrl-C)?"""
        if self.host_pid is None and self.proc:
            self.host_pid = host_pid_of(self.init.init_pid, self.proc.ns_pid)
        return self.host_pid is not None and reading_terminal([self.host_pid])

    async def _await_status(self, marker: bytes, within: float) -> bool:
        deadline = time.monotonic() + within
        seen, status_at = bytearray(), None
        while time.monotonic() < deadline:
            self._wake.clear()
            seen += self._buf
            self._buf.clear()
            if self._status is not None:
                status_at = status_at or time.monotonic()
                if marker in seen or time.monotonic() - status_at > 0.5:
                    return True
            if self.proc.exited.done():
                return False
            try:
                await asyncio.wait_for(self._wake.wait(), 0.1)
            except asyncio.TimeoutError:
                pass
        return False

    def _foreground_pgrp(self) -> int | None:
        if self.host_pid is None and self.proc:
            self.host_pid = host_pid_of(self.init.init_pid, self.proc.ns_pid)
        try:
            fields = Path(f"/proc/{self.host_pid}/stat").read_text().rsplit(")", 1)[1].split()
            return int(fields[5])  # tpgid, translated to our pid namespace
        except (OSError, ValueError, IndexError, TypeError):
            return None

    async def dump_state(self) -> str:
        """The session's state as a bash script for restore_state (cwd, variables, functions, aliases,
        options, umask; not its running processes, jobs, traps or history)."""
        if self._lock.locked():
            raise SandboxError(f"session {self.id} is running a command: snapshot between commands")
        r = await self.run(_DUMP, timeout=30, idle_timeout=30)
        if r.status != "completed" or r.exit_code != 0 or r.truncated or r.output.splitlines().count(_SECTION) < 3:
            raise SandboxError(f"could not read the state of session {self.id} ({r.status}, exit {r.exit_code}"
                               f"{', over the output cap' if r.truncated else ''})")
        return fork_script(r.output)

    async def restore_state(self, script: str) -> None:
        r = await self.run(script, timeout=30, idle_timeout=30)
        if r.status != "completed":
            raise SandboxError(f"could not restore the state of session {self.id} ({r.status})")

    async def interrupt(self) -> None:
        """Ctrl-C the command in progress (a no-op when the session is idle)."""
        if self.proc and not self.proc.exited.done() and self._lock.locked():
            self.init.write(self.proc, b"\x03")

    async def close(self) -> None:
        self.closed = True
        if self.proc and not self.proc.exited.done():
            self.init.signal(self.proc, signal.SIGKILL)
            try:
                await asyncio.wait_for(asyncio.shield(self.proc.exited), 5)
            except asyncio.TimeoutError:
                pass


class Terminal:
    """An interactive process on a pty of the sandbox's own devpts (what `docker exec -it` gives): raw
    bytes both ways, a window size, the exit code. The terminal's line discipline does the rest, as on
    any tty: Ctrl-C (byte 3) interrupts the foreground job, job control works, `tty` names /dev/pts/N.

    Output waits for the reader in a buffer; past ``MAX_PENDING`` bytes (a client that stopped reading)
    further output is dropped, and the reader is told how much, instead of growing without bound."""

    MAX_PENDING = 4 << 20

    def __init__(self, init: InitProcess, on_activity: Callable[[], None] = lambda: None):
        self.init, self._activity = init, on_activity
        self.proc: Proc | None = None
        self._chunks: asyncio.Queue[bytes] = asyncio.Queue()
        self._pending = self._dropped = 0

    async def start(self, argv: list[str], cwd: str, env: dict[str, str], rows: int, cols: int) -> None:
        self.proc = await self.init.spawn(argv, cwd=cwd, env=env, on_output=self._on_output, pty=True,
                                          winsize=(rows, cols))
        self.proc.exited.add_done_callback(self._on_exit)  # after its last output

    def _on_output(self, _stream: int, data: bytes) -> None:
        if self._pending > self.MAX_PENDING:
            self._dropped += len(data)
            return
        self._pending += len(data)
        self._chunks.put_nowait(self._dropped_note() + data)

    def _on_exit(self, _: object) -> None:
        if self._dropped:
            self._chunks.put_nowait(self._dropped_note())
        self._chunks.put_nowait(b"")

    def _dropped_note(self) -> bytes:
        note = f"\r\n[ale: {self._dropped} bytes of output dropped: not read in time]\r\n" if self._dropped else ""
        self._dropped = 0
        return note.encode()

    async def read(self) -> bytes:
        """The next output bytes; b"" once the process exited (and stays so)."""
        data = await self._chunks.get()
        if not data:
            self._chunks.put_nowait(b"")
        self._pending -= len(data)
        self._activity()
        return data

    async def write(self, data: bytes) -> None:
        if data and not self.proc.exited.done():
            self._activity()
            self.init.write(self.proc, data)

    async def resize(self, rows: int, cols: int) -> None:
        if not self.proc.exited.done():
            self.init.resize(self.proc, rows, cols)

    async def wait(self) -> int:
        """The exit code (shell-style: 128+N after signal N; -1 when the sandbox stopped under it)."""
        return await asyncio.shield(self.proc.exited)

    async def close(self) -> None:
        """Hang up, as closing a terminal window does: SIGHUP to its process group (an interactive bash
        passes it on to its jobs, which run in groups of their own), SIGKILL for what ignores it."""
        for sig, grace in ((signal.SIGHUP, 2), (signal.SIGKILL, 10)):
            if self.proc is None or self.proc.exited.done() or not self.init.alive:
                return
            self.init.signal(self.proc, sig)
            try:
                await asyncio.wait_for(asyncio.shield(self.proc.exited), grace)
            except asyncio.TimeoutError:
                pass
