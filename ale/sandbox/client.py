"""The SDK: one interface, embedded (in-process engine) or remote (HTTP), sync or async.

    client = SandboxClient()                                  # embedded: runs sandboxes in this process
    client = SandboxClient("http://127.0.0.1:8765", token=T)  # remote: the same calls over HTTP
    client = SandboxClient("ray")                             # Ray cluster: sandboxes placed by free capacity
    with client.create(SandboxSpec(memory="512m")) as sb:
        print(sb.exec("uname -a").stdout)
        s = sb.create_session(); s.run("cd /tmp"); s.run("pwd")

Moving code from a laptop to a cluster is changing that one argument. Every backend implements the
same verbs (`Backend`), named like the HTTP routes (ROCK's shape).
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import tarfile
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any, Protocol

from .spec import (Conflict, ExecResult, FileEntry, NotFound, OverCapacity, SandboxError, SandboxInfo, SandboxSpec,
                   SessionResult, Unavailable)


class Backend(Protocol):
    async def call(self, verb: str, **kw: Any) -> Any: ...
    async def upload(self, sandbox_id: str, dest: str, data: bytes) -> int: ...
    async def download(self, sandbox_id: str, path: str) -> tuple[bytes, bool]: ...
    async def aclose(self) -> None: ...


class Terminal(Protocol):
    """An interactive process on a pty in a sandbox (AsyncSandbox.terminal): the manager's own
    (session.Terminal) when embedded, _WebSocketTerminal when remote."""

    async def read(self) -> bytes: ...  # b"" once it exited
    async def write(self, data: bytes) -> None: ...
    async def resize(self, rows: int, cols: int) -> None: ...
    async def wait(self) -> int: ...
    async def close(self) -> None: ...


class EmbeddedBackend:
    """Calls a SandboxManager in this process (created lazily on first use)."""

    def __init__(self, manager=None, **manager_kw):
        from .manager import SandboxManager

        self.manager = manager or SandboxManager(**manager_kw)
        self._owns = manager is None

    async def call(self, verb: str, **kw: Any) -> Any:
        m = self.manager
        if not m.started:
            await m.start()
        return await dispatch(m, verb, kw)

    async def upload(self, sandbox_id: str, dest: str, data: bytes) -> int:
        return await self.call("upload", sandbox_id=sandbox_id, dest=dest, data=data)

    async def terminal(self, sandbox_id: str, command: list[str], **kw: Any) -> Terminal:
        if not self.manager.started:
            await self.manager.start()
        return await self.manager.open_terminal(sandbox_id, command, **kw)

    async def download(self, sandbox_id: str, path: str) -> tuple[bytes, bool]:
        return await self.call("download", sandbox_id=sandbox_id, path=path)

    async def aclose(self) -> None:
        if self._owns:
            await self.manager.close()


async def dispatch(m, verb: str, kw: dict[str, Any]) -> Any:
    """Map a verb (an HTTP route name) onto the manager. Used by the embedded backend and the server."""
    sid = kw.pop("sandbox_id", None)
    if verb == "start":
        return await m.create(SandboxSpec(**kw))
    if verb == "list":
        return await m.list()
    if verb == "images":
        return [i.to_json() for i in m.images.list()]
    if verb == "remove_image":
        return await m.remove_image(kw["name"])
    if sid is None:
        raise SandboxError(f"{verb} needs sandbox_id")
    match verb:
        case "status":
            return await m.status(sid)
        case "stop":
            return await m.stop(sid)
        case "delete":
            return await m.delete(sid)
        case "reset":
            return await m.reset(sid)
        case "commit":
            return (await m.commit(sid, kw["image"])).to_json()
        case "snapshot":
            return await m.snapshot(sid)
        case "fork":
            return await m.fork(sid, n=kw.get("n", 1), snapshot=kw.get("snapshot_id"))
        case "snapshots":
            return await m.snapshots(sid)
        case "delete_snapshot":
            return await m.delete_snapshot(sid, kw["snapshot_id"])
        case "execute":
            return await m.execute(sid, kw.pop("command"), **kw)
        case "create_session":
            return await m.create_session(sid, **kw)
        case "run_in_session":
            return await m.run_in_session(sid, kw.pop("session_id"), kw.pop("command"), **kw)
        case "interrupt_session":
            return await m.interrupt_session(sid, kw["session_id"])
        case "close_session":
            return await m.close_session(sid, kw["session_id"])
        case "read_file":
            if kw.get("start_line") is not None or kw.get("end_line") is not None:
                return (await m.read_lines(sid, kw["path"], kw.get("start_line") or 1, kw.get("end_line"))).encode()
            return await m.read_file(sid, kw["path"], offset=kw.get("offset", 0), length=kw.get("length"))
        case "write_file":
            return await m.write_file(sid, kw["path"], kw["data"], kw.get("mode", 0o644))
        case "list_files":
            return await m.list_files(sid, kw.get("path", "/"))
        case "upload":
            return await m.upload_tar(sid, kw["dest"], kw["data"])
        case "download":
            return await m.download(sid, kw["path"])
        case "events":
            return await m.events(sid, kw.get("since", 0))
    raise SandboxError(f"unknown verb {verb!r}")


_ERRORS = {404: NotFound, 409: Conflict, 429: OverCapacity, 503: Unavailable}


class RemoteBackend:
    """The same verbs over HTTP (see server.py for the routes)."""

    def __init__(self, url: str, token: str | None = None, timeout: float = 1800.0):
        import httpx

        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.url, self.headers = url.rstrip("/"), headers
        self.http = httpx.AsyncClient(base_url=url.rstrip("/"), headers=headers, timeout=timeout,
                                      limits=httpx.Limits(max_connections=256, max_keepalive_connections=64))

    def _raise(self, r) -> None:
        if r.status_code < 400:
            return
        try:
            msg = r.json().get("message") or r.text
        except ValueError:
            msg = r.text
        raise _ERRORS.get(r.status_code, SandboxError)(f"HTTP {r.status_code}: {msg}")

    async def call(self, verb: str, **kw: Any) -> Any:
        if verb in ("write_file",):
            kw["content_b64"] = base64.b64encode(kw.pop("data")).decode()
        r = await self.http.post(f"/v1/sandbox/{verb}", json=kw)
        self._raise(r)
        out = r.json()
        if verb == "read_file":
            return base64.b64decode(out["content_b64"])
        return _typed(verb, out)

    async def upload(self, sandbox_id: str, dest: str, data: bytes) -> int:
        r = await self.http.post("/v1/sandbox/upload", params={"sandbox_id": sandbox_id, "dest": dest}, content=data)
        self._raise(r)
        return r.json()["entries"]

    async def download(self, sandbox_id: str, path: str) -> tuple[bytes, bool]:
        r = await self.http.post("/v1/sandbox/download", json={"sandbox_id": sandbox_id, "path": path})
        self._raise(r)
        return r.content, r.headers.get("x-ale-kind") == "tar"

    async def terminal(self, sandbox_id: str, command: list[str], **kw: Any) -> Terminal:
        return await _WebSocketTerminal.open(self, {"sandbox_id": sandbox_id, "command": command, **kw})

    async def aclose(self) -> None:
        await self.http.aclose()


class _WebSocketTerminal:
    """A terminal of a remote service over its websocket route (server.py, /v1/sandbox/terminal)."""

    def __init__(self, ws: Any):
        self.ws, self.code = ws, None

    @classmethod
    async def open(cls, backend: RemoteBackend, request: dict[str, Any]) -> _WebSocketTerminal:
        from websockets.asyncio.client import connect
        from websockets.exceptions import InvalidStatus

        url = "ws" + backend.url.removeprefix("http") + "/v1/sandbox/terminal"
        try:
            ws = await connect(url, additional_headers=backend.headers, max_size=None, open_timeout=30)
        except InvalidStatus as e:
            status = e.response.status_code
            raise SandboxError(f"HTTP {status}: the service refused the terminal"
                               + (" (missing or wrong bearer token)" if status in (401, 403) else "")) from None
        await ws.send(json.dumps(request))
        reply = json.loads(await ws.recv())
        if "error" in reply:
            await ws.close()
            raise {"NotFound": NotFound, "Conflict": Conflict}.get(reply["error"], SandboxError)(reply["message"])
        return cls(ws)

    async def read(self) -> bytes:
        from websockets.exceptions import ConnectionClosed

        while self.code is None:
            try:
                msg = await self.ws.recv()
            except ConnectionClosed:  # the service went away: no exit code
                self.code = -1
                break
            if isinstance(msg, bytes):
                return msg
            self.code = json.loads(msg).get("exit_code", -1)
        return b""

    async def write(self, data: bytes) -> None:
        await self.ws.send(data)

    async def resize(self, rows: int, cols: int) -> None:
        await self.ws.send(json.dumps({"resize": [rows, cols]}))

    async def wait(self) -> int:
        while await self.read():
            pass
        return self.code

    async def close(self) -> None:
        await self.ws.close()


def _typed(verb: str, out: Any) -> Any:
    """JSON from the server -> the same types the embedded backend returns."""
    if verb in ("start", "status", "stop", "reset"):
        return SandboxInfo(**out)
    if verb in ("list", "fork"):
        return [SandboxInfo(**x) for x in out]
    if verb == "snapshot":
        return out["snapshot_id"]
    if verb == "execute":
        return ExecResult(**out)
    if verb == "run_in_session":
        return SessionResult(**out)
    if verb == "list_files":
        return [FileEntry(**x) for x in out]
    if verb == "create_session":
        return out["session_id"]
    return out


def make_backend(target: str | None, token: str | None = None, **kw) -> Backend:
    if target is None or target == "embedded":
        return EmbeddedBackend(**kw)
    if target.startswith(("http://", "https://")):
        return RemoteBackend(target, token)
    if target == "ray" or target.startswith("ray://"):
        from .ray_backend import RayBackend

        return RayBackend(None if target == "ray" else target, **kw)
    raise SandboxError(f"unknown sandbox backend {target!r}: use None (embedded), http(s)://HOST:PORT, or ray")


def tar_of(path: Path) -> bytes:
    """A folder (or file) on this machine as a tar, for upload."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        if path.is_dir():
            for p in sorted(path.rglob("*")):
                tf.add(p, arcname=str(p.relative_to(path)), recursive=False)
        else:
            tf.add(path, arcname=path.name)
    return buf.getvalue()


