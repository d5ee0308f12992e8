"""The HTTP service and the remote SDK: auth, errors, the OpenAPI document, the same calls as embedded."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from ale.sandbox import NotFound, OverCapacity, SandboxClient, SandboxSpec

TOKEN = "test-token-123"


def _free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _start_server(port: int, *extra: str) -> subprocess.Popen:
    p = subprocess.Popen([sys.executable, "-m", "ale.cli", "sandbox", "serve", "--port", str(port), *extra],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         env={**os.environ, "ALE_SANDBOX_TOKEN": TOKEN})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return p
        except httpx.HTTPError:
            time.sleep(0.1)
    p.kill()
    raise RuntimeError(f"server did not start: {p.stdout.read()}")


@pytest.fixture(scope="module")
def server():
    port = _free_port()
    p = _start_server(port, "--max-sandboxes", "3")
    yield f"http://127.0.0.1:{port}"
    p.send_signal(signal.SIGINT)
    p.wait(20)


def test_auth_required(server):
    r = httpx.post(f"{server}/v1/sandbox/list", json={})
    assert r.status_code == 401 and r.json()["error"] == "HTTPError"
    r = httpx.post(f"{server}/v1/sandbox/list", json={}, headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401


def test_terminal_websocket_needs_the_token_and_relays_a_pty(server):
    import asyncio
    import json

    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    from ale.sandbox import AsyncSandboxClient

    ws_url = "ws" + server.removeprefix("http") + "/v1/sandbox/terminal"
    # refused at the handshake, before any message: no token, a wrong one, or from a web page (its Origin)
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Bearer {TOKEN}", "Origin": "http://a.test"}):
        with pytest.raises(InvalidStatus) as e:
            connect(ws_url, additional_headers=headers, open_timeout=10)
        assert e.value.response.status_code == 403
    for first in (b"\x00", "not json", '{"sandbox_id": "x", "rows": 0}'):  # a bad request: one JSON answer, closed
        with connect(ws_url, additional_headers={"Authorization": f"Bearer {TOKEN}"}, open_timeout=10) as ws:
            ws.send(first)
            assert json.loads(ws.recv(timeout=10))["error"] == "InvalidRequest"

    async def go() -> tuple[bytes, int]:
        c = AsyncSandboxClient(server, token=TOKEN)
        try:
            with pytest.raises(NotFound):
                await (await c.get("nosuch")).terminal()
            async with await c.create(SandboxSpec()) as sb:
                with pytest.raises(NotFound):  # the websocket's own answer for a sandbox gone
                    await c.backend.terminal("nosuch", ["bash"])
                term = await sb.terminal(["sh", "-c", "tty; stty size; read x; echo got-$x; exit 5"], rows=7, cols=33)
                await term.write(b"abc\r")
                out = b""
                while data := await term.read():
                    out += data
                return out, await term.wait()
        finally:
            await c.close()

    out, code = asyncio.run(go())
    assert code == 5 and b"/dev/pts/" in out and b"7 33" in out and b"got-abc" in out, out


def test_openapi_document(server):
    doc = httpx.get(f"{server}/openapi.json").json()
    for verb in ["start", "status", "execute", "create_session", "run_in_session", "close_session", "read_file",
                 "write_file", "upload", "download", "stop", "delete", "reset", "commit", "list", "events",
                 "snapshot", "fork", "snapshots", "delete_snapshot"]:
        assert f"/v1/sandbox/{verb}" in doc["paths"], verb
    spec = doc["components"]["schemas"]["SandboxSpec"]  # a dataclass: its bounds are added to the schema by hand
    assert spec["additionalProperties"] is False
    assert (spec["properties"]["cpus"]["minimum"], spec["properties"]["pids"]["maximum"]) == (0.01, 1_000_000)


def test_errors_are_clear_json(server):
    h = {"Authorization": f"Bearer {TOKEN}"}
    r = httpx.post(f"{server}/v1/sandbox/status", json={"sandbox_id": "nope"}, headers=h)
    assert r.status_code == 404 and "nope" in r.json()["message"]
    r = httpx.post(f"{server}/v1/sandbox/start", json={"memory": "lots"}, headers=h)
    assert r.status_code == 422 and r.json()["message"] == "body: memory: not a size: 'lots' (use e.g. 512m, 1g, 65536)"
    r = httpx.post(f"{server}/v1/sandbox/start", json={"memry": "1g"}, headers=h)  # a typo is refused, not ignored
    assert r.status_code == 422 and "memry" in r.json()["message"]
    r = httpx.post(f"{server}/v1/sandbox/start", json={"network": {"mode": "allowlist"}}, headers=h)
    assert r.status_code == 422 and "needs at least one allowed host" in r.json()["message"]
    r = httpx.post(f"{server}/v1/sandbox/execute", json={"sandbox_id": "x"}, headers=h)
    assert r.status_code == 422 and "command" in r.json()["message"]
    r = httpx.post(f"{server}/v1/sandbox/start", content=b"{not json", headers={**h, "content-type": "application/json"})
    assert r.status_code == 422


def test_remote_sdk_same_calls(server, tmp_path):
    with SandboxClient(server, token=TOKEN) as c:
        with c.create(SandboxSpec(memory="256m")) as sb:
            r = sb.exec("echo hi; echo e >&2; exit 3")
            assert (r.exit_code, r.stdout, r.stderr) == (3, "hi\n", "e\n")
            s = sb.create_session()
            s.run("cd /tmp")
            assert s.run("pwd").output == "/tmp\n"
            sb.write_file("/workspace/b.bin", b"\x00\xff")
            assert sb.read_bytes("/workspace/b.bin") == b"\x00\xff"
            (tmp_path / "f.txt").write_text("up")
            assert sb.upload(tmp_path, "/workspace/up") == 1
            assert sb.download("/workspace/up/f.txt") == (b"up", False)
            assert sb.id in {i.id for i in c.list()}
            assert sb.events() == [] or isinstance(sb.events(), list)
        with pytest.raises(NotFound):
            c.get(sb.id)


def test_over_capacity_is_429(server):
    with SandboxClient(server, token=TOKEN) as c:
        boxes = [c.create(SandboxSpec(memory="64m")) for _ in range(3)]
        try:
            with pytest.raises(OverCapacity):
                c.create(SandboxSpec(memory="64m"))
        finally:
            for b in boxes:
                b.delete()


def test_startup_sweep_after_kill_9():
    cg_root = Path("/sys/fs/cgroup/pids/ale")
    port = _free_port()
    p = _start_server(port)
    with SandboxClient(f"http://127.0.0.1:{port}", token=TOKEN) as c:
        boxes = [c.create(SandboxSpec(memory="64m")) for _ in range(2)]
        boxes[0].exec("sleep 1000 &")
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    from ale.sandbox.manager import SandboxManager

    # The killed server's instance (named home tag, pid, random): other managers of this home may be
    # making instances of their own meanwhile (another test run beside this one).
    tag = SandboxManager().home_tag
    (instance,) = {d.name for d in cg_root.iterdir() if d.is_dir() and d.name.startswith(f"{tag}-{p.pid}-")}
    assert len([d for d in (cg_root / instance).iterdir() if d.is_dir()]) == 2  # left behind
    assert (Path("/var/lib/ale/run") / instance).exists()

    assert instance in SandboxManager().sweep()
    assert not (cg_root / instance).exists() and not (Path("/var/lib/ale/run") / instance).exists()
    assert not subprocess.run(["pgrep", "-f", "sleep 1000"], capture_output=True, text=True).stdout.strip()
