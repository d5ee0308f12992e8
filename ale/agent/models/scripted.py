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
        self._tools_tokens: int | None = None
        self._seen: tuple[Any, int, int] = (None, 0, 0)  # (list object, messages counted, characters)

    @staticmethod
    def _chars(m: dict[str, Any]) -> int:
        n = len(m.get("content") or "") + 10
        return n + sum(len(tc["function"].get("arguments") or "") + 40 for tc in m.get("tool_calls") or ())

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
        if tools and self._tools_tokens is None:
            self._tools_tokens = approx_tokens(tools)
        # The harness re-sends one growing list every turn: count only what was appended since the last call.
        start = self._seen[1] if messages is self._seen[0] and len(messages) >= self._seen[1] else 0
        chars = (self._seen[2] if start else 0) + sum(self._chars(m) for m in messages[start:])
        self._seen = (messages, len(messages), chars)
        return ModelReply(message=msg, prompt_tokens=chars // 4 + (self._tools_tokens or 0 if tools else 0),
                          completion_tokens=approx_tokens(msg), finish_reason="stop")
