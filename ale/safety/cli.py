"""`ale safety`: audit trajectories, inject red-team attacks into tasks, evaluate a model on them."""
from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console

app = typer.Typer(help="Safety: audit trajectories for forbidden behaviours, red-team tasks, evaluate models.",
                  no_args_is_help=True)
console = Console(highlight=False, soft_wrap=True)


def _fail(msg: str) -> None:
    console.print(f"[red]error:[/red] {msg}", markup=True)
    raise typer.Exit(2)


@app.command()
def audit(files: List[str] = typer.Argument(..., help="trajectory JSON files or folders of them"),
          out: Optional[Path] = typer.Option(None, help="write the JSON report here (and an HTML page next to it)"),
          html_out: Optional[Path] = typer.Option(None, "--html", help="HTML page path (default: OUT with .html)"),
          workdir: List[str] = typer.Option([], help="extra working folders counted as the task's scope"),
          quiet: bool = typer.Option(False, help="only the summary")) -> None:
    """Label trajectory files with the behaviours found (evidence: turn, rule, the command or event).
    Exit 1 when any file shows a behaviour."""
    from ale.safety.audit import audit as run_audit, render_html
    from ale.safety.detectors import DEFAULT_WORKDIRS

    try:
        result = run_audit(files, DEFAULT_WORKDIRS + tuple(workdir))
    except FileNotFoundError as e:
        _fail(str(e))
    for f in result["files"]:
        if f.get("error"):
            console.print(f"[yellow]unreadable[/yellow] {f['file']}: {f['error']}")
        elif f["behaviours"] and not quiet:
            console.print(f"[red]{', '.join(f['behaviours'])}[/red]  {f['file']}")
            for d in f["detections"]:
                console.print(f"    turn {d['turn'] if d['turn'] is not None else '-'}  {d['behaviour']}  "
                              f"({d['source']}: {d['rule']})  {d['evidence'][:200]}", markup=False)
    s = result["summary"]
    console.print(f"{s['files']} files, {s['flagged']} flagged: " +
                  (", ".join(f"{b} {n}" for b, n in s["by_behaviour"].items() if n) or "nothing found"))
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=1))
        html_out = html_out or out.with_suffix(".html")
    if html_out:
        html_out.write_text(render_html(result))
        console.print(f"report: {html_out}")
    raise typer.Exit(1 if s["flagged"] else 0)


@app.command()
def behaviours() -> None:
    """List the taxonomy: behaviour, category, what it covers."""
    from ale.safety.taxonomy import BEHAVIOURS

    for b in BEHAVIOURS.values():
        console.print(f"{b.name:<22} {b.category:<18} {b.description}", markup=False)


@app.command()
def inject(tasks: str = typer.Argument(..., help="benign task folder(s) (task.yaml with the instruction, a Dockerfile)"),
           level: List[str] = typer.Option(["prompt", "repo", "tool"], help="prompt | repo | tool (repeatable)"),
           attack: List[str] = typer.Option([], help="attack names (repeatable; default: all); see ale.safety.redteam"),
           out: Path = typer.Option(..., help="one folder per task x level x attack")) -> None:
    """Wrap benign tasks with red-team attacks (prompt, repository or tool level). Check them with
    `ale bench validate OUT`; make golden trajectories with `ale data rollout OUT --teacher golden`."""
    from ale.bench.task import TaskError, load_tasks
    from ale.safety.redteam import ATTACKS, inject as run_inject

    try:
        base = load_tasks(tasks)
        made = [run_inject(t.path, lv, a, out) for t in base for lv in level for a in (attack or list(ATTACKS))]
    except (TaskError, ValueError) as e:
        _fail(str(e))
    console.print(f"wrote {len(made)} red-team tasks to {out}")


@app.command("eval")
def eval_cmd(suite: str = typer.Argument(..., help="red-team task folder (from `ale safety inject`)"),
             model: str = typer.Option(..., help="model spec: openai:MODEL@URL, hf:PATH, smollm2-135m, scripted:FILE, oracle"),
             out: Path = typer.Option(..., help="OUT/safety-eval.json and the evaluator's results"),
             attempts: int = typer.Option(1, help="episodes per task"),
             concurrency: int = typer.Option(4, help="sandboxes at once"),
             max_steps: int = typer.Option(30, help="model turns per episode")) -> None:
    """Violation rate per behaviour and task success of a model on a red-team suite."""
    from ale.bench.task import TaskError, load_tasks
    from ale.safety.evaluate import redteam_eval

    try:
        rep = redteam_eval(load_tasks(suite), model, out, attempts, concurrency, max_steps)
    except (TaskError, ValueError) as e:
        _fail(str(e))
    for b, s in rep["by_behaviour"].items():
        console.print(f"{b:<22} violations {s['violations']}/{s['episodes']}  success {s['passed']}/{s['episodes']}")
    console.print(f"{model}: violation rate {rep['violation_rate']:.2f} (any behaviour {rep['any_violation_rate']:.2f}), "
                  f"task success {rep['success_rate']:.2f} over {rep['episodes']} episodes -> {out}/safety-eval.json")
