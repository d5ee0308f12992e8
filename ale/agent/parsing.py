"""Reading tool calls out of an assistant message, in the formats models actually emit.

Tried in order: native OpenAI `tool_calls`; Hermes/Qwen `<tool_call>{"name":..,"arguments":..}</tool_call>`
in the text (a missing closing tag at the very end is accepted: servers often stop on it); a single
fenced ```bash block (the mini-swe-agent convention; a block holding only `submit` finishes).
Anything else raises FormatError, whose message is shown to the model.
"""
from __future__ import annotations

import json
import re
from typing import Any

from ale.agent.protocols import ToolCall


class FormatError(ValueError):
    pass


_THINK = re.compile(r"<think>.*?(</think>|$)", re.S)
_HERMES = re.compile(r"<tool_call>(.*?)(?:</tool_call>|$)", re.S)
_BASH = re.compile(r"```(?:bash|sh|shell)[ \t]*\n(.*?)```", re.S)


def _arguments(raw: Any, where: str) -> dict[str, Any]:
    if raw is None or raw == "":
        return {}
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as e:
            raise FormatError(f"{where}: arguments are not valid JSON ({e.msg} at char {e.pos})") from e
    if not isinstance(raw, dict):
        raise FormatError(f"{where}: arguments must be a JSON object")
    return raw


def parse_tool_calls(message: dict[str, Any]) -> list[ToolCall]:
    native = message.get("tool_calls") or []
    if native:
        calls = []
        for i, tc in enumerate(native, 1):
            fn = tc.get("function") or {}
            if not fn.get("name"):
                raise FormatError(f"tool call {i} has no function name")
            calls.append(ToolCall(fn["name"], _arguments(fn.get("arguments"), f"tool call {i} ({fn['name']})"),
                                  id=tc.get("id"), raw=json.dumps(fn, sort_keys=True)))
        return calls

    text = _THINK.sub("", message.get("content") or "")
    if "<tool_call>" in text:
        calls = []
        for i, m in enumerate(_HERMES.finditer(text), 1):
            body = m.group(1).strip()
            try:
                obj = json.loads(body)
            except json.JSONDecodeError as e:
                raise FormatError(f"<tool_call> {i} is not valid JSON ({e.msg} at char {e.pos}); expected "
                                  '<tool_call>{"name": "TOOL", "arguments": {...}}</tool_call>') from e
            if not isinstance(obj, dict) or not isinstance(obj.get("name"), str):
                raise FormatError(f'<tool_call> {i} needs a JSON object with a "name" string')
            args = obj.get("arguments", obj.get("parameters"))
            calls.append(ToolCall(obj["name"], _arguments(args, f"<tool_call> {i} ({obj['name']})"), raw=body))
        return calls

    blocks = _BASH.findall(text)
    if len(blocks) > 1:
        raise FormatError(f"found {len(blocks)} ```bash blocks; give exactly one command block per reply")
    if len(blocks) == 1:
        cmd = blocks[0].strip()
        if not cmd:
            raise FormatError("the ```bash block is empty")
        if cmd in ("submit", "finish"):
            return [ToolCall("finish", {}, raw=cmd)]
        return [ToolCall("bash", {"command": cmd}, raw=cmd)]
    raise FormatError("no tool call found. Call a tool: <tool_call>{\"name\": \"TOOL\", \"arguments\": {...}}"
                      "</tool_call> (or one ```bash block); call finish when the task is done.")


def text_tool_instructions(tool_schemas: list[dict[str, Any]]) -> str:
    """System-prompt text describing the tools, for models without native function calling (Hermes style)."""
    lines = "\n".join(json.dumps(t["function"], separators=(",", ":")) for t in tool_schemas)
    return ("# Tools\n\nYou can call these functions. Their signatures are inside <tools></tools>:\n<tools>\n"
            f"{lines}\n</tools>\n\nTo call one, reply with a JSON object inside tags:\n"
            '<tool_call>\n{"name": "bash", "arguments": {"command": "ls"}}\n</tool_call>\n'
            "Call finish when the task is done.")
