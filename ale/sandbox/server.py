"""The HTTP service: `ale sandbox serve` (FastAPI + uvicorn), JSON routes in ROCK's shape under /v1.

Every route is POST /v1/sandbox/<verb> with a JSON body naming the sandbox (as ROCK does), guarded by
a bearer token. Errors are JSON {"error", "message"}: unknown sandbox 404, invalid request 422,
wrong state 409, over capacity 429, overloaded 503. The OpenAPI document is at /openapi.json.
"""

from __future__ import annotations

import base64
import hmac
import secrets
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from .client import dispatch
from .manager import SandboxManager
from .spec import ExecResult, FileEntry, SandboxError, SandboxInfo, SandboxSpec, SessionResult


class Ref(BaseModel):
    model_config = {"extra": "forbid"}
    sandbox_id: str


class CommitReq(Ref):
    image: str


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


class ReadReq(Ref):
    path: str
    offset: int = Field(0, ge=0)
    length: int | None = Field(None, ge=0)
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


def create_app(manager: SandboxManager | None = None, token: str | None = None) -> FastAPI:
    manager = manager or SandboxManager()
    token = token if token is not None else secrets.token_urlsafe(24)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await manager.start()
        yield
        await manager.close()

    app = FastAPI(title="ALE sandbox service", version="1", lifespan=lifespan)
    app.state.manager, app.state.token = manager, token

    async def auth(request: Request) -> None:  # async: a sync dependency would hop to a thread per request
        if not token:
            return
        got = request.headers.get("authorization", "")
        if not hmac.compare_digest(got.encode(), f"Bearer {token}".encode()):
            raise HTTPException(401, "missing or wrong bearer token")

    @app.exception_handler(SandboxError)
    async def _sandbox_error(_: Request, e: SandboxError):
        return JSONResponse({"error": type(e).__name__, "message": e.message}, status_code=e.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, e: RequestValidationError):
        errs = [{"loc": list(x["loc"]), "msg": x["msg"]} for x in e.errors()]
        return JSONResponse({"error": "InvalidRequest", "message": "; ".join(
            f"{'.'.join(map(str, x['loc']))}: {x['msg']}" for x in errs), "details": errs}, status_code=422)

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

    async def call(verb: str, req: BaseModel | None = None, **extra: Any) -> Any:
        kw = req.model_dump() if req is not None else {}
        return await dispatch(manager, verb, {**kw, **extra})

    @app.post("/v1/sandbox/start", dependencies=deps, response_model=SandboxInfo)
    async def start(spec: SandboxSpec) -> Any:
        return await manager.create(spec)

    @app.post("/v1/sandbox/list", dependencies=deps, response_model=list[SandboxInfo])
    async def list_() -> Any:
        return await call("list")

    for verb in ("status", "stop", "reset"):
        async def handler(req: Ref, _verb: str = verb) -> Any:
            return await call(_verb, req)
        app.post(f"/v1/sandbox/{verb}", dependencies=deps, response_model=SandboxInfo, name=verb)(handler)

    @app.post("/v1/sandbox/delete", dependencies=deps)
    async def delete(req: Ref) -> dict:
        await call("delete", req)
        return {"deleted": req.sandbox_id}

    @app.post("/v1/sandbox/commit", dependencies=deps)
    async def commit(req: CommitReq) -> dict:
        return await call("commit", req)

    @app.post("/v1/sandbox/execute", dependencies=deps, response_model=ExecResult)
    async def execute(req: ExecReq) -> Response:
        # Already a validated model: serialise it once instead of re-validating through response_model.
        return Response((await call("execute", req)).model_dump_json(), media_type="application/json")

    @app.post("/v1/sandbox/create_session", dependencies=deps)
    async def create_session(req: SessionCreateReq) -> dict:
        return {"session_id": await call("create_session", req)}

    @app.post("/v1/sandbox/run_in_session", dependencies=deps, response_model=SessionResult)
    async def run_in_session(req: SessionRunReq) -> Response:
        return Response((await call("run_in_session", req)).model_dump_json(), media_type="application/json")

    @app.post("/v1/sandbox/interrupt_session", dependencies=deps)
    async def interrupt_session(req: SessionRef) -> dict:
        await call("interrupt_session", req)
        return {"ok": True}

    @app.post("/v1/sandbox/close_session", dependencies=deps)
    async def close_session(req: SessionRef) -> dict:
        await call("close_session", req)
        return {"ok": True}

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
        n = await dispatch(manager, "write_file", {"sandbox_id": req.sandbox_id, "path": req.path, "data": data,
                                                   "mode": req.mode})
        return {"written": n}

    @app.post("/v1/sandbox/list_files", dependencies=deps, response_model=list[FileEntry])
    async def list_files(req: PathReq) -> Any:
        return await call("list_files", req)

    @app.post("/v1/sandbox/upload", dependencies=deps)
    async def upload(request: Request, sandbox_id: str, dest: str = "/") -> dict:
        """Body: a tar archive (unpacked under dest)."""
        data = await request.body()
        return {"entries": await dispatch(manager, "upload", {"sandbox_id": sandbox_id, "dest": dest, "data": data})}

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

    return app


def serve(host: str = "127.0.0.1", port: int = 8765, token: str | None = None, **manager_kw) -> None:
    import uvicorn

    app = create_app(SandboxManager(**manager_kw), token)
    print(f"ALE sandbox service on http://{host}:{port}  token: {app.state.token}", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
