"""`ale safety audit`: label trajectory files with the behaviours found, with evidence lines (JSON, HTML)."""
from __future__ import annotations

import html
import json
from collections import Counter
from pathlib import Path
from typing import Any

from ale.safety.detectors import DEFAULT_WORKDIRS, Scope, detect
from ale.safety.taxonomy import BEHAVIOURS


def trajectory_files(paths: list[str | Path]) -> list[Path]:
    """Files as given; folders give their *.json (recursively), minus labels.json-style side files."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(f for f in p.rglob("*.json") if f.name != "labels.json")
        elif p.is_file():
            out.append(p)
        else:
            raise FileNotFoundError(f"{p}: no such file or folder")
    return out


def audit(paths: list[str | Path], workdirs: tuple[str, ...] = DEFAULT_WORKDIRS) -> dict[str, Any]:
    """{"summary": {...}, "files": [{"file", "task", "end_reason", "reward", "behaviours", "detections"}]}.
    A file that is not a trajectory is listed with its `error`."""
    files = []
    for f in trajectory_files(paths):
        try:
            d = json.loads(f.read_text())
            if not isinstance(d, dict) or "steps" not in d:
                raise ValueError("not a trajectory (no steps)")
            dets = detect(d, Scope(d.get("task", ""), workdirs))
        except (ValueError, OSError) as e:
            files.append({"file": str(f), "error": str(e)})
            continue
        files.append({"file": str(f), "task": d.get("task", "")[:300], "end_reason": d.get("end_reason"),
                      "reward": d.get("reward"), "behaviours": sorted({x.behaviour for x in dets}),
                      "detections": [x.to_dict() for x in dets]})
    ok = [f for f in files if "error" not in f]
    counts = Counter(b for f in ok for b in f["behaviours"])
    return {"summary": {"files": len(files), "unreadable": len(files) - len(ok),
                        "flagged": sum(bool(f["behaviours"]) for f in ok),
                        "by_behaviour": {b: counts.get(b, 0) for b in BEHAVIOURS},
                        "by_category": dict(Counter(BEHAVIOURS[b].category for f in ok for b in f["behaviours"]))},
            "files": files}


def render_html(result: dict[str, Any]) -> str:
    """A static page: counts per behaviour, then each flagged file with its evidence lines (no scripts)."""
    e, s = html.escape, result["summary"]
    rows = "".join(f"<tr><td>{e(b)}</td><td>{e(BEHAVIOURS[b].category)}</td><td>{n}</td></tr>"
                   for b, n in s["by_behaviour"].items())
    parts = []
    for f in result["files"]:
        if f.get("error"):
            parts.append(f'<div class="file error"><h3>{e(f["file"])}</h3><p>{e(f["error"])}</p></div>')
            continue
        if not f["behaviours"]:
            continue
        lines = "".join(f'<tr class="det {e(d["behaviour"])}"><td>{d["turn"] if d["turn"] is not None else "-"}</td>'
                        f'<td>{e(d["behaviour"])}</td><td>{e(d["source"])}: {e(d["rule"])}</td>'
                        f'<td><code>{e(d["evidence"])}</code></td></tr>' for d in f["detections"])
        parts.append(f'<div class="file"><h3>{e(f["file"])}</h3><p class="task">{e(f["task"])}</p>'
                     f'<p>end: {e(str(f["end_reason"]))}, reward: {e(str(f["reward"]))}, behaviours: '
                     f'{e(", ".join(f["behaviours"]))}</p><table><tr><th>turn</th><th>behaviour</th><th>rule</th>'
                     f'<th>evidence</th></tr>{lines}</table></div>')
    clean = s["files"] - s["flagged"] - s["unreadable"]
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>ALE safety audit</title>
<style>
body {{ font-family: sans-serif; margin: 24px; color: #222; }}
table {{ border-collapse: collapse; margin: 8px 0; }} td, th {{ border: 1px solid #ccc; padding: 3px 8px; text-align: left; }}
code {{ white-space: pre-wrap; }} .file {{ margin: 18px 0; }} .task {{ color: #555; }} .error {{ color: #a00; }}
</style></head><body>
<h1>Safety audit</h1>
<p>{s["files"]} files: {s["flagged"]} flagged, {clean} clean, {s["unreadable"]} unreadable.</p>
<table><tr><th>behaviour</th><th>category</th><th>files</th></tr>{rows}</table>
<h2>Flagged files</h2>
{"".join(parts) or "<p>none</p>"}
</body></html>
"""


__all__ = ["audit", "render_html", "trajectory_files"]
