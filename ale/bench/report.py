"""A self-contained HTML report of an evaluation: summary, per-domain bars, a results table (no JS).

Each task row links its first attempt's trajectory page (static viewer pages written beside the report,
`<stem>.view/`), and shows tests passed/total and, for a failed attempt, the tail of the test output."""
from __future__ import annotations

import html
from pathlib import Path
from typing import Any


def _bar(rate: float) -> str:
    pct = max(0.0, min(1.0, rate)) * 100
    return f'<div class="bar"><div class="fill" style="width:{pct:.1f}%"></div></div><span class="pct">{pct:.1f}%</span>'


def _tests(t: dict[str, Any]) -> str:
    att = t["attempts"]
    return f'{sum(a["n_tests_passed"] for a in att)}/{sum(a["n_tests"] for a in att)}'


def _tail(t: dict[str, Any], e) -> str:
    tail = next((a.get("test_output_tail") or a.get("error") for a in t["attempts"]
                 if a.get("test_output_tail") or a.get("error")), None)
    if not tail:
        return ""
    return f"<details><summary>tail</summary><pre>{e(tail[-1500:])}</pre></details>"


def render_html(results: dict[str, Any], links: dict[str, str] | None = None) -> str:
    """links: trajectory path -> address of its page (relative to the report)."""
    links = links or {}
    s, e = results["summary"], html.escape
    domains = "".join(f'<tr class="domain"><td>{e(d)}</td><td>{g["n_passed"]}/{g["n_tasks"]}</td><td>{_bar(g["pass_rate"])}</td></tr>'
                      for d, g in s["by_domain"].items())
    diffs = "".join(f'<tr><td>{e(d)}</td><td>{g["n_passed"]}/{g["n_tasks"]}</td><td>{_bar(g["pass_rate"])}</td></tr>'
                    for d, g in s["by_difficulty"].items())
    fails = ", ".join(f"{e(k)}: {v}" for k, v in sorted(s["failures"].items())) or "none"
    rows = []
    for t in results["tasks"]:
        status = "pass" if t["passed"] else ("infra" if t["failure"] == "infrastructure_error" else "fail")
        page = next((links[a["trajectory"]] for a in t["attempts"] if a.get("trajectory") in links), None)
        name = f'<a href="{e(page)}">{e(t["task_id"])}</a>' if page else e(t["task_id"])
        rows.append(f'<tr class="task {status}"><td>{name}</td><td>{e(t["domain"])}</td>'
                    f'<td>{e(t["difficulty"])}</td><td>{t["reward"]:.2f}</td><td class="tests">{_tests(t)}</td>'
                    f'<td>{e(t["failure"] or "")}</td>'
                    f'<td>{t["prompt_tokens"] + t["completion_tokens"]}</td><td>{t["wall_s"]:.1f}</td>'
                    f'<td>{_tail(t, e)}</td></tr>')
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
pre {{ max-width: 600px; max-height: 300px; overflow: auto; font-size: 12px; }}
</style></head><body>
<h1>ALE bench: {e(s["agent"])}</h1>
<p id="summary">Avg@{s["attempts"]} pass@1: <b>{s["pass_rate"] * 100:.1f}%</b>
 ({s["n_passed"]}/{s["n_tasks"]} tasks passed every attempt; pass@{s["attempts"]} {s["pass_at_k"] * 100:.1f}%).
 Infrastructure errors (retried, not counted): {s["n_infrastructure_errors"]}.
 Tokens: {s["prompt_tokens"]} prompt, {s["completion_tokens"]} completion. Wall: {s["wall_s"]:.1f}s.</p>
<p>Failures by class (attempts): {fails}</p>
<h2>By domain</h2><table id="domains"><tr><th>domain</th><th>passed</th><th>pass@1</th></tr>{domains}</table>
<h2>By difficulty</h2><table><tr><th>difficulty</th><th>passed</th><th>pass@1</th></tr>{diffs}</table>
<h2>Tasks</h2><table id="tasks"><tr><th>task</th><th>domain</th><th>difficulty</th><th>reward</th><th>tests</th>
<th>failure</th><th>tokens</th><th>time (s)</th><th>test output</th></tr>{"".join(rows)}</table>
</body></html>
"""


def write_html(results: dict[str, Any], path: Path) -> Path:
    """The report at `path`, and the trajectories' viewer pages in `<stem>.view/` beside it."""
    from ale.agent.viewer import write_static

    trajs = [a["trajectory"] for t in results["tasks"] for a in t["attempts"] if a.get("trajectory")]
    links = {}
    if trajs:
        view = path.parent / f"{path.stem}.view"
        write_static([Path(p) for p in trajs], view)
        links = {p: f"{view.name}/t/{i}.html" for i, p in enumerate(trajs)}
    path.write_text(render_html(results, links))
    return path
