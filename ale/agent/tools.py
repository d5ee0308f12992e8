"""The agent's tools: JSON-schema'd functions acting on an Environment.

Every failure (bad arguments, missing file, non-unique edit, ...) comes back as an error
Observation for the model to read; only bugs in the harness itself raise.
"""
from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from typing import Any, Callable

from ale.agent.protocols import Environment, Observation, ToolCall


class ToolError(Exception):
    """A tool could not do what was asked; the message is shown to the model."""


@dataclass
class ToolContext:
    env: Environment
    command_timeout: float = 120.0
    idle_timeout: float | None = 60.0
    todo: list[dict[str, str]] = field(default_factory=list)  # the agent's plan, kept across compaction


@dataclass
class Tool:
    name: str
    description: str
    parameters: dict[str, Any]  # JSON schema of the arguments object
    fn: Callable[[ToolContext, dict[str, Any]], Observation]

    def schema(self) -> dict[str, Any]:
        """OpenAI `tools` entry."""
        return {"type": "function", "function": {"name": self.name, "description": self.description,
                                                 "parameters": self.parameters}}


def _obj(props: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": required}


_JSON_TYPES = {"string": str, "integer": int, "boolean": bool, "array": list, "object": dict, "number": (int, float)}


def validate_arguments(tool: Tool, args: Any) -> None:
    """Check required keys and top-level types against the tool's schema (a subset of JSON schema)."""
    if not isinstance(args, dict):
        raise ToolError(f"arguments of {tool.name} must be a JSON object, got {type(args).__name__}")
    props = tool.parameters.get("properties", {})
    missing = [k for k in tool.parameters.get("required", []) if k not in args]
    if missing:
        raise ToolError(f"{tool.name}: missing required argument(s): {', '.join(missing)}")
    unknown = [k for k in args if k not in props]
    if unknown:
        raise ToolError(f"{tool.name}: unknown argument(s): {', '.join(unknown)}; expected: {', '.join(props)}")
    for k, v in args.items():
        want = _JSON_TYPES.get(props[k].get("type", ""))
        if want is not None and v is not None and (not isinstance(v, want) or (want is int and isinstance(v, bool))):
            raise ToolError(f"{tool.name}: argument {k!r} must be of type {props[k]['type']}, got {type(v).__name__}")


def _read(ctx: ToolContext, path: str) -> str:
    try:
        return ctx.env.read_file(path)
    except Exception as e:  # the environment's own error says why (missing, directory, permission)
        raise ToolError(f"cannot read {path}: {e}") from e


def _write(ctx: ToolContext, path: str, content: str) -> None:
    try:
        ctx.env.write_file(path, content)
    except Exception as e:
        raise ToolError(f"cannot write {path}: {e}") from e


# --- tools -------------------------------------------------------------------------------------

_STATUS_NOTES = {
    "timeout": "the command hit its time limit of {t:g}s and was stopped",
    "idle_timeout": "the command printed nothing for too long and was stopped",
    "waiting_for_input": "the command was waiting for input on stdin and was stopped; run it non-interactively",
    "incomplete_input": "the command was incomplete (unclosed quote or heredoc) and was cancelled",
    "interrupted": "the command was interrupted",
    "closed": "the shell exited; the next command starts a new shell in the working directory",
}


def bash(ctx: ToolContext, a: dict[str, Any]) -> Observation:
    timeout = min(float(a.get("timeout") or ctx.command_timeout), ctx.command_timeout)
    r = ctx.env.run(a["command"], timeout=timeout, idle_timeout=ctx.idle_timeout)
    lines = [r.output[:-1] if r.output.endswith("\n") else r.output] if r.output else []
    if r.status != "completed":
        lines.append(f"[{_STATUS_NOTES.get(r.status, r.status).format(t=timeout)}]")
    if r.guard:
        lines.append(f"[sandbox guard: {json.dumps(r.guard, sort_keys=True)}]")
    if r.exit_code is not None:
        lines.append(f"[exit code: {r.exit_code}]")
    text = "\n".join(lines)
    extra = {"status": r.status, "command_s": r.duration_s}
    if r.output_path:
        extra["output_path"] = r.output_path
    return Observation(text=text, error=r.status != "completed" or (r.exit_code or 0) != 0,
                       guard=r.guard, exit_code=r.exit_code, extra=extra)


def read_file(ctx: ToolContext, a: dict[str, Any]) -> Observation:
    lines = _read(ctx, a["path"]).splitlines()
    start = a.get("start_line") or 1
    end = a.get("end_line") or len(lines)
    if lines and start > len(lines):
        raise ToolError(f"{a['path']} has only {len(lines)} lines")
    if start < 1 or end < start:
        raise ToolError(f"bad line range {start}-{end} (lines are 1-based, end >= start)")
    body = "\n".join(f"{i:6d}\t{line}" for i, line in enumerate(lines[start - 1:end], start))
    return Observation(text=body if lines else f"({a['path']} is empty)")


def write_file(ctx: ToolContext, a: dict[str, Any]) -> Observation:
    _write(ctx, a["path"], a["content"])
    return Observation(text=f"wrote {len(a['content'])} characters to {a['path']}")


def _replace(text: str, path: str, old: str, new: str, replace_all: bool) -> str:
    if old == "":
        raise ToolError("old_string is empty; use write_file to create a file")
    if old == new:
        raise ToolError("old_string and new_string are identical; nothing to change")
    n = text.count(old)
    if n == 0:
        raise ToolError(f"old_string not found in {path} (it must match exactly, whitespace included)")
    if n > 1 and not replace_all:
        raise ToolError(f"old_string occurs {n} times in {path}; add surrounding lines to make it unique, "
                        "or set replace_all")
    return text.replace(old, new)


def edit(ctx: ToolContext, a: dict[str, Any]) -> Observation:
    text = _read(ctx, a["path"])
    n = text.count(a["old_string"]) if a.get("replace_all") else 1
    _write(ctx, a["path"], _replace(text, a["path"], a["old_string"], a["new_string"], bool(a.get("replace_all"))))
    return Observation(text=f"edited {a['path']} ({n} replacement{'s' if n != 1 else ''})")


def multi_edit(ctx: ToolContext, a: dict[str, Any]) -> Observation:
    text = _read(ctx, a["path"])
    if not a["edits"]:
        raise ToolError("edits is empty")
    for i, e in enumerate(a["edits"], 1):  # all or nothing: the file is written only if every edit applies
        if not isinstance(e, dict) or "old_string" not in e or "new_string" not in e:
            raise ToolError(f"edit {i} must be an object with old_string and new_string")
        try:
            text = _replace(text, a["path"], e["old_string"], e["new_string"], bool(e.get("replace_all")))
        except ToolError as err:
            raise ToolError(f"edit {i} of {len(a['edits'])}: {err}; no edits were applied") from err
    _write(ctx, a["path"], text)
    return Observation(text=f"applied {len(a['edits'])} edits to {a['path']}")


def _in_workdir(ctx: ToolContext, cmd: str) -> str:
    """Run in a subshell at the workdir: relative paths mean what they mean for read_file/write_file,
    whatever directory the agent's shell is in, and the shell's cwd is left alone."""
    return f"(cd {shlex.quote(ctx.env.workdir)} && {cmd})"


_GLOB_PY = ("import glob,os,sys; os.chdir(sys.argv[1]); "
            "r=sorted(p for p in glob.glob(sys.argv[2], recursive=True) if '/.git/' not in '/'+p+'/'); "
            "print('\\n'.join(r[:200])); print(f'[{len(r)-200} more]') if len(r)>200 else None")


def glob_tool(ctx: ToolContext, a: dict[str, Any]) -> Observation:
    cmd = f"python3 -c {shlex.quote(_GLOB_PY)} {shlex.quote(a.get('path') or '.')} {shlex.quote(a['pattern'])}"
    r = ctx.env.run(_in_workdir(ctx, cmd), timeout=ctx.command_timeout)
    if r.exit_code != 0:
        raise ToolError(f"glob failed: {r.output.strip()}")
    return Observation(text=r.output.strip() or "no files match")


def grep(ctx: ToolContext, a: dict[str, Any]) -> Observation:
    flags = "-rnE --exclude-dir=.git" + (" -i" if a.get("ignore_case") else "")
    if a.get("include"):
        flags += f" --include={shlex.quote(a['include'])}"
    cmd = f"grep {flags} -e {shlex.quote(a['pattern'])} -- {shlex.quote(a.get('path') or '.')} | head -n 200"
    r = ctx.env.run(_in_workdir(ctx, f"set -o pipefail; {cmd}"), timeout=ctx.command_timeout)
    if r.exit_code == 1 and not r.output.strip():
        return Observation(text="no matches")
    if r.exit_code not in (0, 141):  # 141: head closed the pipe early
        raise ToolError(f"grep failed: {r.output.strip()}")
    return Observation(text=r.output.rstrip())


_TODO_STATES = ("pending", "in_progress", "completed")


def render_todo(items: list[dict[str, str]]) -> str:
    marks = {"pending": "[ ]", "in_progress": "[~]", "completed": "[x]"}
    return "\n".join(f"{marks[t['status']]} {t['content']}" for t in items) or "(empty plan)"


def todo(ctx: ToolContext, a: dict[str, Any]) -> Observation:
    items = []
    for i, t in enumerate(a["items"], 1):
        if not isinstance(t, dict) or not isinstance(t.get("content"), str):
            raise ToolError(f"todo item {i} must be an object with a string 'content'")
        status = t.get("status", "pending")
        if status not in _TODO_STATES:
            raise ToolError(f"todo item {i}: status must be one of {', '.join(_TODO_STATES)}, got {status!r}")
        items.append({"content": t["content"], "status": status})
    ctx.todo[:] = items
    return Observation(text="plan updated:\n" + render_todo(items))


def finish(ctx: ToolContext, a: dict[str, Any]) -> Observation:
    return Observation(text=a.get("summary") or "finished", finished=True)


_PATH = {"type": "string", "description": "file path, absolute or relative to the working directory"}
_EDIT = {"old_string": {"type": "string", "description": "exact text to replace (must be unique unless replace_all)"},
         "new_string": {"type": "string", "description": "replacement text"},
         "replace_all": {"type": "boolean", "description": "replace every occurrence"}}

TOOLS: dict[str, Tool] = {t.name: t for t in [
    Tool("bash", "Run a bash command in a persistent shell (cwd and environment persist). Non-interactive: "
         "no stdin.", _obj({"command": {"type": "string"},
                            "timeout": {"type": "integer", "description": "seconds (capped by the harness)"}},
                           ["command"]), bash),
    Tool("read_file", "Read a text file, optionally a 1-based inclusive line range; lines come numbered.",
         _obj({"path": _PATH, "start_line": {"type": "integer"}, "end_line": {"type": "integer"}}, ["path"]),
         read_file),
    Tool("write_file", "Create or overwrite a file (parent directories are created).",
         _obj({"path": _PATH, "content": {"type": "string"}}, ["path", "content"]), write_file),
    Tool("edit", "Replace an exact string in a file. old_string must occur exactly once unless replace_all.",
         _obj({"path": _PATH, **_EDIT}, ["path", "old_string", "new_string"]), edit),
    Tool("multi_edit", "Apply several exact-string edits to one file in order; all or nothing.",
         _obj({"path": _PATH, "edits": {"type": "array", "items": _obj(_EDIT, ["old_string", "new_string"])}},
              ["path", "edits"]), multi_edit),
    Tool("glob", "List files matching a glob pattern (** recurses), relative to path (default: working dir).",
         _obj({"pattern": {"type": "string"}, "path": {"type": "string"}}, ["pattern"]), glob_tool),
    Tool("grep", "Search file contents with an extended regular expression; prints file:line:text.",
         _obj({"pattern": {"type": "string"}, "path": {"type": "string"},
               "include": {"type": "string", "description": "only files whose name matches this glob"},
               "ignore_case": {"type": "boolean"}}, ["pattern"]), grep),
    Tool("todo", "Replace your plan: a list of items, each {content, status: pending|in_progress|completed}.",
         _obj({"items": {"type": "array", "items": _obj({"content": {"type": "string"},
                                                          "status": {"type": "string", "enum": list(_TODO_STATES)}},
                                                         ["content"])}}, ["items"]), todo),
    Tool("finish", "Call when the task is done. summary: what you did.",
         _obj({"summary": {"type": "string"}}, []), finish),
    Tool("submit", "Same as finish.", _obj({"summary": {"type": "string"}}, []), finish),
]}


def run_tool(call: ToolCall, ctx: ToolContext, tools: dict[str, Tool] = TOOLS) -> Observation:
    """Execute one call; every failure becomes an error observation."""
    tool = tools.get(call.name)
    try:
        if tool is None:
            raise ToolError(f"unknown tool {call.name!r}; available: {', '.join(tools)}")
        validate_arguments(tool, call.arguments)
        return tool.fn(ctx, call.arguments)
    except ToolError as e:
        return Observation(text=f"Error: {e}", error=True)
    except Exception as e:  # an environment failure must not crash the episode
        return Observation(text=f"Error: {call.name} failed: {type(e).__name__}: {e}", error=True)
