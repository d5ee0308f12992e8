"""The HTTP API against a token holder's bad input and other local users (issue #12 items 12, 13, 15).

One real `ale sandbox serve` per module (token from the environment); requests go to loopback only."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

TOKEN = "sec-api-token-" + "x" * 16


def _port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _serve(*args: str, env: dict | None = None, wait: float = 30) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "ale.cli", "sandbox", "serve", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, **(env or {})})


def _refused(*args: str, env: dict | None = None) -> str:
    """The serve command must exit at once with a one-line reason (not start serving)."""
    p = _serve("--port", str(_port()), *args, env=env)
    try:
        out, _ = p.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        pytest.fail(f"serve {args} started instead of refusing")
    assert p.returncode != 0 and "Traceback" not in out, out
    return out


@pytest.fixture(scope="module")
def server():
    port = _port()
    p = _serve("--port", str(port), "--max-body", "16m", "--max-memory", "2g", env={"ALE_SANDBOX_TOKEN": TOKEN})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    else:
        p.kill()
        pytest.fail(f"server did not start: {p.communicate()[0]}")
    yield url
    p.terminate()
    try:
        p.wait(20)
    except subprocess.TimeoutExpired:
        p.kill()


@pytest.fixture(scope="module")
def http(server):
    with httpx.Client(base_url=server, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60) as c:
        yield c


# ---------------------------------------------------------------------------- item 15: the token
def test_token_on_the_command_line_is_refused():
    assert "ps" in _refused("--token", "T0ken")


def test_empty_token_is_refused():
    assert "empty" in _refused(env={"ALE_SANDBOX_TOKEN": ""})


def test_no_auth_only_on_loopback():
    assert "loopback" in _refused("--no-auth", "--host", "0.0.0.0")


def test_token_file_must_be_private(tmp_path):
    f = tmp_path / "token"
    f.write_text("secret-token\n")
    f.chmod(0o644)
    assert "chmod 600" in _refused("--token-file", str(f))


def test_event_log_is_private(client, sandbox):
    sandbox.exec("echo secret-command")
    sandbox.exec(["bash", "-c", "exit 3"])
    run_dir = client.run_with_manager(_run_dir)
    sandbox.events()
    logs = list(run_dir.glob("*.events.jsonl"))
    assert logs
    for log in logs:
        assert log.stat().st_mode & 0o077 == 0, f"{log} is mode {log.stat().st_mode & 0o777:o}"


async def _run_dir(m):
    m._event(next(iter(m._sandboxes.values())), {"kind": "probe"})
    return m.run_dir


# ---------------------------------------------------------------------------- item 13: auth and size first
def _raw_post(url: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as s:
        head = f"POST {path} HTTP/1.1\r\nHost: x\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        s.sendall(head.encode() + body)
        try:
            return s.recv(4096)
        except TimeoutError:
            return b""


def test_unauthenticated_body_is_never_read(server):
    """A 200 MiB body announced without a token: answered 401 from the headers, before the body comes."""
    t0 = time.monotonic()
    reply = _raw_post(server, "/v1/sandbox/start", {"Content-Length": str(200 << 20),
                                                    "Content-Type": "application/json"}, b'{"image": "')
    assert reply.startswith(b"HTTP/1.1 401"), reply[:200]
    assert time.monotonic() - t0 < 3


def test_oversized_body_is_refused_before_reading(server):
    reply = _raw_post(server, "/v1/sandbox/write_file", {"Content-Length": str(200 << 20), "Authorization":
                      f"Bearer {TOKEN}", "Content-Type": "application/json"}, b"{")
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]


@pytest.mark.parametrize("spec", [{"memory": "99999999t"}, {"memory": "3g"}, {"disk": 2 ** 70}, {"cpus": 1000}])
def test_caps_bound_what_a_token_can_ask_for(http, spec):
    r = http.post("/v1/sandbox/start", json=spec)
    assert r.status_code in (422, 429), (r.status_code, r.text)
    assert "cap" in r.text or "less than" in r.text or "Input should" in r.text, r.text
