"""A self-contained HTML report of an evaluation: summary, per-domain bars, a results table (no JS)."""
from __future__ import annotations

import html
from pathlib import Path
from typing import Any


def _bar(rate: float) -> str:
    pct = max(0.0, min(1.0, rate)) * 100
    return f'<div class="bar"><div class="fill" style="width:{pct:.1f}%"></div></div><span class="pct">{pct:.1f}%</span>'


def render_html(results: dict[str, Any]) -> str:
    s, e = results["summary"], html.escape
    domains = "".join(f'<tr class="domain"><td>{e(d)}</td><td>{g["n_passed"]}/{g["n_tasks"]}</td><td>{_bar(g["pass_rate"])}</td></tr>'
                      for d, g in s["by_domain"].items())
    diffs = "".join(f'<tr><td>{e(d)}</td><td>{g["n_passed"]}/{g["n_tasks"]}</td><td>{_bar(g["pass_rate"])}</td></tr>'
                    for d, g in s["by_difficulty"].items())
    fails = ", ".join(f"{e(k)}: {v}" for k, v in sorted(s["failures"].items())) or "none"
    rows = []
    for t in results["tasks"]:
        status = "pass" if t["passed"] else ("infra" if t["failure"] == "infrastructure_error" else "fail")
        rows.append(f'<tr class="task {status}"><td>{e(t["task_id"])}</td><td>{e(t["domain"])}</td>'
                    f'<td>{e(t["difficulty"])}</td><td>{t["reward"]:.2f}</td><td>{e(t["failure"] or "")}</td>'
                    f'<td>{t["prompt_tokens"] + t["completion_tokens"]}</td><td>{t["wall_s"]:.1f}</td></tr>')
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>ALE bench: {e(s["agent"])}</title>
<style>
body {{ font-family: sans-serif; margin: 24px; color: #222; }}
table {{ border-collapse: collapse; margin-bottom: 24px; }}
td, th {{ border: 1px solid #ccc; padding: 4px 8px; text-align: left; }}
.bar {{ display: inline-block; vertical-align: middle; width: 320px; height: 16px; background: #eee; }}
.fill {{ height: 100%; background: #2a7ae2; }}
.pct {{ margin-left: 8px; font-size: 13px; }}
tr.pass td:first-child {{ border-left: 6px solid #2e9e44; }}
tr.fail td:first-child {{ border-left: 6px solid #d33; }}
tr.infra td:first-child {{ border-left: 6px solid #e9a400; }}
</style></head><body>
<h1>ALE bench: {e(s["agent"])}</h1>
<p id="summary">Avg@{s["attempts"]} pass@1: <b>{s["pass_rate"] * 100:.1f}%</b>
 ({s["n_passed"]}/{s["n_tasks"]} tasks passed every attempt; pass@{s["attempts"]} {s["pass_at_k"] * 100:.1f}%).
 Infrastructure errors (retried, not counted): {s["n_infrastructure_errors"]}.
 Tokens: {s["prompt_tokens"]} prompt, {s["completion_tokens"]} completion. Wall: {s["wall_s"]:.1f}s.</p>
<p>Failures by class (attempts): {fails}</p>
<h2>By domain</h2><table id="domains"><tr><th>domain</th><th>passed</th><th>pass@1</th></tr>{domains}</table>
<h2>By difficulty</h2><table><tr><th>difficulty</th><th>passed</th><th>pass@1</th></tr>{diffs}</table>
<h2>Tasks</h2><table id="tasks"><tr><th>task</th><th>domain</th><th>difficulty</th><th>reward</th><th>failure</th>
<th>tokens</th><th>time (s)</th></tr>{"".join(rows)}</table>
</body></html>
"""


def write_html(results: dict[str, Any], path: Path) -> Path:
    path.write_text(render_html(results))
    return path
