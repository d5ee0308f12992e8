"""`ale data`: synth -> rollout -> filter -> export, and select (the RL set)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console

app = typer.Typer(help="Training data: synthesise and review tasks, teacher rollouts, verify/filter, export, "
                       "select the RL set.", no_args_is_help=True)
console = Console(highlight=False, soft_wrap=True)


def _fail(msg: str) -> None:
    console.print(f"[red]error:[/red] {msg}")
    raise typer.Exit(2)


def _tasks(spec: str):
    from ale.bench.task import TaskError, load_tasks

    try:
        return load_tasks(spec)
    except TaskError as e:
        _fail(str(e))


def _value(raw: str):
    import yaml

    try:
        return yaml.safe_load(raw)
    except yaml.YAMLError:
        return raw


@app.command()
def synth(family: List[str] = typer.Option(..., "--family", "-f", help="FAMILY:N (repeatable), e.g. column-sum:20"),
          param: List[str] = typer.Option([], "--param", "-p", help="FAMILY.KEY=VALUE, e.g. write-word.hint=false"),
          seed: int = typer.Option(0, help="generator seed"),
          out: Path = typer.Option(..., help="OUT/tasks (accepted), OUT/rejected (with reject.json), OUT/synth.json"),
          repeat: int = typer.Option(2, help="review runs of the reference solution and of the null agent"),
          concurrency: int = typer.Option(4, help="sandboxes at once")) -> None:
    """Generate task instances and review them: reference passes, null agent fails, stable over repeats,
    instruction does not leak the solution's key lines."""
    from ale.bench.generators import families
    from ale.data.synth import synth as run_synth

    known = families()
    plan, params = [], {}
    for p in param:
        key, sep, raw = p.partition("=")
        fam, dot, name = key.partition(".")
        if not sep or not dot:
            _fail(f"--param {p!r}: expected FAMILY.KEY=VALUE")
        params.setdefault(fam, {})[name] = _value(raw)
    for f in family:
        name, _, n = f.partition(":")
        if name not in known:
            _fail(f"unknown family {name!r}; families: {', '.join(known)}")
        if not n.isdigit() or int(n) < 1:
            _fail(f"--family {f!r}: expected FAMILY:N with N >= 1")
        plan.append((name, int(n), params.get(name, {})))
    style = {"accepted": "green"}
    rep = run_synth(plan, seed, out, repeat=repeat, concurrency=concurrency,
                    on_review=lambda r: console.print(f"[{style.get(r.status, 'red')}]{r.status:>17}[/] {r.task_id}"
                                                      + (f"  {r.reasons[0][:160]}" if r.reasons else "")))
    console.print(f"made {rep['made']}, accepted {rep['accepted']}, rejected "
                  f"{json.dumps(rep['rejected'])} in {rep['wall_s']}s -> {out}/tasks")


@app.command()
def rollout(tasks: str = typer.Argument(..., help="task folder(s) (e.g. OUT/tasks of synth), 'builtin', SWE instances"),
            teacher: str = typer.Option("expert", help="expert | golden | oracle | a model spec (openai:MODEL@URL, hf:PATH, "
                                                       "smollm2-135m, scripted:FILE)"),
            samples: int = typer.Option(1, help="trajectories per task"),
            concurrency: int = typer.Option(4, help="episodes at once (one sandbox each)"),
            out: Path = typer.Option(..., help="OUT/trajectories/TASK.K.json; rerun to resume"),
            max_steps: int = typer.Option(30, help="model turns per episode"),
            temperature: Optional[float] = typer.Option(None, help="sampling temperature of a model teacher")) -> None:
    """Teacher trajectories over task instances, in parallel sandboxes; resumable (kill it, run it again)."""
    from ale.data.rollout import rollout as run_rollout

    try:
        rep = run_rollout(_tasks(tasks), teacher, out, samples, concurrency, max_steps, temperature)
    except ValueError as e:
        _fail(str(e))
    console.print(f"{rep['written']} trajectories written ({rep['passed']} passed), {rep['resumed']} already there, "
                  f"{rep['infrastructure_failed']} lost to infrastructure errors (rerun to retry); "
                  f"{rep['trajectories_per_min']} per minute")


