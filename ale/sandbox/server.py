"""The HTTP service: `ale sandbox serve` (FastAPI + uvicorn), JSON routes in ROCK's shape under /v1.

Every route is POST /v1/sandbox/<verb> with a JSON body naming the sandbox (as ROCK does), guarded by
a bearer token. Errors are JSON {"error", "message"}: unknown sandbox 404, invalid request 422,
wrong state 409, over capacity 429, overloaded 503. The OpenAPI document is at /openapi.json.

The token and the body size are checked before anything of the body is read (an outer ASGI gate),
and per-request caps (`Caps`: memory, disk, cpus per sandbox) bound what one token can ask for.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import ipaddress
import json
import secrets
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Request, WebSocket, WebSocketDisconnect
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field, ValidationError

from .client import dispatch
from .manager import SandboxManager
from .spec import (ExecResult, FileEntry, GuardAction, OverCapacity, SandboxError, SandboxInfo, SandboxSpec,
                   SessionResult)

OPEN_PATHS = ("/health", "/openapi.json")  # answered without the token (no sandbox data in them)


@dataclass
class Caps:
    """What one request may ask for (the service has one token: these bound what its holder gets)."""

    max_body: int = 128 << 20  # request bodies (JSON and tar uploads), checked before reading them
    max_memory: int = 64 << 30
    max_disk: int = 64 << 30
    max_cpus: float = 64.0

    def check(self, spec: SandboxSpec) -> None:
        for what, got, cap in (("memory", spec.memory, self.max_memory), ("disk", spec.disk, self.max_disk),
                               ("cpus", spec.cpus, self.max_cpus)):
            if got > cap:
                raise OverCapacity(f"{what} {got} is over this service's cap of {cap}")


class InternalError(SandboxError):
    """An unexpected failure: answered as JSON 500 through the normal handlers, so the client's
    keep-alive connection survives it (an unhandled exception made the server drop the connection)."""

    status = 500


def _gate(app, token: str, max_body: int):
    """Outer ASGI layer: the bearer token and the body size are checked from the headers alone,
    before any byte of the body is read or parsed."""
    expected = f"Bearer {token}".encode()

    async def reply(send, status: int, error: str, message: str) -> None:
        body = json.dumps({"error": error, "message": message}).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    async def gate(scope, receive, send):
        if scope["type"] not in ("http", "websocket") or scope["path"] in OPEN_PATHS:
            return await app(scope, receive, send)
        headers = dict(scope["headers"])
        # A web page may open a websocket to any origin without a preflight, so one from a browser (which
        # always says its Origin; the SDK never does) is refused: with --no-auth it would be a shell.
        refused = scope["type"] == "websocket" and b"origin" in headers
        if refused or token and not hmac.compare_digest(headers.get(b"authorization", b""), expected):
            if scope["type"] == "websocket":  # closing before accepting: the handshake is answered 403
                await receive()
                return await send({"type": "websocket.close", "code": 1008})
            return await reply(send, 401, "HTTPError", "missing or wrong bearer token")
        if scope["type"] == "websocket":
            return await app(scope, receive, send)
        length = headers.get(b"content-length")
        if length is None and b"transfer-encoding" in headers:
            return await reply(send, 411, "HTTPError", "a request body needs a Content-Length")
        if length is not None and (not length.isdigit() or int(length) > max_body):
            return await reply(send, 413, "HTTPError", f"request body over {max_body} bytes")
        return await app(scope, receive, send)
    return gate


class Ref(BaseModel):
    model_config = {"extra": "forbid"}
    sandbox_id: str


class CommitReq(Ref):
    image: str


class ForkReq(Ref):
    n: int = Field(1, ge=1, le=64)  # per request (a bigger fan-out is several requests)
    snapshot_id: str | None = None  # default: a snapshot taken now


class SnapshotRef(Ref):
    snapshot_id: str


class ExecReq(Ref):
    command: str | list[str]
    timeout: float = Field(1200.0, gt=0, le=86400)
    cwd: str | None = None
    env: dict[str, str] | None = None
    max_output: int | None = Field(None, gt=0, le=64 << 20)
    encoding: str = Field("text", pattern="^(text|base64)$")


class SessionCreateReq(Ref):
    cwd: str | None = None
    env: dict[str, str] | None = None


class SessionRef(Ref):
    session_id: str


class SessionRunReq(SessionRef):
    command: str
    timeout: float = Field(1200.0, gt=0, le=86400)
    idle_timeout: float | None = Field(None, gt=0)
    background: bool = False


class TerminalReq(Ref):
    command: list[str] = ["bash"]
    cwd: str | None = None
    env: dict[str, str] | None = None
    rows: int = Field(24, ge=1, le=65535)
    cols: int = Field(80, ge=1, le=65535)


class ReadReq(Ref):
    path: str
    offset: int = Field(0, ge=0, le=1 << 62)
    length: int | None = Field(None, ge=0, le=1 << 62)
    start_line: int | None = Field(None, ge=1)
    end_line: int | None = Field(None, ge=1)


class WriteReq(Ref):
    path: str
    content: str | None = None
    content_b64: str | None = None
    mode: int = Field(0o644, ge=0, le=0o7777)


class PathReq(Ref):
    path: str = "/"


class EventsReq(Ref):
    since: int = Field(0, ge=0)


class ImageRef(BaseModel):
    name: str


def create_app(manager: SandboxManager | None = None, token: str | None = None, *, no_auth: bool = False,
               caps: Caps | None = None) -> FastAPI:
    """`token=None` generates one; an empty token is refused unless `no_auth` (serve() allows that on
    loopback only)."""
    manager = manager or SandboxManager()
    caps = caps or Caps()
    if no_auth:
        token = ""
    elif token is None:
        token = secrets.token_urlsafe(24)
    elif not token.strip():
        raise ValueError("an empty token would turn authentication off: give a token, or no_auth on loopback")

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await manager.start()
        yield
        await manager.close()

    app = FastAPI(title="ALE sandbox service", version="1", lifespan=lifespan)
    app.state.manager, app.state.token = manager, token

    async def auth(request: Request) -> None:  # the gate already checked it; kept so the schema shows auth
        return

    @app.exception_handler(SandboxError)
    async def _sandbox_error(_: Request, e: SandboxError):
        return JSONResponse({"error": type(e).__name__, "message": e.message}, status_code=e.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, e: RequestValidationError):
        errs = [{"loc": list(x["loc"]), "msg": x["msg"]} for x in e.errors()]
        return JSONResponse({"error": "InvalidRequest", "message": "; ".join(
            f"{'.'.join(map(str, x['loc']))}: {x['msg'].removeprefix('Value error, ')}" for x in errs),
            "details": errs}, status_code=422)

    @app.exception_handler(HTTPException)
    async def _http(_: Request, e: HTTPException):
        return JSONResponse({"error": "HTTPError", "message": e.detail}, status_code=e.status_code)

    @app.exception_handler(ValueError)
    async def _value(_: Request, e: ValueError):
        return JSONResponse({"error": "InvalidRequest", "message": str(e)}, status_code=422)

    @app.get("/health")
    async def health() -> dict:
        return {"ok": True, "node": manager.node, "sandboxes": len(await manager.list())}

    deps = [Depends(auth)]

    async def guarded(verb: str, kw: dict[str, Any]) -> Any:
        try:
            return await dispatch(manager, verb, kw)
        except (SandboxError, ValueError):
            raise
        except Exception as e:
            raise InternalError(f"{verb} failed: {type(e).__name__}: {str(e)[:500]}") from None

    async def call(verb: str, req: BaseModel | None = None, **extra: Any) -> Any:
        kw = req.model_dump() if req is not None else {}
        return await guarded(verb, {**kw, **extra})

    @app.post("/v1/sandbox/start", dependencies=deps, response_model=SandboxInfo)
    async def start(spec: SandboxSpec) -> Any:
        caps.check(spec)
        return await guarded("start", asdict(spec))

    @app.post("/v1/sandbox/list", dependencies=deps, response_model=list[SandboxInfo])
    async def list_() -> Any:
        return await call("list")

    def lifecycle_route(verb: str):
        # The verb is closed over, not a defaulted parameter: FastAPI exposed that as a query parameter
        # (`status?_verb=delete` deleted the sandbox).
        async def handler(req: Ref) -> Any:
            return await call(verb, req)
        app.post(f"/v1/sandbox/{verb}", dependencies=deps, response_model=SandboxInfo, name=verb)(handler)

    for verb in ("status", "stop", "reset"):
        lifecycle_route(verb)

    @app.post("/v1/sandbox/delete", dependencies=deps)
    async def delete(req: Ref) -> dict:
        await call("delete", req)
        return {"deleted": req.sandbox_id}

    @app.post("/v1/sandbox/commit", dependencies=deps)
    async def commit(req: CommitReq) -> dict:
        return await call("commit", req)

    @app.post("/v1/sandbox/snapshot", dependencies=deps)
    async def snapshot(req: Ref) -> dict:
        return {"snapshot_id": await call("snapshot", req)}

    @app.post("/v1/sandbox/fork", dependencies=deps, response_model=list[SandboxInfo])
    async def fork(req: ForkReq) -> Any:
        return await call("fork", req)

    @app.post("/v1/sandbox/snapshots", dependencies=deps)
    async def snapshots(req: Ref) -> list[str]:
        return await call("snapshots", req)

    @app.post("/v1/sandbox/delete_snapshot", dependencies=deps)
    async def delete_snapshot(req: SnapshotRef) -> dict:
        await call("delete_snapshot", req)
        return {"deleted": req.snapshot_id}

    async def unless_gone(request: Request, coro) -> Any:
        """Run a long call; cancel it (the command is killed) when the client disconnects."""
        task = asyncio.ensure_future(coro)
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=0.5)
                if done:
                    return task.result()
                if await request.is_disconnected():
                    task.cancel()
                    raise HTTPException(499, "client closed the request")
        finally:
            task.cancel()

    async def as_json(res: ExecResult | SessionResult) -> Response:
        # Already a result: serialised once, not re-validated through response_model. A big one is
        # streamed piece by piece (_json_pieces), yielding to the loop between pieces: serialising
        # 64 MiB at once held the event loop (every other sandbox's call) for seconds.
        if sum(len(v) for v in res.__dict__.values() if isinstance(v, str)) <= 1 << 20:
            return Response(json.dumps(asdict(res)), media_type="application/json")

        async def pieces():
            for piece in _json_pieces(res):
                yield piece
                await asyncio.sleep(0)
        return StreamingResponse(pieces(), media_type="application/json")

    @app.post("/v1/sandbox/execute", dependencies=deps, response_model=ExecResult)
    async def execute(req: ExecReq, request: Request) -> Response:
        return await as_json(await unless_gone(request, call("execute", req)))

    @app.post("/v1/sandbox/create_session", dependencies=deps)
    async def create_session(req: SessionCreateReq) -> dict:
        return {"session_id": await call("create_session", req)}

    @app.post("/v1/sandbox/run_in_session", dependencies=deps, response_model=SessionResult)
    async def run_in_session(req: SessionRunReq, request: Request) -> Response:
        return await as_json(await unless_gone(request, call("run_in_session", req)))

    @app.post("/v1/sandbox/interrupt_session", dependencies=deps)
    async def interrupt_session(req: SessionRef) -> dict:
        await call("interrupt_session", req)
        return {"ok": True}

    @app.post("/v1/sandbox/close_session", dependencies=deps)
    async def close_session(req: SessionRef) -> dict:
        await call("close_session", req)
        return {"ok": True}

    @app.websocket("/v1/sandbox/terminal")
    async def terminal(ws: WebSocket) -> None:
        """An interactive process on a pty (`ale sandbox shell ID`, like `docker exec -it`). The first text
        message is a TerminalReq; then binary messages carry the pty's bytes both ways, text messages
        JSON: {"resize": [rows, cols]} from the client; {"started": true}, then {"exit_code": N} or
        {"error", "message"} from the service. A client that goes away hangs the terminal up (Terminal.close)."""
        await ws.accept()
        try:
            req = TerminalReq.model_validate_json(await ws.receive_text())
            term = await manager.open_terminal(req.sandbox_id, req.command, cwd=req.cwd, env=req.env, rows=req.rows,
                                               cols=req.cols)
        except WebSocketDisconnect:
            return
        except ValidationError as e:
            await ws.send_text(json.dumps({"error": "InvalidRequest", "message": "; ".join(
                f"{'.'.join(map(str, x['loc']))}: {x['msg']}" for x in e.errors())}))
            await ws.close()
            return
        except SandboxError as e:
            await ws.send_text(json.dumps({"error": type(e).__name__, "message": e.message}))
            await ws.close()
            return
        except (KeyError, ValueError):  # binary, or not JSON
            await ws.send_text(json.dumps({"error": "InvalidRequest", "message": "the first message must be a "
                                                                                  "JSON TerminalReq (text)"}))
            await ws.close()
            return
        await ws.send_text(json.dumps({"started": True}))

        async def output() -> None:
            while data := await term.read():
                await ws.send_bytes(data)

        async def input_() -> None:
            while True:
                msg = await ws.receive()
                if msg["type"] == "websocket.disconnect":
                    return
                if msg.get("bytes"):
                    await term.write(msg["bytes"])
                elif msg.get("text"):
                    rows, cols = json.loads(msg["text"])["resize"]
                    await term.resize(int(rows), int(cols))

        out_task, in_task = asyncio.ensure_future(output()), asyncio.ensure_future(input_())
        try:
            await asyncio.wait({out_task, in_task}, return_when=asyncio.FIRST_COMPLETED)
            if out_task.done() and out_task.exception() is None:  # the process exited: its code, then close
                await ws.send_text(json.dumps({"exit_code": await term.wait()}))
                await ws.close()
        except (WebSocketDisconnect, RuntimeError):  # the client went away meanwhile
            pass
        finally:
            for task in (out_task, in_task):
                task.cancel()
            await term.close()

    @app.post("/v1/sandbox/read_file", dependencies=deps)
    async def read_file(req: ReadReq) -> dict:
        data: bytes = await call("read_file", req)
        try:
            text = data.decode()
        except UnicodeDecodeError:
            text = None
        return {"content": text, "content_b64": base64.b64encode(data).decode(), "size": len(data)}

    @app.post("/v1/sandbox/write_file", dependencies=deps)
    async def write_file(req: WriteReq) -> dict:
        if (req.content is None) == (req.content_b64 is None):
            raise SandboxError("give exactly one of content and content_b64")
        try:
            data = req.content.encode() if req.content is not None else base64.b64decode(req.content_b64,
                                                                                          validate=True)
        except ValueError:
            raise SandboxError("content_b64 is not valid base64") from None
        n = await guarded("write_file", {"sandbox_id": req.sandbox_id, "path": req.path, "data": data,
                                                   "mode": req.mode})
        return {"written": n}

    @app.post("/v1/sandbox/list_files", dependencies=deps, response_model=list[FileEntry])
    async def list_files(req: PathReq) -> Any:
        return await call("list_files", req)

    @app.post("/v1/sandbox/upload", dependencies=deps)
    async def upload(request: Request, sandbox_id: str, dest: str = "/") -> dict:
        """Body: a tar archive (unpacked under dest)."""
        data = await request.body()
        return {"entries": await guarded("upload", {"sandbox_id": sandbox_id, "dest": dest, "data": data})}

    @app.post("/v1/sandbox/download", dependencies=deps)
    async def download(req: PathReq) -> Response:
        data, is_tar = await call("download", req)
        return Response(data, media_type="application/x-tar" if is_tar else "application/octet-stream",
                        headers={"X-ALE-Kind": "tar" if is_tar else "file"})

    @app.post("/v1/sandbox/events", dependencies=deps)
    async def events(req: EventsReq) -> list[dict]:
        return await call("events", req)

    @app.post("/v1/images/list", dependencies=deps)
    async def images() -> list[dict]:
        return await call("images")

    @app.post("/v1/images/remove", dependencies=deps)
    async def remove_image(req: ImageRef) -> dict:
        await call("remove_image", req)
        return {"removed": req.name}

    app.add_middleware(lambda inner: _gate(inner, token, caps.max_body))
    return app


def _json_pieces(res: ExecResult | SessionResult, piece: int = 1 << 20):
    """The result as JSON in pieces: long strings are escaped 1 MiB at a time."""
    for i, (k, v) in enumerate(vars(res).items()):
        yield f'{"," if i else "{"}{json.dumps(k)}:'.encode()
        if isinstance(v, str) and len(v) > piece:
            yield b'"'
            for j in range(0, len(v), piece):
                yield json.dumps(v[j: j + piece])[1:-1].encode()
            yield b'"'
        else:
            yield json.dumps(asdict(v) if isinstance(v, GuardAction) else v).encode()
    yield b"}"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(host: str = "127.0.0.1", port: int = 8765, token: str | None = None, *, no_auth: bool = False,
          caps: Caps | None = None, **manager_kw) -> None:
    import uvicorn

    if no_auth and not is_loopback(host):
        raise SandboxError(f"--no-auth is only allowed on a loopback address, not {host}")
    app = create_app(SandboxManager(**manager_kw), token, no_auth=no_auth, caps=caps)
    shown = "none (--no-auth)" if no_auth else ("generated: " + app.state.token if token is None else "as given")
    print(f"ALE sandbox service on http://{host}:{port}  token: {shown}", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
