"""Model proxy (the report's agent-native mode): an OpenAI-compatible chat endpoint in front of a policy.

An external harness (inside a sandbox or beside it) uses `http://127.0.0.1:PORT/e/EPISODE/v1` (or plain
`/v1` for the episode "default") as its OpenAI base URL. Each request is answered by a policy (any Model;
a trainer plugs in through QueuePolicy) and recorded as a Trajectory with token ids.

Kept: chat.completions with `tools`/`tool_calls` (native replies pass through; Hermes `<tool_call>` text
from open models is turned into `tool_calls` when the request has tools), usage counts.
Dropped: streaming, n > 1, and the request's sampling parameters (the policy owns sampling: that is what
is trained). Token-exactness: clients send the assistant text back without the sampled ids, so the proxy
re-attaches the ids it sampled to every assistant message it recognises (same content and tool calls);
an edited message gets no ids, and its turn starts a `prefix_mismatch` training sequence.
"""
from __future__ import annotations

import json
import queue
import re
import socket
import threading
import time
import uuid
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ale.agent.parsing import FormatError, parse_tool_calls, text_tool_instructions
from ale.agent.protocols import TOKEN_IDS_KEY, Model, ModelError, ModelReply
from ale.agent.trajectory import ModelTurn, Trajectory

_TOOL_CALL_TEXT = re.compile(r"<tool_call>.*?(?:</tool_call>|$)", re.S)


# --- the trainer's side: a policy answered from a queue -------------------------------------------

@dataclass
class PolicyRequest:
    """One generation the trainer must answer: call `reply(ModelReply)` or `fail(error)` exactly once."""

    episode: str
    messages: list[dict[str, Any]]  # assistant messages carry their sampled ids under TOKEN_IDS_KEY
    tools: list[dict[str, Any]] | None
    future: Future = field(default_factory=Future, repr=False)

    def reply(self, reply: ModelReply) -> None:
        self.future.set_result(reply)

    def fail(self, error: Exception) -> None:
        self.future.set_exception(error)


class QueuePolicy:
    """A Model whose generate() puts a PolicyRequest on `requests` and waits for the trainer's answer.

    The trainer loops `req = policy.requests.get()`, batches as it likes, and answers each with
    `req.reply(ModelReply(...))` (prompt_ids/response_ids/logprobs set, so the proxy records tokens).
    """

    def __init__(self, name: str = "queue", context_window: int = 32_768, supports_native_tools: bool = True,
                 timeout_s: float = 600.0):
        self.name, self.context_window, self.supports_native_tools = name, context_window, supports_native_tools
        self.timeout_s = timeout_s
        self.requests: queue.Queue[PolicyRequest] = queue.Queue()

    def generate(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None,
                 episode: str = "default") -> ModelReply:
        req = PolicyRequest(episode, messages, tools)
        self.requests.put(req)
        try:
            return req.future.result(timeout=self.timeout_s)
        except TimeoutError as e:
            raise ModelError(f"no answer from the trainer within {self.timeout_s:g}s") from e


# --- the proxy ------------------------------------------------------------------------------------

def _key(message: dict[str, Any]) -> str:
    """Identity of an assistant message as a client echoes it back (arguments compared as JSON)."""
    calls = []
    for tc in message.get("tool_calls") or []:
        fn = tc.get("function") or {}
        args = fn.get("arguments")
        try:
            args = json.loads(args) if isinstance(args, str) else args
        except json.JSONDecodeError:
            pass
        calls.append([fn.get("name"), args])
    return json.dumps([message.get("content") or "", calls], sort_keys=True)


class _Episode:
    def __init__(self, name: str, model: str):
        self.traj = Trajectory(task="", model=model, started_at=time.time())
        self.name = name
        self.lock = threading.Lock()
        self.sampled: dict[str, list[int]] = {}  # _key(reply) -> its sampled ids
        self.pending: dict[str, dict[str, Any]] = {}  # tool_call id -> step waiting for its observation
        self.last_reply: dict[str, Any] | None = None