# ---------------------------------------------------------------- async SDK
class AsyncSession:
    def __init__(self, sandbox: AsyncSandbox, session_id: str):
        self.sandbox, self.id = sandbox, session_id

    async def run(self, command: str, timeout: float = 1200.0, idle_timeout: float | None = None,
                  background: bool = False) -> SessionResult:
        return await self.sandbox._call("run_in_session", session_id=self.id, command=command, timeout=timeout,
                                        idle_timeout=idle_timeout, background=background)

    async def interrupt(self) -> None:
        await self.sandbox._call("interrupt_session", session_id=self.id)

    async def close(self) -> None:
        await self.sandbox._call("close_session", session_id=self.id)


class AsyncSandbox:
    def __init__(self, backend: Backend, info: SandboxInfo):
        self.backend, self.info, self.id = backend, info, info.id

    async def _call(self, verb: str, **kw: Any) -> Any:
        return await self.backend.call(verb, sandbox_id=self.id, **kw)

    async def exec(self, command: str | list[str], timeout: float = 1200.0, cwd: str | None = None,
                   env: dict[str, str] | None = None, max_output: int | None = None,
                   encoding: str = "text") -> ExecResult:
        return await self._call("execute", command=command, timeout=timeout, cwd=cwd, env=env,
                                max_output=max_output, encoding=encoding)

    async def create_session(self, cwd: str | None = None, env: dict[str, str] | None = None) -> AsyncSession:
        return AsyncSession(self, await self._call("create_session", cwd=cwd, env=env))

    async def session(self, session_id: str) -> AsyncSession:
        """A session this sandbox already has (e.g. one a fork carried over from its parent, same id)."""
        return AsyncSession(self, session_id)

    async def terminal(self, command: list[str] | None = None, cwd: str | None = None, env: dict[str, str] | None = None,
                       rows: int = 24, cols: int = 80) -> Terminal:
        """`command` (default bash) on a fresh pty: raw bytes both ways, as `docker exec -it` (embedded or
        HTTP backends). Close it when done: that hangs it up (SIGHUP, then SIGKILL)."""
        if not hasattr(self.backend, "terminal"):
            raise SandboxError("terminals need the embedded or the HTTP backend")
        return await self.backend.terminal(self.id, command or ["bash"], cwd=cwd, env=env, rows=rows, cols=cols)

    async def read_bytes(self, path: str, offset: int = 0, length: int | None = None) -> bytes:
        return await self._call("read_file", path=path, offset=offset, length=length)

    async def read_file(self, path: str, start_line: int | None = None, end_line: int | None = None) -> str:
        data = await self._call("read_file", path=path, start_line=start_line, end_line=end_line)
        return data.decode(errors="replace")

    async def write_file(self, path: str, content: str | bytes, mode: int = 0o644) -> int:
        data = content.encode() if isinstance(content, str) else content
        return await self._call("write_file", path=path, data=data, mode=mode)

    async def list_files(self, path: str = "/") -> list[FileEntry]:
        return await self._call("list_files", path=path)

    async def upload(self, source: Path | str | bytes, dest: str) -> int:
        """Upload a local file or folder (or tar bytes) to dest (a folder in the sandbox)."""
        data = source if isinstance(source, bytes) else tar_of(Path(source))
        return await self.backend.upload(self.id, dest, data)

    async def download(self, path: str) -> tuple[bytes, bool]:
        """(content, is_tar): a file's bytes, or a folder as a tar."""
        return await self.backend.download(self.id, path)

    async def events(self, since: int = 0) -> list[dict]:
        return await self._call("events", since=since)

    async def status(self) -> SandboxInfo:
        self.info = await self._call("status")
        return self.info

    async def stop(self) -> SandboxInfo:
        return await self._call("stop")

    async def reset(self) -> SandboxInfo:
        return await self._call("reset")

    async def commit(self, image: str) -> dict:
        return await self._call("commit", image=image)

    async def snapshot(self) -> str:
        """Save this sandbox's files and session state (not its processes); returns the snapshot id."""
        return await self._call("snapshot")

    async def fork(self, n: int = 1, snapshot: str | None = None) -> list[AsyncSandbox]:
        """n new sandboxes starting from `snapshot` (default: a snapshot taken now), with this one's spec
        and its sessions (same ids, cwd, variables, functions, aliases; no processes)."""
        infos = await self._call("fork", n=n, snapshot_id=snapshot)
        return [AsyncSandbox(self.backend, i) for i in infos]

    async def snapshots(self) -> list[str]:
        return await self._call("snapshots")

    async def delete_snapshot(self, snapshot: str) -> None:
        await self._call("delete_snapshot", snapshot_id=snapshot)

    async def delete(self) -> None:
        try:
            await self._call("delete")
        except NotFound:
            pass

    async def __aenter__(self) -> AsyncSandbox:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.delete()


