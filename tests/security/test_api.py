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
    assert any(w in r.text for w in ("cap", "between", "less than", "Input should")), r.text


# ---------------------------------------------------------------------------- item 12: no 500 on bad input
@pytest.fixture(scope="module")
def sid(http):
    r = http.post("/v1/sandbox/start", json={"memory": "256m", "disk": "64m", "pids": 128})
    assert r.status_code == 200, r.text
    yield r.json()["id"]
    http.post("/v1/sandbox/delete", json={"sandbox_id": r.json()["id"]})


def _post(http, path: str, body: dict) -> httpx.Response:
    """JSON with \\u escapes (httpx cannot encode lone surrogates itself)."""
    import json

    return http.post(path, content=json.dumps(body), headers={"Content-Type": "application/json"})


def _assert_clear_4xx(r: httpx.Response) -> None:
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:500])
    body = r.json()
    assert body.get("message") and "__ale" not in body["message"] and "Traceback" not in body["message"], body


@pytest.mark.parametrize("spec", [{"memory": 1}, {"memory": 4096}, {"memory": 2 ** 70}, {"cpus": 0.001},
                                  {"workdir": "/" + "w" * 3000}, {"workdir": "/etc/passwd"},
                                  {"disk": 1}, {"env": {"A": "\ud800"}}, {"labels": {"k": "\udfff"}}])
def test_bad_specs_are_clear_4xx(http, spec):
    _assert_clear_4xx(_post(http, "/v1/sandbox/start", spec))
    r = http.post("/v1/sandbox/list", json={})
    assert r.status_code == 200, r.text  # nothing half-made that breaks listing for everyone


@pytest.mark.parametrize("verb, body", [
    ("read_file", {"path": "/etc/hostname", "offset": 2 ** 63}),
    ("read_file", {"path": "/etc/hostname", "offset": 2 ** 64 + 5, "length": 2 ** 70}),
    ("create_session", {"cwd": "/nonexistent"}),
    ("create_session", {"cwd": "/etc/passwd"}),
    ("execute", {"command": ["\ud800"]}),
    ("write_file", {"path": "/tmp/\udc80", "content": "x"}),
])
def test_bad_calls_are_clear_4xx(http, sid, verb, body):
    _assert_clear_4xx(_post(http, f"/v1/sandbox/{verb}", {"sandbox_id": sid, **body}))
    assert http.post("/v1/sandbox/execute", json={"sandbox_id": sid, "command": "true"}).status_code == 200


def test_truncated_tar_upload_is_a_clear_4xx(http, sid):
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        data = b"x" * 100000
        info = tarfile.TarInfo("big")
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    r = http.post("/v1/sandbox/upload", params={"sandbox_id": sid, "dest": "/tmp/up"}, content=buf.getvalue()[:30000])
    _assert_clear_4xx(r)


def test_very_deep_tree_download_and_commit(http, sid):
    r = http.post("/v1/sandbox/execute", json={"sandbox_id": sid, "command":
                  "mkdir /tmp/deep && cd /tmp/deep && for i in $(seq 1100); do mkdir d && cd d; done"})
    assert r.json()["exit_code"] == 0, r.text
    r = http.post("/v1/sandbox/download", json={"sandbox_id": sid, "path": "/tmp/deep"})
    assert r.status_code == 200 or 400 <= r.status_code < 500, (r.status_code, r.text[:300])
    from ale.sandbox.manager import DEFAULT_HOME

    layers = DEFAULT_HOME / "layers"
    tmp_before = {p.name for p in layers.glob(".tmp-*")}
    r = http.post("/v1/sandbox/commit", json={"sandbox_id": sid, "image": "sec-deep-commit"})
    try:
        assert r.status_code == 200 or 400 <= r.status_code < 500, (r.status_code, r.text[:300])
        assert {p.name for p in layers.glob(".tmp-*")} - tmp_before == set(), "commit left a .tmp-* layer"
    finally:
        if r.status_code == 200:
            http.post("/v1/images/remove", json={"name": "sec-deep-commit"})
    http.post("/v1/sandbox/execute", json={"sandbox_id": sid, "command": ["rm", "-rf", "/tmp/deep"]})


def test_keep_alive_survives_an_error(http, sid):
    """Errors (any status) answer on the same connection; the next call on it works."""
    for _ in range(3):
        http.post("/v1/sandbox/read_file", json={"sandbox_id": sid, "path": "/nonexistent"})
        assert http.post("/v1/sandbox/execute", json={"sandbox_id": sid, "command": "echo ok"}).json()["stdout"] == "ok\n"


# ---------------------------------------------------------------------------- item 14: big outputs
def test_a_64_mib_output_does_not_hold_the_event_loop():
    """A command with max_output at its 64 MiB maximum: the service's event loop (which serves every
    other sandbox) must never be held long while it collects, decodes and sends that output.
    Measured as the CPU time of the longest single callback on the server's loop (in this process),
    not as wall time or another request's latency: on this shared, loaded 2-core machine those
    mostly measure the load."""
    import asyncio
    import json
    import threading

    import uvicorn

    from ale.sandbox.manager import SandboxManager
    from ale.sandbox.server import create_app

    port = _port()
    server = uvicorn.Server(uvicorn.Config(create_app(SandboxManager(), TOKEN), host="127.0.0.1", port=port,
                                           log_level="warning"))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(server.serve(),), daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    worst = [0.0, 0]  # CPU seconds of the longest callback, callbacks seen
    original = asyncio.events.Handle._run

    def timed(handle):
        if threading.current_thread() is not thread:
            return original(handle)
        t0 = time.thread_time()
        try:
            return original(handle)
        finally:
            worst[0], worst[1] = max(worst[0], time.thread_time() - t0), worst[1] + 1
    try:
        deadline = time.monotonic() + 30
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60) as c:
            big = c.post("/v1/sandbox/start", json={"memory": "512m", "disk": "64m", "pids": 64}).json()["id"]
            asyncio.events.Handle._run = timed
            # From another process: parsing 64 MiB here would only slow this process down.
            body = json.dumps({"sandbox_id": big, "max_output": 64 << 20,
                               "command": "head -c 67108864 /dev/zero | tr '\\0' x"})
            r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{size_download}",
                                "-H", f"Authorization: Bearer {TOKEN}", "-H", "Content-Type: application/json",
                                "-d", body, f"{url}/v1/sandbox/execute"], capture_output=True, text=True, timeout=120)
            asyncio.events.Handle._run = original
            code, size = r.stdout.split()
            assert code == "200" and int(size) > 64 << 20, r.stdout
    finally:
        asyncio.events.Handle._run = original
        server.should_exit = True
        thread.join(30)
    assert worst[1] > 100 and worst[0] < 0.2, f"one callback held the event loop for {worst[0]:.2f} CPU-s"