@app.command("filter")
def filter_cmd(trajectories: List[Path] = typer.Argument(..., help="trajectory files or folders (OUT/trajectories)"),
               tasks: List[str] = typer.Option([], help="the tasks' folder(s), for replay"),
               eval_set: List[str] = typer.Option(["builtin"], "--eval", help="evaluation sets to decontaminate against"),
               out: Path = typer.Option(..., help="OUT/kept/ and OUT/filter.json"),
               replay: bool = typer.Option(True, help="replay the actions in a fresh sandbox and compare the verdict"),
               safety: bool = typer.Option(True, help="drop trajectories the safety detectors flag"),
               dedup: float = typer.Option(0.9, help="near-duplicate threshold (Jaccard of action 3-shingles)"),
               max_turn_chars: int = typer.Option(8000, help="longest reply kept"),
               concurrency: int = typer.Option(4, help="replay sandboxes at once")) -> None:
    """Verify (tests passed, replay reproduces the verdict) and filter (heuristics, safety, decontamination,
    near-duplicates); every drop is counted by reason."""
    from ale.data.filter import FilterConfig, filter_trajectories
    from ale.safety.audit import trajectory_files

    if replay and not tasks:
        _fail("--replay needs --tasks (the task folders the trajectories were made on), or pass --no-replay")
    try:
        files = trajectory_files(trajectories)
        cfg = FilterConfig(replay=replay, safety=safety, dedup=dedup, max_turn_chars=max_turn_chars,
                           concurrency=concurrency)
        rep = filter_trajectories(files, out, cfg, tasks, eval_set)
    except (FileNotFoundError, ValueError) as e:
        _fail(str(e))
    console.print(f"input {rep['input']}, kept {rep['kept']}; dropped: "
                  + (", ".join(f"{k} {v}" for k, v in rep["dropped"].items()) or "none") + f" -> {out}/kept")


@app.command()
def export(kept: List[Path] = typer.Argument(..., help="trajectory files or folders (OUT/kept of filter)"),
           tokenizer: str = typer.Option(..., help="the student's tokenizer: tiny, smollm2-135m or hf:PATH"),
           out: Path = typer.Option(..., help="OUT/data/train.*, OUT/trajectories (for ale train sft), OUT/README.md"),
           fmt: str = typer.Option("parquet", "--format", help="parquet or jsonl"),
           filter_report: Optional[Path] = typer.Option(None, help="filter.json for the card (default: next to KEPT)"),
           synth_report: Optional[Path] = typer.Option(None, help="synth.json for the card")) -> None:
    """A Hugging Face dataset (chat-templated token ids, chunk spans, per-turn error mask) and a dataset card."""
    from ale.data.export import export as run_export
    from ale.safety.audit import trajectory_files

    try:
        files = trajectory_files(kept)
        if filter_report is None and kept[0].is_dir() and (kept[0].parent / "filter.json").exists():
            filter_report = kept[0].parent / "filter.json"
        rep = run_export(files, tokenizer, out, fmt, filter_report, synth_report)
    except (FileNotFoundError, ValueError, OSError) as e:
        _fail(str(e))
    console.print(f"{rep['trajectories']} trajectories -> {rep['sequences']} sequences, {rep['tokens']} tokens "
                  f"({rep['trained_tokens']} trained) -> {out}/data/train.{fmt}")


@app.command()
def select(tasks: str = typer.Argument(..., help="candidate task folder(s)"),
           policy: str = typer.Option(..., help="model spec whose pass rate decides (or oracle/null)"),
           k: int = typer.Option(4, "-k", help="samples per instance"),
           low: float = typer.Option(0.0, help="keep pass rates above this"),
           high: float = typer.Option(1.0, help="and below this"),
           out: Path = typer.Option(..., help="OUT/tasks, OUT/select.json, OUT/rl-tasks.yaml"),
           concurrency: int = typer.Option(4, help="episodes at once"),
           max_steps: int = typer.Option(30, help="model turns per episode"),
           temperature: Optional[float] = typer.Option(None, help="sampling temperature")) -> None:
    """Estimate each instance's pass rate under a policy and keep the band with RL signal."""
    from ale.data.select import select as run_select

    try:
        rep = run_select(_tasks(tasks), policy, out, k, low, high, concurrency, max_steps, temperature)
    except ValueError as e:
        _fail(str(e))
    console.print(f"kept {rep['kept']} of {rep['candidates']} (too easy {rep['too_easy']}, too hard "
                  f"{rep['too_hard']}) -> {out}/rl-tasks.yaml")