class AsyncSandboxClient:
    def __init__(self, target: str | None = None, *, token: str | None = None, **kw):
        self.backend = make_backend(target, token, **kw)

    async def create(self, spec: SandboxSpec | None = None, **kw: Any) -> AsyncSandbox:
        spec = spec or SandboxSpec(**kw)
        info = await self.backend.call("start", **asdict(spec))
        return AsyncSandbox(self.backend, info)

    async def get(self, sandbox_id: str) -> AsyncSandbox:
        return AsyncSandbox(self.backend, await self.backend.call("status", sandbox_id=sandbox_id))

    async def list(self) -> list[SandboxInfo]:
        return await self.backend.call("list")

    async def close(self) -> None:
        await self.backend.aclose()

    async def __aenter__(self) -> AsyncSandboxClient:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()


# ---------------------------------------------------------------- sync SDK (an event loop in a thread)
class _Loop:
    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="ale-sandbox-loop", daemon=True)
        self.thread.start()

    def run(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def stop(self):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


class _SyncProxy:
    """Wraps an async object: every coroutine method becomes a blocking call on the loop thread."""

    _wrap: dict[type, type] = {}

    def __init__(self, loop: _Loop, inner: Any):
        self._loop, self._inner = loop, inner

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if not asyncio.iscoroutinefunction(attr):
            return attr

        def call(*a, **kw):
            out = self._loop.run(attr(*a, **kw))
            if isinstance(out, list):  # fork's sandboxes
                return [self._wrapped(x) for x in out]
            return self._wrapped(out)
        return call

    def _wrapped(self, out: Any) -> Any:
        wrapper = self._wrap.get(type(out))
        return wrapper(self._loop, out) if wrapper else out


class Session(_SyncProxy):
    """Sync face of AsyncSession: run(command, timeout, idle_timeout, background), interrupt(), close()."""


class Sandbox(_SyncProxy):
    """Sync face of AsyncSandbox: exec, create_session, read_file, write_file, upload, download,
    snapshot, fork (a list of Sandbox), ..."""

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc) -> None:
        self.delete()


