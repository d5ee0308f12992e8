"""`ale sandbox run --url URL` (or ALE_SANDBOX_URL): the run done by a real `ale sandbox serve` on loopback,
through the thin client (ale/sandbox/thin.py), as a user runs it: `python -m ale.cli` in a subprocess."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from test_sandbox_cli import _sigint_default
from test_service import TOKEN, _free_port, _start_server
from typer.testing import CliRunner

from ale.sandbox import cli

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def url():
    port = _free_port()
    p = _start_server(port)
    yield f"http://127.0.0.1:{port}"
    p.send_signal(signal.SIGINT)
    p.wait(20)


def _env(**kw) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("ALE_SANDBOX_URL", "ALE_SANDBOX_TOKEN")}
    return {**env, "PYTHONPATH": str(ROOT), "ALE_SANDBOX_TOKEN": TOKEN, **kw}


def ale_run(*args: str, env: dict | None = None, text: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ale.cli", "sandbox", "run", *args], cwd=ROOT, capture_output=True,
                          text=text, timeout=60, env=env or _env())


def sandboxes(url: str) -> list[str]:
    r = httpx.post(f"{url}/v1/sandbox/list", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    return [i["id"] for i in r.json()]


def one_error_line(r) -> str:
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in r.stdout + r.stderr, (r.stdout, r.stderr)
    return lines[0]


def test_output_exit_code_env_and_workdir(url):
    r = ale_run("--url", url, "-e", "A=1", "--env=B=two words", "--workdir", "/tmp", "--memory", "256m", "--",
                "sh", "-c", 'echo "$A $B"; pwd; echo oops >&2; exit 7')
    assert (r.returncode, r.stdout, r.stderr) == (7, "1 two words\n/tmp\n", "oops\n")
    assert sandboxes(url) == []


def test_output_bytes_are_exact_also_past_a_streamed_answer(url):
    r = ale_run("--url", url, "--", "sh", "-c", r"printf '\377\000x'; head -c 1500000 /dev/zero | tr '\0' y",
                text=False)
    # over 1 MiB the service streams its answer (chunked): the client reassembles it
    assert r.returncode == 0 and r.stdout == b"\xff\x00x" + b"y" * 1500000, r.stderr


def test_the_service_runs_it_and_ctrl_c_deletes_the_sandbox(url):
    p = subprocess.Popen([sys.executable, "-m", "ale.cli", "sandbox", "run", "--url", url, "--", "sleep", "100"],
                         cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(),
                         preexec_fn=_sigint_default)
    deadline = time.monotonic() + 20
    while not sandboxes(url):  # the sandbox is the service's, not this client's
        assert p.poll() is None and time.monotonic() < deadline, p.communicate()
        time.sleep(0.05)
    time.sleep(0.3)  # the command is running now
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=30)
    assert p.returncode == 130 and "Traceback" not in err, err
    assert sandboxes(url) == []


def test_timeout_is_124_and_deletes_the_sandbox(url):
    t0 = time.monotonic()
    r = ale_run("--url", url, "--timeout", "1", "--", "sleep", "30")
    assert r.returncode == 124 and r.stderr == "timed out after 1s\n" and time.monotonic() - t0 < 15
    assert sandboxes(url) == []


@pytest.mark.parametrize("args,env,line", [
    (["--image", "nosuch"], {}, "no such image: nosuch"),
    (["--memory", "lots"], {}, "memory: not a size: 'lots'"),
    ([], {"ALE_SANDBOX_TOKEN": "wrong"}, "missing or wrong bearer token"),
])
def test_errors_are_one_line(url, args, env, line):
    r = ale_run("--url", url, *args, "--", "true", env=_env(**env))
    assert r.returncode == 125 and one_error_line(r).startswith(f"error: {url}: ") and line in r.stderr, r.stderr
    assert sandboxes(url) == []


def test_env_url_and_token_file(url, tmp_path):
    token = tmp_path / "token"
    token.write_text(TOKEN + "\n")
    env = {k: v for k, v in _env(ALE_SANDBOX_URL=url).items() if k != "ALE_SANDBOX_TOKEN"}
    r = ale_run("--token-file", str(token), "--", "echo", "hi", env=env)
    assert (r.returncode, r.stdout, r.stderr) == (0, "hi\n", "")
    r = ale_run("--", "echo", "hi", env=env)  # ALE_SANDBOX_URL alone selects the service: no token, 401
    assert r.returncode == 125 and "wrong bearer token" in one_error_line(r)


def test_unreachable_service_is_one_line():
    dead = f"http://127.0.0.1:{_free_port()}"
    r = ale_run("--", "true", env=_env(ALE_SANDBOX_URL=dead))
    assert r.returncode == 125 and one_error_line(r) == f"error: cannot reach {dead}: Connection refused"
    r = ale_run("--url", "ftp://x", "--", "true")
    assert r.returncode == 125 and one_error_line(r) == "error: --url wants http(s)://HOST:PORT, got 'ftp://x'"


def test_the_typer_command_goes_to_the_service_too(url):
    # `ale --help`-style paths and options the fast parser leaves to typer end in the same client
    r = CliRunner().invoke(cli.app, ["run", "--url", url, "--", "sh", "-c", "echo hi; exit 3"], env=_env())
    assert r.exit_code == 3 and r.stdout == "hi\n"
    r = CliRunner().invoke(cli.app, ["run", "--token-file", "/nonexistent", "--", "true"], env=_env())
    assert r.exit_code == 2 and r.stderr == "error: --token-file is for a service: give --url (or " \
                                                     "ALE_SANDBOX_URL) too\n"
    help_ = CliRunner().invoke(cli.app, ["run", "--help"], env={"COLUMNS": "200"}).output
    assert "--url" in help_ and "ALE_SANDBOX_URL" in help_ and "--token-file" in help_


def test_the_thin_path_imports_no_engine_or_framework(url):
    probe = ("import json, sys\n"
             f"sys.argv = ['ale', 'sandbox', 'run', '--url', {url!r}, '--', 'true']\n"
             "from ale.cli import main\n"
             "try:\n    main()\nexcept SystemExit as e:\n    code = e.code\n"
             "heavy = ('asyncio', 'httpx', 'pydantic', 'typer', 'rich', 'ale.sandbox.manager', 'ale.sandbox.spec')\n"
             "print(json.dumps([code, sorted(m for m in sys.modules if m.startswith(heavy))]))\n")
    r = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60, env=_env())
    assert json.loads(r.stdout.splitlines()[-1]) == [0, []], (r.stdout, r.stderr)
