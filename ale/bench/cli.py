"""`ale bench`: validate tasks, run the evaluator, generate tasks. The typer app is `app`."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.table import Table

from ale.cli_util import checkpoint_model, fail, fresh_run_dir, interrupted, out_dir, out_file

app = typer.Typer(help="Tasks and evaluation: validate, run, generate.", no_args_is_help=True)
console = Console(highlight=False, soft_wrap=True)  # no wrapping inside paths and messages


def _load(spec: str, collect: bool):
    from ale.bench.task import TaskError, load_tasks

    errors: list[TaskError] | None = [] if collect else None
    try:
        return load_tasks(spec, errors), errors or []
    except TaskError as e:
        fail(str(e))


@app.command()
def validate(paths: List[str] = typer.Argument(..., help="task folders, folders of tasks, SWE instance .json, or 'builtin'"),
             repeat: int = typer.Option(3, help="runs of each check"),
             concurrency: int = typer.Option(4, help="sandboxes at once"),
             json_out: Optional[Path] = typer.Option(None, "--json", help="write the verdicts here")) -> None:
    """Build each task, check its reference solution passes and an empty agent fails, `repeat` times each.
    Exit 1 if any task is broken or nondeterministic."""
    from ale.bench.validate import validate as run_validate

    if json_out:
        out_file(json_out, "--json")
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
        agent: str = typer.Option("oracle", help="oracle | null | a model spec (openai:M@URL, hf:PATH, smollm2-135m, "
                                                 "scripted:FILE) | ckpt:RUN_DIR[@STEP] (a training run's newest "
                                                 "checkpoint or that step's; RUN_DIR/checkpoints/step-N too)"),
        attempts: int = typer.Option(1, min=1, help="K of Avg@K pass@1"),
        concurrency: int = typer.Option(4, min=1, help="episodes at once"),
        out: Optional[Path] = typer.Option(None, help="results JSON (per-task records go to <stem>.tasks/); "
                                                      "default runs/bench-AGENT-TIME/results.json"),
        traj_dir: Optional[Path] = typer.Option(None, help="trajectories (default <stem>.trajs/ next to --out)"),
        max_steps: int = typer.Option(50, min=1, help="most model turns per episode"),
        temperature: Optional[float] = typer.Option(None, min=0.0, help="sampling temperature for model agents"),
        only: Optional[str] = typer.Option(None, help="comma-separated task ids to run"),
        solutions: Optional[Path] = typer.Option(None, help="reference solutions for the oracle: SOLUTIONS/<task id>/solve.sh "
                                                            "(each task is copied to a temporary folder and the solution "
                                                            "added there as solution/solve.sh; the task folders stay untouched)"),
        count_errors: bool = typer.Option(False, help="count errored tasks (no verdict) as failed in the pass rate "
                                                      "(default: left out and reported apart)"),
        resume: bool = typer.Option(True, help="skip tasks already done in --out by this same configuration "
                                               "(--no-resume: replace them)")) -> None:
    """Run tasks through the agent harness in parallel sandboxes; writes JSON + HTML report.

    Re-running with the same --out resumes (only with an identical configuration). Invalid task folders
    are skipped and reported. Each task ends passed, failed, or error (no verdict: image build, missing
    solution, GPUs asked for, healthcheck, verifier timeout / no reward file / no test run, infrastructure).
    Exit 0 when every task got a verdict, 1 when some errored or were invalid, 2 on bad input, 130 on Ctrl-C."""
    from ale.bench.evaluate import EvalConfig, Interrupted, agent_tag, run_eval

    if agent.startswith("ckpt:"):  # a training run's checkpoint, exported once to RUN/export/step-N
        agent = checkpoint_model(agent, "--agent")
    task_list, invalid = _load(tasks, collect=True)
    for e in invalid:
        typer.echo(f"skipped invalid task {e.path}: {' '.join(str(e).split())}", err=True)
    if only:
        wanted = set(only.split(","))
        task_list = [t for t in task_list if t.id in wanted]
        missing = wanted - {t.id for t in task_list}
        if missing:
            fail(f"no such task(s): {', '.join(sorted(missing))}")
    if not task_list:
        fail(f"no valid tasks in {tasks}")
    if solutions:
        task_list = _with_solutions(task_list, solutions)
    out = out_file(out) if out else fresh_run_dir(f"bench-{agent_tag(agent)}") / "results.json"
    if traj_dir:
        out_dir(traj_dir, "--traj-dir")
    cfg = EvalConfig(agent=agent, attempts=attempts, concurrency=concurrency, max_steps=max_steps,
                     temperature=temperature, count_errors=count_errors)
    os.environ.setdefault("TQDM_DISABLE", "1")  # transformers' loading bars would break into ours
    try:
        results = run_eval(task_list, cfg, out=out, traj_dir=traj_dir, resume=resume)
    except Interrupted as e:
        interrupted(e.saved, f"of {e.total} tasks saved in {out.parent}")
    except (ValueError, RuntimeError, OSError) as e:  # bad options, a bad model spec, a dead endpoint, resume conflict
        fail(f"{type(e).__name__}: {e}" if isinstance(e, OSError) else str(e))
    s = results["summary"]
    table = Table(title=f"{agent}: Avg@{attempts} pass@1 {s['pass_rate'] * 100:.1f}% "
                        f"({s['n_passed']}/{s['n_tasks']} tasks), errors {s['n_errors']} "
                        f"({'counted as failed' if count_errors else 'left out of the rate'})")
    for col in ("domain", "tasks", "passed", "pass@1"):
        table.add_column(col)
    for d, g in s["by_domain"].items():
        table.add_row(d, str(g["n_tasks"]), str(g["n_passed"]), f"{g['pass_rate'] * 100:.1f}%")
    console.print(table)
    fails = s["failures"]
    console.print("failures (attempts): " + (", ".join(f"{k} {v}" for k, v in sorted(fails.items())) or "none"))
    from ale.bench.evaluate import ERRORS

    errored = {k: v for k, v in fails.items() if k in ERRORS}
    for k in sorted(fails):
        if k not in errored:
            console.print(f"  {k}: first: {s['failure_examples'][k]}", markup=False)
    for k in sorted(errored):  # not the agent's fault: the task or the machinery failed
        typer.echo(f"error: {errored[k]} attempt(s) with {k}; first: {s['failure_examples'][k]}", err=True)
    console.print(f"results: {out}  report: {out.with_suffix('.html')}  trajectories: "
                  f"{traj_dir or out.parent / (out.stem + '.trajs')} (ale traj view FILE)")
    raise typer.Exit(1 if errored or invalid else 0)


def _with_solutions(task_list, solutions: Path):
    """Each task copied to a temporary folder with SOLUTIONS/<id>/solve.sh added as solution/solve.sh."""
    import atexit
    import shutil
    import tempfile

    from ale.bench.task import TaskError, load_task

    if not solutions.is_dir():
        fail(f"--solutions {solutions}: no such folder")
    root = Path(tempfile.mkdtemp(prefix="ale-oracle-tasks-"))
    atexit.register(shutil.rmtree, root, True)  # the copies live as long as this command
    out = []
    for t in task_list:
        sol = solutions / t.id / "solve.sh"
        if not sol.is_file():
            out.append(t)  # the oracle then reports "no solution" for it
            continue
        dest = root / t.path.name
        shutil.copytree(t.path, dest, symlinks=True)
        (dest / "solution").mkdir(exist_ok=True)
        shutil.copy(sol, dest / "solution" / "solve.sh")
        try:
            out.append(load_task(dest))
        except TaskError as e:
            fail(str(e))
    return out


@app.command()
def prepare(tasks: str = typer.Option(..., "--tasks", help="a folder of tasks or one task"),
            standins: bool = typer.Option(True, help="also build offline stand-ins for the base images the tasks "
                                                     "name that are not in the image store")) -> None:
    """Provision, for offline runs, what the tasks' verifiers would download at verify time: uv/uvx, the
    Python `uvx -p` asks for, the pinned wheels (PyPI), the Debian packages tests/ apt-installs; and (with
    --standins) stand-ins for missing base images. Needs the package registries once; `ale bench run`
    then verifies with no network."""
    import asyncio

    from ale.bench.prepare import prepare as run_prepare
    from ale.sandbox.images import ImageStore, parse_dockerfile
    from ale.sandbox.manager import DEFAULT_HOME
    from ale.sandbox.spec import SandboxError

    task_list, invalid = _load(tasks, collect=True)
    for e in invalid:
        typer.echo(f"skipped invalid task {e.path}: {' '.join(str(e).split())}", err=True)
    store = ImageStore(DEFAULT_HOME)
    if standins:
        from ale.sandbox import standins as st
        from ale.sandbox.manager import SandboxManager

        bases = sorted({i.value[0] for t in task_list if t.dockerfile
                        for i in parse_dockerfile(t.dockerfile.read_text()) if i.op == "FROM"})
        missing = [b for b in bases if not store.exists(b)]
        for b in missing:
            try:
                st.recipe(b)
            except SandboxError as e:
                typer.echo(f"no stand-in for {b}: {e.message}", err=True)
        todo = [b for b in missing if _has_recipe(b)]

        async def go():
            m = SandboxManager()
            try:
                for b in todo:
                    await st.build(m, b, log=lambda s: console.print(s, markup=False))
            finally:
                await m.close()
        if todo:
            try:
                asyncio.run(go())
            except SandboxError as e:
                fail(e.message)
            console.print(f"built stand-ins: {', '.join(todo)}")
    try:
        manifests = run_prepare(task_list, DEFAULT_HOME, log=lambda s: console.print(s, markup=False))
    except (RuntimeError, SandboxError) as e:
        fail(str(e))
    console.print(f"prepared the verifiers of {len(manifests)} task(s) in {DEFAULT_HOME / 'bench' / 'verifier'}")
    raise typer.Exit(1 if invalid else 0)


def _has_recipe(name: str) -> bool:
    from ale.sandbox.standins import recipe
    from ale.sandbox.spec import SandboxError

    try:
        recipe(name)
        return True
    except SandboxError:
        return False


@app.command()
def generate(family: str = typer.Argument(..., help="family name (see `ale bench families`)"),
             n: int = typer.Option(10, "--n", min=1, help="instances"),
             seed: int = typer.Option(0, help="seed: the same seed gives the same tasks"),
             out: Path = typer.Option(..., help="output folder (one task folder per instance)"),
             param: List[str] = typer.Option([], "--param", "-p", help="family parameter KEY=VALUE (e.g. length=12)")) -> None:
    """Write N fresh task folders of a generated family."""
    import inspect

    from ale.bench.generators import FAMILIES, families, generate as gen

    if family not in families():
        fail(f"unknown family {family!r}; families: {', '.join(families())}")
    known = list(inspect.signature(FAMILIES[family]).parameters)[2:]  # after (rng, index)
    params = {}
    for p in param:
        k, eq, v = p.partition("=")
        if not eq:
            fail(f"--param wants KEY=VALUE, got {p!r}")
        if k not in known:
            fail(f"--param {k}: {family} has no such parameter (it takes: {', '.join(known) or 'none'})")
        params[k] = int(v) if v.lstrip("-").isdigit() else {"true": True, "false": False}.get(v.lower(), v)
    out_dir(out)
    try:
        paths = gen(family, n, seed, out, **params)
    except (ValueError, TypeError, RuntimeError) as e:
        fail(str(e))
    console.print(f"wrote {len(paths)} tasks to {out}")


@app.command()
def families() -> None:
    """List the generator families."""
    from ale.bench.generators import FAMILIES, families as names

    for name in names():
        doc = (FAMILIES[name].__doc__ or "").strip().partition("\n")[0]
        console.print(f"{name:12} {doc}")
