"""`ale sandbox` as a user meets it: each bad option is one line on stderr naming the option (no pydantic
dump, no traceback), before any sandbox is made."""
import signal
import socket

import pytest
from typer.testing import CliRunner

from ale.sandbox import cli

runner = CliRunner()



def _sigint_default() -> None:
    """The child takes Ctrl-C as a user's shell gives it (a background job of a script starts with it ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def one_error_line(r) -> str:
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in r.output and "pydantic" not in r.output, (r.output, r.stderr)
    return lines[0]


@pytest.mark.parametrize("args,line", [
    (["--memory", "lots"], "error: --memory: not a size: 'lots' (use e.g. 512m, 1g, 65536)"),
    (["--cpus", "-1"], "error: --cpus: must be between 0.01 and 256, got -1"),
    (["--workdir", "rel"], "error: --workdir: must be an absolute path, got 'rel'"),
    (["-e", "NOEQUALS"], "error: --env wants KEY=VALUE, got 'NOEQUALS'"),
])
def test_run_bad_options_are_one_line(args, line):
    r = runner.invoke(cli.app, ["run", *args, "--", "true"])
    assert r.exit_code == 2 and one_error_line(r) == line


def test_run_network_is_a_typed_choice():
    r = runner.invoke(cli.app, ["run", "--network", "bridge", "--", "true"])
    assert r.exit_code == 2 and "is not one of 'none', 'egress', 'host'" in " ".join(r.stderr.replace("│", " ").split())
    assert "none|egress|host" in runner.invoke(cli.app, ["run", "--help"], env={"COLUMNS": "200"}).output


def test_ls_with_a_bad_url_is_one_line():
    r = runner.invoke(cli.app, ["ls", "--url", "not-a-url"])
    assert r.exit_code == 2 and one_error_line(r) == "error: --url wants http(s)://HOST:PORT, got 'not-a-url'"


def test_serve_on_a_used_port_fails_before_the_banner():
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        r = runner.invoke(cli.app, ["serve", "--port", str(port)])
    assert r.exit_code == 2 and "ALE sandbox service on" not in r.output
    assert one_error_line(r) == f"error: cannot listen on 127.0.0.1:{port}: Address already in use"


@pytest.mark.skipif(__import__("os").geteuid() != 0, reason="real sandboxes need root")
def test_oom_message_gives_the_limit_in_mib():
    r = runner.invoke(cli.app, ["run", "--memory", "64m", "--", "python3", "-c", "x = bytearray(300 * 2**20)"])
    assert r.exit_code == 137 and "oom_kill (memory limit 64 MiB)" in r.stderr


needs_root = pytest.mark.skipif(__import__("os").geteuid() != 0, reason="real sandboxes need root")


@needs_root
def test_exec_runs_in_a_service_sandbox_like_docker_exec():
    from test_service import TOKEN, _free_port, _start_server

    from ale.sandbox import SandboxClient, SandboxSpec

    port = _free_port()
    server = _start_server(port)
    url = f"http://127.0.0.1:{port}"
    try:
        with SandboxClient(url, token=TOKEN) as c, c.create(SandboxSpec()) as sb:
            sb.exec("echo kept > /tmp/f", timeout=30)
            r = runner.invoke(cli.app, ["exec", sb.id, "--url", url, "--token", TOKEN, "--", "sh", "-c",
                                        "cat /tmp/f; echo oops >&2; exit 7"])
            assert r.exit_code == 7 and r.stdout == "kept\n" and r.stderr == "oops\n"
        r = runner.invoke(cli.app, ["exec", "nosuch", "--url", url, "--token", TOKEN, "--", "true"])
        assert r.exit_code == 2 and one_error_line(r).startswith("error: ") and "nosuch" in r.stderr
    finally:
        server.send_signal(__import__("signal").SIGINT)
        server.wait(20)


@needs_root
def test_shell_keeps_state_between_lines_and_removes_its_sandbox():
    r = runner.invoke(cli.app, ["shell"], input="cd /tmp && X=5\npwd; echo $X\nexit\necho never\n")
    assert r.exit_code == 0 and "/tmp\n5\n" in r.stdout and "never" not in r.stdout
    r = runner.invoke(cli.app, ["shell", "--image", "nosuch"], input="true\n")
    assert r.exit_code == 2 and one_error_line(r) == "error: no such image: nosuch (see `ale sandbox image ls`)"


@needs_root
def test_image_ls_counts_the_shared_base_layer_apart(tmp_path):
    import uuid

    name = f"test-ls-{uuid.uuid4().hex[:8]}"
    (tmp_path / "Dockerfile").write_text("FROM base\nRUN head -c 3145728 /dev/zero > /big\n")
    assert runner.invoke(cli.app, ["image", "build", str(tmp_path), "-t", name]).exit_code == 0
    try:
        rows = {}
        for line in runner.invoke(cli.app, ["image", "ls"], env={"COLUMNS": "300"}).stdout.splitlines():
            cells = [c.strip() for c in line.strip("│ ").split("│")]
            if len(cells) == 5:
                rows[cells[0]] = cells
        own, shared = rows[name][3:]
        assert own == "3.0 MiB"  # its own layer only, not the base rootfs under it
        assert shared == rows["base"][4] and float(shared.split()[0]) > 50
    finally:
        runner.invoke(cli.app, ["image", "rm", name])


@needs_root
def test_ctrl_c_removes_the_sandbox_and_exits_130():
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    p = subprocess.Popen(preexec_fn=_sigint_default, args=[sys.executable, "-m", "ale.cli", "sandbox", "run", "--", "sh", "-c", "echo up; sleep 120"],
                         cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env={**__import__("os").environ, "PYTHONPATH": str(root)})
    assert p.stdout.readline() == "up\n"
    t0 = time.time()
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=30)
    assert p.returncode == 130 and time.time() - t0 < 5 and "Traceback" not in err, err


class _PtyUser:
    """A user at a terminal: `ale sandbox ARGS` runs on the slave side of a pty made here (its controlling
    terminal, so a window resize reaches it as SIGWINCH), the test types on the master side and reads what
    the screen shows."""

    def __init__(self, *args: str, rows: int = 30, cols: int = 100):
        import fcntl
        import os
        import subprocess
        import sys
        import termios
        from pathlib import Path

        root = Path(__file__).resolve().parents[2]
        self.master, slave = os.openpty()
        self.resize(rows, cols)
        self.p = subprocess.Popen([sys.executable, "-m", "ale.cli", "sandbox", *args], cwd=root, stdin=slave,
                                  stdout=slave, stderr=slave, start_new_session=True,
                                  preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),
                                  env={**os.environ, "PYTHONPATH": str(root), "TERM": "xterm"})
        os.close(slave)
        self.screen = b""

    def resize(self, rows: int, cols: int) -> None:
        import fcntl
        import struct
        import termios

        fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def type(self, keys: str) -> None:
        __import__("os").write(self.master, keys.encode())

    def expect(self, pattern: str, timeout: float = 30) -> str:
        """Read the screen until `pattern` (a regex) shows up after what earlier expects consumed."""
        import os
        import re
        import select
        import time

        deadline = time.time() + timeout
        while not (m := re.search(pattern.encode(), self.screen)):
            left = deadline - time.time()
            if left <= 0 or not select.select([self.master], [], [], left)[0]:
                pytest.fail(f"{pattern!r} not on the screen within {timeout}s: {self.screen[-2000:]!r}")
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # EIO: the program exited and closed the terminal
                chunk = b""
            if not chunk:
                pytest.fail(f"{pattern!r} never shown; the program ended: {self.screen[-2000:]!r}")
            self.screen += chunk
        self.screen = self.screen[m.end():]
        return m.group(0).decode()

    def exit_code(self, timeout: float = 30) -> int:
        import os

        try:
            while os.read(self.master, 65536):  # drain: the program may block writing to a full terminal
                pass
        except OSError:
            pass
        code = self.p.wait(timeout)
        os.close(self.master)
        return code


def _terminal_session(user: _PtyUser) -> None:
    """What `docker exec -it` gives: a tty, its window size (kept in step), Ctrl-C to the foreground job,
    job control, and `exit N` ending the command with N."""
    user.expect(r"root@sandbox:/workspace# ")  # bash's prompt, as the user waits for it
    user.type("echo hi-$((40+2))\r")
    user.expect("hi-42")
    user.type("tty\r")
    assert user.expect(r"/dev/pts/\d+").startswith("/dev/pts/")
    user.type("stty size\r")
    user.expect("30 100")
    user.resize(50, 132)  # the kernel tells `ale` (SIGWINCH), which tells the sandbox's terminal
    __import__("time").sleep(1)
    user.type("stty size\r")
    user.expect("50 132")
    # the job says when it runs in the foreground (a Ctrl-C sent before bash hands it the terminal would
    # go to bash, and under load a fixed sleep was not always long enough)
    user.type("sh -c 'echo asleep-$((6*7)); exec sleep 60'\r")
    user.expect("asleep-42")
    user.type("\x03")  # Ctrl-C: to sleep, the foreground job, not to `ale` (raw mode)
    user.type("echo rc-$?\r")
    user.expect("rc-130", timeout=10)
    user.type("sleep 30 &\r")
    user.expect(r"\[1\] \d+")
    user.type("jobs\r")
    user.expect(r"\[1\]\+ +Running +sleep 30 &")
    user.type("exit 3\r")
    assert user.exit_code() == 3


@needs_root
def test_shell_from_a_terminal_is_bash_on_a_pty_in_a_fresh_sandbox():
    _terminal_session(_PtyUser("shell"))


@needs_root
def test_shell_from_a_terminal_into_a_service_sandbox():
    from test_service import TOKEN, _free_port, _start_server

    from ale.sandbox import SandboxClient, SandboxSpec

    port = _free_port()
    server = _start_server(port)
    url = f"http://127.0.0.1:{port}"
    try:
        with SandboxClient(url, token=TOKEN) as c, c.create(SandboxSpec()) as sb:
            sb.exec("echo kept > /tmp/f", timeout=30)
            user = _PtyUser("shell", sb.id, "--url", url, "--token", TOKEN)
            user.type("cat /tmp/f\r")
            user.expect("kept\r\n")
            _terminal_session(user)
        # a wrong token or a sandbox gone: one line, no terminal
        wrong = _PtyUser("shell", sb.id, "--url", url, "--token", "wrong")
        assert wrong.expect(r"HTTP 401: [^\r\n]*\r\n") == "HTTP 401: missing or wrong bearer token\r\n"
        assert wrong.exit_code() == 2
        gone = _PtyUser("shell", sb.id, "--url", url, "--token", TOKEN)
        assert sb.id in gone.expect(r"error:[^\r\n]*\r\n") and gone.exit_code() == 2
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(20)


@needs_root
@pytest.mark.parametrize("how", ["SIGHUP", "SIGTERM", "window closed"])
def test_shell_hung_up_here_ends_there(how):
    """Closing the window (or SIGTERM) ends `ale sandbox shell` at once with 128+N, no traceback, and
    removes its sandbox."""
    import os
    import time

    user = _PtyUser("shell")
    user.expect(r"root@sandbox:/workspace# ")
    # a process the hang-up does not reach (own session, no terminal): only removing the sandbox ends it
    tag = str(900000 + os.getpid() % 1000 * 100 + ["SIGHUP", "SIGTERM", "window closed"].index(how))
    user.type(f"setsid sleep {tag} < /dev/null > /dev/null 2>&1 & echo detached\r")
    user.expect("detached")

    def alive() -> bool:  # seen from the host, which sees every pid
        return _host_runs(f"sleep\0{tag}\0".encode())

    deadline = time.time() + 10
    while not alive():
        assert time.time() < deadline, "the detached sleep never started"
        time.sleep(0.1)
    t0 = time.time()
    if how == "window closed":  # the master side closes: the program's terminal hangs up
        os.close(user.master)
        code = user.p.wait(20)
    else:
        user.p.send_signal(getattr(signal, how))
        code = user.exit_code(20)
    assert code == 128 + (signal.SIGTERM if how == "SIGTERM" else signal.SIGHUP) and time.time() - t0 < 10
    if how != "window closed":
        assert b"Traceback" not in user.screen
    deadline = time.time() + 10
    while alive():  # the sandbox was removed, with everything in it
        assert time.time() < deadline, "the sandbox outlived `ale sandbox shell`"
        time.sleep(0.1)


def _host_runs(cmdline: bytes) -> bool:
    from pathlib import Path

    for p in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if p.read_bytes() == cmdline:
                return True
        except OSError:  # the process ended meanwhile
            pass
    return False
