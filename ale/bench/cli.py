"""`ale bench`: validate tasks, run the evaluator, generate tasks. The typer app is `app`."""
from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="Tasks and evaluation: validate, run, generate.", no_args_is_help=True)
console = Console(highlight=False, soft_wrap=True)  # no wrapping inside paths and messages


def _load(spec: str, collect: bool):
    from ale.bench.task import TaskError, load_tasks

    errors: list[TaskError] | None = [] if collect else None
    try:
        return load_tasks(spec, errors), errors or []
    except TaskError as e:
        console.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2)


@app.command()
def validate(paths: List[str] = typer.Argument(..., help="task folders, folders of tasks, SWE instance .json, or 'builtin'"),
             repeat: int = typer.Option(3, help="runs of each check"),
             concurrency: int = typer.Option(4, help="sandboxes at once"),
             json_out: Optional[Path] = typer.Option(None, "--json", help="write the verdicts here")) -> None:
    """Build each task, check its reference solution passes and an empty agent fails, `repeat` times each.
    Exit 1 if any task is broken or nondeterministic."""
    from ale.bench.validate import validate as run_validate

    tasks, errors = [], []
    for p in paths:
        t, e = _load(p, collect=True)
        tasks += t
        errors += e
    style = {"ok": "green", "broken": "red", "nondeterministic": "yellow"}

    def show(v) -> None:
        console.print(f"[{style[v.status]}]{v.status:>16}[/] {v.task_id}  oracle {v.oracle_passes}/{v.repeat}  "
                      f"empty {v.null_passes}/{v.repeat}  {v.wall_s:.1f}s")
        for r in v.reasons:
            console.print(f"                  {r}", markup=False)

    verdicts = run_validate(tasks, errors, repeat=repeat, concurrency=concurrency, on_verdict=show)
    bad = [v for v in verdicts if v.status != "ok"]
    console.print(f"{len(verdicts) - len(bad)}/{len(verdicts)} tasks ok"
                  + (f"; not ok: {', '.join(v.task_id for v in bad)}" if bad else ""))
    if json_out:
        json_out.write_text(json.dumps([v.to_dict() for v in verdicts], indent=1))
    raise typer.Exit(1 if bad else 0)


@app.command()
def run(tasks: str = typer.Option(..., "--tasks", help="a folder of tasks, one task, SWE instances, or 'builtin'"),
        agent: str = typer.Option("oracle", help="oracle | null | a model spec (openai:M@URL, hf:PATH, smollm2-135m, scripted:FILE)"),
        attempts: int = typer.Option(1, help="K of Avg@K pass@1"),
        concurrency: int = typer.Option(4, help="episodes at once"),
        out: Path = typer.Option(Path("results.json"), help="results JSON (per-task records go to <stem>.tasks/)"),
        traj_dir: Optional[Path] = typer.Option(None, help="trajectories (default <stem>.trajs/ next to --out)"),
        max_steps: int = typer.Option(50, help="most model turns per episode"),
        temperature: Optional[float] = typer.Option(None, help="sampling temperature for model agents"),
        only: Optional[str] = typer.Option(None, help="comma-separated task ids to run")) -> None:
    """Run tasks through the agent harness in parallel sandboxes; resumable; writes JSON + HTML report."""
    from ale.bench.evaluate import EvalConfig, run_eval

    task_list, _ = _load(tasks, collect=False)
    if only:
        wanted = set(only.split(","))
        task_list = [t for t in task_list if t.id in wanted]
        missing = wanted - {t.id for t in task_list}
        if missing:
            console.print(f"[red]error:[/red] no such task(s): {', '.join(sorted(missing))}")
            raise typer.Exit(2)
    cfg = EvalConfig(agent=agent, attempts=attempts, concurrency=concurrency, max_steps=max_steps,
                     temperature=temperature)
    try:
        results = run_eval(task_list, cfg, out=out, traj_dir=traj_dir)
    except (ValueError, OSError) as e:  # bad options, a bad model spec, a model that does not load
        console.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2)
    s = results["summary"]
    table = Table(title=f"{agent}: Avg@{attempts} pass@1 {s['pass_rate'] * 100:.1f}% "
                        f"({s['n_passed']}/{s['n_tasks']} tasks)")
    for col in ("domain", "tasks", "passed", "pass@1"):
        table.add_column(col)
    for d, g in s["by_domain"].items():
        table.add_row(d, str(g["n_tasks"]), str(g["n_passed"]), f"{g['pass_rate'] * 100:.1f}%")
    console.print(table)
    console.print(f"failures: {s['failures'] or 'none'}; infrastructure errors (retried, not counted): "
                  f"{s['n_infrastructure_errors']}")
    console.print(f"results: {out}  report: {out.with_suffix('.html')}")


@app.command()
def generate(family: str = typer.Argument(..., help="family name (see `ale bench families`)"),
             n: int = typer.Option(10, "--n", help="instances"),
             seed: int = typer.Option(0, help="seed: the same seed gives the same tasks"),
             out: Path = typer.Option(..., help="output folder (one task folder per instance)"),
             param: List[str] = typer.Option([], "--param", "-p", help="family parameter KEY=VALUE (e.g. length=12)")) -> None:
    """Write N fresh task folders of a generated family."""
    from ale.bench.generators import generate as gen

    params = {}
    for p in param:
        k, eq, v = p.partition("=")
        if not eq:
            console.print(f"[red]error:[/red] --param wants KEY=VALUE, got {p!r}")
            raise typer.Exit(2)
        params[k] = int(v) if v.lstrip("-").isdigit() else {"true": True, "false": False}.get(v.lower(), v)
    try:
        paths = gen(family, n, seed, out, **params)
    except (ValueError, TypeError, RuntimeError) as e:
        console.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2)
    console.print(f"wrote {len(paths)} tasks to {out}")


@app.command()
def families() -> None:
    """List the generator families."""
    from ale.bench.generators import FAMILIES, families as names

    for name in names():
        doc = (FAMILIES[name].__doc__ or "").strip().partition("\n")[0]
        console.print(f"{name:12} {doc}")