_SyncProxy._wrap = {AsyncSandbox: Sandbox, AsyncSession: Session}


class SandboxClient:
    """Blocking SDK; see the module docstring. Close it (or use `with`) to remove its sandboxes when
    it is embedded."""

    def __init__(self, target: str | None = None, *, token: str | None = None, **kw):
        self._loop = _Loop()

        async def make():
            return AsyncSandboxClient(target, token=token, **kw)
        self._client = self._loop.run(make())

    def create(self, spec: SandboxSpec | None = None, **kw: Any) -> Sandbox:
        return Sandbox(self._loop, self._loop.run(self._client.create(spec, **kw)))

    def get(self, sandbox_id: str) -> Sandbox:
        return Sandbox(self._loop, self._loop.run(self._client.get(sandbox_id)))

    def list(self) -> list[SandboxInfo]:
        return self._loop.run(self._client.list())

    def run_with_manager(self, fn):
        """Embedded clients only: `await fn(manager)` on this client's event loop, for engine-level work
        such as image builds and grading (`ale.bench.task.ensure_image`, `grade`)."""
        backend = self._client.backend
        if not isinstance(backend, EmbeddedBackend):
            raise SandboxError("run_with_manager needs an embedded client (the engine runs in this process)")

        async def go():
            if not backend.manager.started:
                await backend.manager.start()
            return await fn(backend.manager)
        return self._loop.run(go())

    def close(self) -> None:
        if self._loop.thread.is_alive():
            self._loop.run(self._client.close())
            self._loop.stop()

    def __enter__(self) -> SandboxClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
