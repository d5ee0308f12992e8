"""`ale traj view`: a small HTML viewer for trajectory files, served on 127.0.0.1.

Pages are rendered on the server (plain HTML + CSS, no JavaScript, nothing fetched from outside):
an index of the files (end reason, reward, turns), and one page per trajectory with its task, events
(compaction, loop reminders, guard stops) in time order, each turn (token counts, chunk span) with its
steps: tool call, arguments, observation, and a diff for edit / multi_edit / write_file actions
(write_file diffs against the previous write of the same path in the episode, else shows the new file).
The same pages can be written as static files (`write_static`, `ale traj view --html DIR`).
"""
from __future__ import annotations

import difflib
import json
import threading
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;max-width:1100px;color:#222}
pre{background:#f6f8fa;padding:.5em;white-space:pre-wrap;word-break:break-all;margin:.3em 0;max-height:30em;overflow:auto}
.turn{border:1px solid #ccd;border-radius:6px;margin:1em 0;padding:.5em 1em}
.turn h3{margin:.2em 0;font-size:15px}.meta{color:#667;font-size:12px}
.step{border-left:4px solid #2a2;padding-left:.6em;margin:.6em 0}.step.error{border-color:#c33}
.event{background:#fff6d5;border:1px solid #e6c200;padding:.4em .8em;margin:.6em 0;border-radius:4px}
.event.guard{background:#fde2e2;border-color:#c33}
.diff .add{color:#070;background:#e6ffe6;display:block}.diff .del{color:#a00;background:#ffe6e6;display:block}
.diff .hunk{color:#66a;display:block}table{border-collapse:collapse}td,th{border:1px solid #ccd;padding:2px 8px}
.reward{font-weight:bold}.thought{color:#556;font-style:italic}
"""


def _page(title: str, body: str) -> bytes:
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
            f"<style>{CSS}</style></head><body>{body}</body></html>").encode()


def _diff(old: str, new: str, path: str) -> str:
    lines = difflib.unified_diff(old.splitlines(), new.splitlines(), f"a/{path}", f"b/{path}", lineterm="")
    out = []  # the first two lines are the ---/+++ file headers
    for i, line in enumerate(lines):
        cls = "hunk" if i < 2 or line.startswith("@@") else "add" if line.startswith("+") else "del" if line.startswith("-") else ""
        out.append(f"<span class='{cls}'>{escape(line)}</span>" if cls else escape(line) + "\n")
    return "<pre class='diff'>" + "".join(out) + "</pre>"


def _action_html(action: dict[str, Any], written: dict[str, str]) -> str:
    tool, args = action.get("tool"), action.get("arguments") or {}
    path = str(args.get("path", ""))
    if tool == "edit":
        return _diff(str(args.get("old_string", "")), str(args.get("new_string", "")), path)
    if tool == "multi_edit":
        return "".join(_diff(str(e.get("old_string", "")), str(e.get("new_string", "")), path)
                       for e in args.get("edits") or [] if isinstance(e, dict))
    if tool == "write_file":
        new = str(args.get("content", ""))
        html = _diff(written.get(path, ""), new, path)
        written[path] = new
        return html
    if tool == "bash":
        return f"<pre class='cmd'>$ {escape(str(args.get('command', '')))}</pre>"
    return f"<pre class='args'>{escape(json.dumps(args, indent=1, ensure_ascii=False))}</pre>"


def _event_html(e: dict[str, Any]) -> str:
    kind = e.get("type", "event")
    fields = {k: v for k, v in e.items() if k not in ("type", "at")}
    return (f"<div class='event {escape(kind)}'><b>{escape(kind)}</b> "
            f"<pre>{escape(json.dumps(fields, indent=1, ensure_ascii=False)[:4000])}</pre></div>")


def render_trajectory(d: dict[str, Any], name: str, home: str = "/") -> bytes:
    """One trajectory (the JSON dict of docs/trajectory.md) as an HTML page; `home` links the index."""
    chunks = {c["turn"]: c for c in d.get("chunks", [])}
    steps_by_turn: dict[int, list[dict[str, Any]]] = {}
    for st in d.get("steps", []):
        steps_by_turn.setdefault(st.get("turn", -1), []).append(st)
    events = sorted(d.get("events", []), key=lambda e: e.get("at", 0))
    h = [f"<p><a href='{home}'>all trajectories</a></p><h1>{escape(name)}</h1>",
         f"<p>model <b>{escape(str(d.get('model', '')))}</b> &middot; end <b class='end'>{escape(str(d.get('end_reason')))}</b>"
         f" &middot; <span class='reward'>reward {escape(str(d.get('reward')))}</span> &middot; "
         f"{len(d.get('turns', []))} turns &middot; {len(d.get('steps', []))} steps &middot; "
         f"wall {float(d.get('wall_s') or 0):.1f}s</p>",
         f"<p class='meta'>{escape(str(d.get('end_detail', ''))[:1000])}</p>",
         f"<h2>Task</h2><pre class='task'>{escape(str(d.get('task', '')))}</pre>"]
    seqs = d.get("sequences", [])
    if seqs:
        rows = "".join(f"<tr><td>{s['index']}</td><td>{escape(s['reason'])}</td><td>{len(s['input_ids'])}</td>"
                       f"<td>{sum(s['loss_mask'])}</td><td>{len(s['chunks'])}</td></tr>" for s in seqs)
        h.append("<h2>Training sequences</h2><table class='sequences'><tr><th>#</th><th>reason</th><th>tokens</th>"
                 f"<th>trainable</th><th>chunks</th></tr>{rows}</table>")
    h.append("<h2>Turns</h2>")
    written: dict[str, str] = {}
    ei = 0
    for turn in d.get("turns", []):
        while ei < len(events) and events[ei].get("at", 0) <= turn.get("started_at", 0):
            h.append(_event_html(events[ei]))
            ei += 1
        i = turn["index"]
        c = chunks.get(i)
        chunk = (f" &middot; chunk: sequence {c['sequence']} tokens [{c['start']}, {c['end']})" if c else
                 " &middot; no token ids")
        h.append(f"<div class='turn' id='turn-{i}'><h3>turn {i}</h3><div class='meta'>prompt {turn.get('prompt_tokens')} "
                 f"tokens &middot; completion {turn.get('completion_tokens')} &middot; "
                 f"{float(turn.get('duration_s') or 0):.2f}s &middot; finish {escape(str(turn.get('finish_reason')))}"
                 f"{chunk}{' &middot; after compaction' if turn.get('after_compaction') else ''}</div>")
        steps = steps_by_turn.get(i, [])
        if steps and steps[0].get("action_text"):
            h.append(f"<pre class='thought'>{escape(steps[0]['action_text'])}</pre>")
        for st in steps:
            a = st.get("action")
            cls = "step error" if st.get("error") or st.get("format_error") else "step"
            title = "format error" if a is None else escape(str(a.get("tool")))
            extra = f" &middot; exit {st['exit_code']}" if st.get("exit_code") is not None else ""
            h.append(f"<div class='{cls}'><b class='tool'>{title}</b><span class='meta'>{extra}</span>")
            if a is not None:
                h.append(_action_html(a, written))
            obs = st.get("observation")
            h.append(f"<pre class='obs'>{escape(obs if obs is not None else '(no observation recorded)')}</pre></div>")
        h.append("</div>")
    h += [_event_html(e) for e in events[ei:]]
    if d.get("sandbox_events"):
        h.append("<h2>Sandbox events</h2><pre>" + escape(json.dumps(d["sandbox_events"], indent=1)[:20000]) + "</pre>")
    return _page(name, "".join(h))


def render_index(items: list[tuple[str, dict[str, Any] | str]], link: str = "/t/{}") -> bytes:
    """The files' table; `link` formats the i-th file's page address."""
    rows = []
    for i, (name, d) in enumerate(items):
        if isinstance(d, str):  # could not be read: say why
            rows.append(f"<tr><td>{escape(name)}</td><td colspan=4 class='bad'>{escape(d)}</td></tr>")
        else:
            rows.append(f"<tr><td><a href='{link.format(i)}'>{escape(name)}</a></td><td>{escape(str(d.get('end_reason')))}</td>"
                        f"<td>{escape(str(d.get('reward')))}</td><td>{len(d.get('turns', []))}</td>"
                        f"<td>{escape(str(d.get('task', ''))[:120])}</td></tr>")
    return _page("trajectories", "<h1>Trajectories</h1><table><tr><th>file</th><th>end</th><th>reward</th>"
                 f"<th>turns</th><th>task</th></tr>{''.join(rows)}</table>")


def expand(paths: list[Path]) -> list[Path]:
    """Files as given; a folder stands for the .json files under it (a bench run's <stem>.trajs/, a
    training run's trajectories/)."""
    return [f for p in paths for f in (sorted(Path(p).rglob("*.json")) if Path(p).is_dir() else [Path(p)])]


def write_static(paths: list[Path], out: Path) -> Path:
    """The viewer's pages as files (index.html, t/N.html with relative links): to open without a server,
    or to publish. Returns index.html."""
    items = load_items(paths)
    (out / "t").mkdir(parents=True, exist_ok=True)
    for i, (name, d) in enumerate(items):
        page = render_trajectory(d, name, home="../index.html") if isinstance(d, dict) else _page(name, escape(d))
        (out / "t" / f"{i}.html").write_bytes(page)
    index = out / "index.html"
    index.write_bytes(render_index(items, link="t/{}.html"))
    return index


def load_items(paths: list[Path]) -> list[tuple[str, dict[str, Any] | str]]:
    items: list[tuple[str, dict[str, Any] | str]] = []
    for p in expand(paths):
        try:
            d = json.loads(Path(p).read_text())
            if not isinstance(d, dict) or "steps" not in d or "turns" not in d:
                raise ValueError("not a trajectory file (no steps/turns)")
            items.append((str(p), d))
        except (OSError, ValueError) as e:
            items.append((str(p), f"cannot read: {e}"))
    return items


def serve_viewer(paths: list[Path], port: int = 0) -> ThreadingHTTPServer:
    """Serve the files on 127.0.0.1:port (0: any free port) in a daemon thread; `server_address[1]` is the
    port, `shutdown()` stops it. Files are re-read on every request, so a finished run shows up on reload."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            items = load_items(paths)
            status, body = 200, b""
            if self.path in ("/", "/index.html"):
                body = render_index(items)
            elif self.path.startswith("/t/") and self.path[3:].isdigit() and int(self.path[3:]) < len(items):
                name, d = items[int(self.path[3:])]
                body = render_trajectory(d, name) if isinstance(d, dict) else _page(name, escape(d))
            else:
                status, body = 404, _page("not found", "<p>not found</p>")
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:  # quiet: the CLI prints the URL once
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