class ModelProxy:
    """Serves `policy` as an OpenAI chat endpoint and records one Trajectory per episode.

    `app` is the FastAPI application; `serve()` runs it on 127.0.0.1 in a thread. `end_episode` closes an
    episode (reward, end reason) and returns its trajectory (also saved to `out_dir/EPISODE.json`).
    """

    def __init__(self, policy: Model, out_dir: str | Path | None = None, max_concurrency: int = 1024):
        """max_concurrency: requests served at once (each waits in a thread; a trainer batches across them)."""
        self.policy = policy
        self.max_concurrency = max_concurrency
        self.out_dir = Path(out_dir) if out_dir else None
        self.episodes: dict[str, _Episode] = {}
        self._lock = threading.Lock()
        self._turn_lock = threading.Lock()  # local models are not thread-safe; QueuePolicy needs no lock
        self.app = self._make_app()

    # --- recording --------------------------------------------------------------------------------

    def _episode(self, name: str) -> _Episode:
        with self._lock:
            if name not in self.episodes:
                self.episodes[name] = _Episode(name, getattr(self.policy, "name", ""))
            return self.episodes[name]

    def _prepare(self, ep: _Episode, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None
                 ) -> list[dict[str, Any]]:
        """Validate, re-attach sampled ids, fill pending observations, add text tool instructions."""
        out = []
        for i, m in enumerate(messages):
            if not isinstance(m, dict) or m.get("role") not in ("system", "user", "assistant", "tool", "developer"):
                raise ValueError(f"messages[{i}]: need an object with role system|user|assistant|tool")
            m = {k: v for k, v in m.items() if not k.startswith("_")}  # clients cannot inject ids
            if isinstance(m.get("content"), list):  # content parts: keep the text ones
                m["content"] = "".join(p.get("text", "") for p in m["content"] if isinstance(p, dict))
            if m["role"] == "developer":
                m["role"] = "system"
            if m["role"] == "assistant" and _key(m) in ep.sampled:
                m[TOKEN_IDS_KEY] = ep.sampled[_key(m)]
            if m["role"] == "tool" and m.get("tool_call_id") in ep.pending:
                ep.pending.pop(m["tool_call_id"])["observation"] = m.get("content") or ""
            out.append(m)
        if not ep.traj.task:
            ep.traj.task = next((m.get("content") or "" for m in out if m["role"] == "user"), "")
        if tools and not getattr(self.policy, "supports_native_tools", False):
            instructions = text_tool_instructions(tools)
            if out and out[0]["role"] == "system":
                out[0] = {**out[0], "content": f"{out[0].get('content') or ''}\n\n{instructions}"}
            else:
                out.insert(0, {"role": "system", "content": instructions})
        return out

    def _reply_message(self, reply: ModelReply, turn: int, tools: list[dict[str, Any]] | None) -> dict[str, Any]:
        msg = {"role": "assistant", "content": reply.message.get("content")}
        if reply.message.get("tool_calls"):
            msg["tool_calls"] = reply.message["tool_calls"]
        elif tools and "<tool_call>" in (msg["content"] or ""):
            try:
                calls = parse_tool_calls({"content": msg["content"]})
            except FormatError:
                calls = []  # malformed: the client sees the text, as it would from any server
            if calls:
                msg["content"] = _TOOL_CALL_TEXT.sub("", msg["content"]).strip() or None
                msg["tool_calls"] = [{"id": f"call_{turn}_{j}", "type": "function",
                                      "function": {"name": c.name, "arguments": json.dumps(c.arguments)}}
                                     for j, c in enumerate(calls)]
        return msg

    def complete(self, episode: str, body: dict[str, Any]) -> dict[str, Any]:
        """Answer one chat.completions request body (the HTTP layer's work, callable directly)."""
        if body.get("stream"):
            raise ValueError("streaming is not supported by the proxy; send stream=false")
        if (body.get("n") or 1) != 1:
            raise ValueError("n > 1 is not supported by the proxy")
        messages, tools = body.get("messages"), body.get("tools") or None
        if not isinstance(messages, list) or not messages:
            raise ValueError("`messages` must be a non-empty list")
        ep = self._episode(episode)
        with ep.lock:  # one turn at a time per episode: turns must be recorded in order
            prompt = self._prepare(ep, messages, tools)
            t0 = time.time()
            if isinstance(self.policy, QueuePolicy):  # the trainer batches concurrent episodes itself
                reply = self.policy.generate(prompt, tools, episode=episode)
            else:
                with self._turn_lock:
                    reply = self.policy.generate(prompt, tools)
            turn = len(ep.traj.turns)
            msg = self._reply_message(reply, turn, tools)
            ep.traj.turns.append(ModelTurn(
                index=turn, prompt_ids=reply.prompt_ids, response_ids=reply.response_ids, logprobs=reply.logprobs,
                prompt_tokens=reply.prompt_tokens, completion_tokens=reply.completion_tokens, started_at=t0,
                duration_s=time.time() - t0, finish_reason=reply.finish_reason))
            if reply.response_ids is not None:
                ep.sampled[_key(msg)] = list(reply.response_ids)
            ep.traj.messages = [{k: v for k, v in m.items() if not k.startswith("_")} for m in prompt] + [msg]
            for tc in msg.get("tool_calls") or []:
                fn = tc.get("function") or {}
                try:
                    args = json.loads(fn.get("arguments") or "{}")
                except json.JSONDecodeError:
                    args = {"_raw": fn.get("arguments")}
                step = {"index": len(ep.traj.steps), "turn": turn,
                        "action": {"tool": fn.get("name"), "arguments": args, "id": tc.get("id")},
                        "action_text": msg.get("content") or "", "observation": None}
                ep.traj.steps.append(step)
                if tc.get("id"):
                    ep.pending[tc["id"]] = step
            ep.last_reply = msg
        finish = "tool_calls" if msg.get("tool_calls") else (reply.finish_reason or "stop")
        return {"id": f"chatcmpl-{uuid.uuid4().hex[:16]}", "object": "chat.completion", "created": int(t0),
                "model": body.get("model") or getattr(self.policy, "name", ""),
                "choices": [{"index": 0, "message": msg, "finish_reason": finish, "logprobs": None}],
                "usage": {"prompt_tokens": reply.prompt_tokens, "completion_tokens": reply.completion_tokens,
                          "total_tokens": reply.prompt_tokens + reply.completion_tokens}}

    def end_episode(self, episode: str = "default", reward: float | None = None, end_reason: str | None = None,
                    detail: str = "") -> Trajectory:
        """Close an episode. Without an end_reason: `finished` when the last reply had no tool calls (the
        harness got its final answer), else `error` (the client stopped in the middle of its tool loop)."""
        with self._lock:
            ep = self.episodes.pop(episode, None)
        if ep is None:
            raise KeyError(f"no episode {episode!r}")
        with ep.lock:
            t = ep.traj
            if end_reason is None:
                done = ep.last_reply is not None and not ep.last_reply.get("tool_calls")
                end_reason = "finished" if done else "error"
                detail = detail or ("the client got a final answer" if done else "the client stopped mid tool loop")
            t.end_reason, t.end_detail, t.reward = end_reason, detail, reward
            t.ended_at = time.time()
            t.wall_s = t.ended_at - t.started_at
            t.config = {"proxy": True, "episode": episode}
            t.finalize_tokens()
            if self.out_dir:
                self.out_dir.mkdir(parents=True, exist_ok=True)
                t.save(self.out_dir / f"{re.sub(r'[^A-Za-z0-9._-]', '_', episode)}.json")
            return t

    def end_all(self) -> list[Trajectory]:
        return [self.end_episode(name) for name in list(self.episodes)]

    # --- HTTP ---------------------------------------------------------------------------------------

    def _make_app(self):
        import anyio
        from fastapi import Body, FastAPI
        from fastapi.responses import JSONResponse

        app = FastAPI(title="ALE model proxy")
        limiter: list[anyio.CapacityLimiter] = []  # made on first use: it must belong to the server's event loop

        async def chat(episode: str, body: dict[str, Any]) -> Any:
            # not a plain `def` endpoint: those share a 40-thread pool, too few for a trainer's batch of episodes
            if not limiter:
                limiter.append(anyio.CapacityLimiter(self.max_concurrency))
            try:
                return await anyio.to_thread.run_sync(self.complete, episode, body, limiter=limiter[0])
            except ValueError as e:
                return JSONResponse({"error": {"message": str(e), "type": "invalid_request_error"}}, status_code=400)
            except ModelError as e:
                return JSONResponse({"error": {"message": str(e), "type": "policy_error"}}, status_code=500)

        @app.post("/v1/chat/completions")
        async def chat_default(body: dict[str, Any] = Body(...)) -> Any:
            return await chat("default", body)

        @app.post("/e/{episode}/v1/chat/completions")
        async def chat_episode(episode: str, body: dict[str, Any] = Body(...)) -> Any:
            return await chat(episode, body)

        @app.get("/v1/models")
        @app.get("/e/{episode}/v1/models")
        def models(episode: str = "default") -> dict[str, Any]:
            return {"object": "list", "data": [{"id": getattr(self.policy, "name", "policy"), "object": "model"}]}

        @app.post("/e/{episode}/end")
        def end(episode: str, body: dict[str, Any] = Body(default={})) -> Any:
            try:
                t = self.end_episode(episode, body.get("reward"), body.get("end_reason"), body.get("detail", ""))
            except KeyError as e:
                return JSONResponse({"error": {"message": str(e)}}, status_code=404)
            return {"episode": episode, "end_reason": t.end_reason, "turns": len(t.turns),
                    "sequences": [s.reason for s in t.sequences]}

        return app

    def serve(self, port: int = 0, log_level: str = "warning") -> "ProxyServer":
        """Start serving on 127.0.0.1:port (0: any free port) in a background thread."""
        return ProxyServer(self, port, log_level)


class ProxyServer:
    """A running proxy: `url` (base URL for OpenAI clients, episode "default"), `episode_url(name)`, `stop()`."""

    def __init__(self, proxy: ModelProxy, port: int, log_level: str):
        import uvicorn

        self.proxy = proxy
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", port))  # loopback only: the proxy has no authentication
        self.port = self._sock.getsockname()[1]
        self._server = uvicorn.Server(uvicorn.Config(proxy.app, log_level=log_level, access_log=False))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True)
        self._thread.start()
        deadline = time.time() + 10
        while not self._server.started:
            if time.time() > deadline or not self._thread.is_alive():
                raise RuntimeError("the model proxy did not start")
            time.sleep(0.01)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def episode_url(self, episode: str) -> str:
        return f"http://127.0.0.1:{self.port}/e/{episode}/v1"

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)
        self._sock.close()

    def __enter__(self) -> "ProxyServer":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()
