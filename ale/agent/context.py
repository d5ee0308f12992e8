"""Context management: observation truncation, loop detection, history compaction.

Compaction keeps what iFlow-style harnesses keep (system prompt, task, plan, recent turns) and replaces
the older turns by one summary message; the report gives no summary prompt, so ours is our own.
"""
from __future__ import annotations

import json
from typing import Any


def approx_tokens(obj: Any) -> int:
    """Rough token count (4 characters a token) for budgeting before a backend has reported real counts."""
    return len(obj if isinstance(obj, str) else json.dumps(obj)) // 4 + 1


def head_tail(text: str, max_chars: int, full_path: str | None) -> str:
    """Keep the first and last max_chars/2 characters; say how much was dropped and where the rest is."""
    half = max_chars // 2
    where = f"; the full output is in {full_path} (use read_file with a line range, or grep)" if full_path else ""
    note = f"\n[... {len(text) - 2 * half} characters omitted of {len(text)}{where} ...]\n"
    return text[:half] + note + text[-half:]


class LoopDetector:
    """Counts consecutive identical steps: a reminder at `remind_at`, the end of the episode at `end_at`."""

    def __init__(self, remind_at: int = 3, end_at: int = 5, key: str = "action+observation"):
        if key not in ("action", "action+observation"):
            raise ValueError(f"loop key must be 'action' or 'action+observation', got {key!r}")
        if not 1 < remind_at <= end_at:
            raise ValueError("need 1 < remind_at <= end_at")
        self.remind_at, self.end_at, self.key = remind_at, end_at, key
        self._last: str | None = None
        self.repeats = 0

    def observe(self, action: str, observation: str) -> str:
        """Returns "ok", "remind" or "stop"."""
        k = action if self.key == "action" else action + "\x00" + observation
        self.repeats = self.repeats + 1 if k == self._last else 1
        self._last = k
        if self.repeats >= self.end_at:
            return "stop"
        return "remind" if self.repeats == self.remind_at else "ok"


LOOP_REMINDER = ("[harness] You have repeated the same action {n} times with the same result. It is not making "
                 "progress: try something different, or call finish if the task is done.")

SUMMARY_SYSTEM = ("You write progress notes for a software agent whose earlier conversation must be dropped to "
                  "save space. Be concise and concrete.")
SUMMARY_REQUEST = ("Task:\n{task}\n\nEarlier steps (oldest first):\n{transcript}\n\nWrite the notes the agent "
                   "needs to continue: what was done, what was learned (files, commands, results, errors), and "
                   "what remains. Plain text, at most 300 words.")


def split_history(messages: list[dict[str, Any]], n_fixed: int, keep_recent_turns: int) -> int | None:
    """Index where the kept recent turns begin (each turn starts at an assistant message), or None when
    there is nothing older to compact."""
    starts = [i for i, m in enumerate(messages) if i >= n_fixed and m.get("role") == "assistant"]
    if len(starts) <= keep_recent_turns:
        return None
    cut = starts[-keep_recent_turns] if keep_recent_turns > 0 else len(messages)
    return cut if cut > n_fixed else None


def transcript(messages: list[dict[str, Any]], max_chars_each: int = 2000) -> str:
    out = []
    for m in messages:
        body = m.get("content") or ""
        for tc in m.get("tool_calls") or []:
            body += f"\n[call {tc['function']['name']} {tc['function'].get('arguments', '')}]"
        if len(body) > max_chars_each:
            body = head_tail(body, max_chars_each, None)
        out.append(f"--- {m['role']}:\n{body}")
    return "\n".join(out)


def actions_summary(messages: list[dict[str, Any]]) -> str:
    """Deterministic fallback summary: the actions taken and the first line of what they returned."""
    lines = []
    for m in messages:
        first = (m.get("content") or "").strip().splitlines()[:1]
        if m["role"] == "assistant":
            calls = [f"{tc['function']['name']}({tc['function'].get('arguments', '')})" for tc in m.get("tool_calls") or []]
            lines.append("- did: " + ("; ".join(calls) or (first[0][:200] if first else "(empty reply)")))
        elif first:
            lines.append("  got: " + first[0][:200])
    return "\n".join(lines)
