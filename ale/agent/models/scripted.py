"""ScriptedModel: replays a fixed list of OpenAI-format assistant messages (tests, oracle runs)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ale.agent.context import approx_tokens
from ale.agent.protocols import ModelError, ModelReply


class ScriptExhausted(ModelError):
    pass


def _check(i: int, m: Any) -> dict[str, Any]:
    if isinstance(m, str):
        m = {"content": m}
    if not isinstance(m, dict) or not ("content" in m or "tool_calls" in m):
        raise ValueError(f"scripted reply {i}: need an object with 'content' and/or 'tool_calls', got {m!r}")
    for tc in m.get("tool_calls") or []:
        fn = tc.get("function") if isinstance(tc, dict) else None
        if not isinstance(fn, dict) or "name" not in fn:
            raise ValueError(f"scripted reply {i}: each tool call needs function.name")
    msg = {"role": "assistant", "content": m.get("content")}
    if m.get("tool_calls"):
        msg["tool_calls"] = [{"id": tc.get("id") or f"call_{i}_{j}", "type": "function",
                              "function": {"name": tc["function"]["name"],
                                           "arguments": tc["function"].get("arguments", "{}")}}
                             for j, tc in enumerate(m["tool_calls"])]
    return msg


class ScriptedModel:
    """Token counts are estimates (4 chars a token); no token ids."""

    supports_native_tools = True

    def __init__(self, replies: list[Any], name: str = "scripted", context_window: int = 128_000):
        self.replies = [_check(i, m) for i, m in enumerate(replies, 1)]
        self.name, self.context_window = name, context_window
        self.calls = 0

    @classmethod
    def from_file(cls, path: str | Path, **kw: Any) -> "ScriptedModel":
        """JSON lines, one assistant message per line (blank lines ignored)."""
        replies = []
        for n, line in enumerate(Path(path).read_text().splitlines(), 1):
            if line.strip():
                try:
                    replies.append(json.loads(line))
                except json.JSONDecodeError as e:
                    raise ValueError(f"{path}:{n}: not JSON: {e.msg}") from e
        return cls(replies, name=f"scripted:{path}", **kw)

    def generate(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None) -> ModelReply:
        if self.calls >= len(self.replies):
            raise ScriptExhausted(f"scripted model has no reply left (it had {len(self.replies)})")
        msg = dict(self.replies[self.calls])
        self.calls += 1
        return ModelReply(message=msg, prompt_tokens=approx_tokens(messages) + (approx_tokens(tools) if tools else 0),
                          completion_tokens=approx_tokens(msg), finish_reason="stop")
