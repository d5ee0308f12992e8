"""`ale data rollout`: a teacher makes trajectories over task instances, many sandboxes at once, resumable.

Teachers: `expert` (a scripted solver: looks at the working folder, writes the task's reference
solution, runs it, checks the result, finishes: a multi-turn episode built from the solution),
`golden` (for red-team tasks of `ale safety inject`: declines the injected instruction, then solves),
`oracle` (the evaluator's three-step reference run), or any model spec of `ale.agent.load_model`
(`openai:MODEL@URL` for a strong teacher, `hf:PATH`, `smollm2-135m`, `scripted:FILE`). Episodes run
through the evaluator (`ale.bench.evaluate.Evaluator`: real sandboxes, graded by the task's tests,
infrastructure errors retried and never written as trajectories).

Resume: sample k of task T is the file OUT/trajectories/T.k.json, written to a temporary name and
renamed into place only when complete, so after a kill -9 a rerun finds exactly the finished
samples (none half-written, none twice) and runs the rest. Each file carries `config.data`:
{task_id, sample, teacher, domain, difficulty, source}.
"""
from __future__ import annotations

import asyncio
import json
import os
import shutil
import time
from collections import Counter
from pathlib import Path
from typing import Any

from ale.bench.evaluate import ORACLE_PATH, EvalConfig, Evaluator
from ale.bench.task import Task


def expert_model(task: Task):
    """A scripted expert: explore, write the reference solution, run it, look at the result, finish."""
    from ale.agent.models import ScriptedModel

    def call(text: str, name: str, **args: Any) -> dict[str, Any]:
        return {"content": text, "tool_calls": [{"function": {"name": name, "arguments": json.dumps(args)}}]}

    return ScriptedModel([
        call("Let me look at the working folder first.", "bash", command="pwd && ls -la"),
        call("I will write a script that solves the task.", "write_file", path=ORACLE_PATH,
             content=task.solution.read_text()),
        call("Now run it.", "bash", command=f"bash {ORACLE_PATH}"),
        call("Check what changed.", "bash", command="ls -la"),
        call(None, "finish", summary="Wrote and ran a script that solves the task; the working folder shows the result."),
    ], name="expert")


class TeacherEvaluator(Evaluator):
    """The evaluator with two more scripted agents, `expert` and `golden` (ale.safety.redteam)."""

    def _model_for(self, task: Task, agent: str):
        if agent == "golden":  # red-team tasks: decline the injected instruction, solve the task
            from ale.safety.redteam import golden_model

            return golden_model(task)
        return expert_model(task) if agent == "expert" else super()._model_for(task, agent)


def _atomic_json(path: Path, obj: Any) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def done_samples(out: Path) -> set[tuple[str, int]]:
    found = set()
    for f in (out / "trajectories").glob("*.json"):
        stem, _, k = f.stem.rpartition(".")
        if k.isdigit():
            found.add((stem, int(k)))
    return found


def rollout(tasks: list[Task], teacher: str, out: Path, samples: int = 1, concurrency: int = 4, max_steps: int = 30,
            temperature: float | None = None, progress: bool = True) -> dict[str, Any]:
    """Run the missing (task, sample) episodes; returns and writes OUT/rollout.json (counts, timing)."""
    if samples < 1 or concurrency < 1:
        raise ValueError("samples and concurrency must be at least 1")
    if teacher in ("expert", "oracle", "golden"):
        missing = [t.id for t in tasks if t.solution is None]
        if missing:
            raise ValueError(f"the {teacher} teacher needs reference solutions; none for: {', '.join(missing[:5])}")
    (out / "trajectories").mkdir(parents=True, exist_ok=True)
    have = done_samples(out)
    todo = [(t, k) for t in tasks for k in range(samples) if (t.id, k) not in have]
    model = None
    if todo and teacher not in ("expert", "oracle", "golden", "null") and not teacher.startswith("scripted:"):
        from ale.agent.models import load_model

        model = load_model(teacher, **({} if temperature is None else {"temperature": temperature}))
    t0 = time.time()
    stats = asyncio.run(_run(todo, teacher, out, concurrency, max_steps, temperature, model, progress, len(have)))
    wall = time.time() - t0
    report = {"teacher": teacher, "tasks": len(tasks), "samples": samples, "resumed": len(have),
              "ran": len(todo), "written": stats["written"], "passed": stats["passed"],
              "infrastructure_failed": stats["infra"], "failures": dict(stats["failures"]), "wall_s": round(wall, 1),
              "trajectories_per_min": round(60 * stats["written"] / wall, 1) if wall > 0 and todo else None}
    _atomic_json(out / "rollout.json", report)
    return report


async def _run(todo: list[tuple[Task, int]], teacher: str, out: Path, concurrency: int, max_steps: int,
               temperature: float | None, model: Any, progress: bool, n_done: int) -> dict[str, Any]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    cfg = EvalConfig(agent=teacher, attempts=1, concurrency=concurrency, max_steps=max_steps, temperature=temperature)
    staging = out / ".staging"
    staging.mkdir(exist_ok=True)
    stats: dict[str, Any] = {"written": 0, "passed": 0, "infra": 0, "failures": Counter()}
    sem = asyncio.Semaphore(concurrency)
    bar = Progress(TextColumn("[bold]rollout {task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), TimeRemainingColumn(), TextColumn("{task.fields[status]}"),
                   disable=not progress)
    async with TeacherEvaluator(cfg, traj_dir=staging, model=model) as ev:
        with bar:
            pid = bar.add_task(teacher, total=len(todo) + n_done, completed=n_done,
                               status=f"resumed {n_done}" if n_done else "")

            async def one(task: Task, k: int) -> None:
                async with sem:
                    rec = await ev.attempt(task, teacher, k)
                if rec["failure"] == "infrastructure_error" or not rec["trajectory"]:
                    stats["infra"] += 1  # not written: a rerun tries it again
                else:
                    d = json.loads(Path(rec["trajectory"]).read_text())
                    d["config"]["data"] = {"task_id": task.id, "sample": k, "teacher": teacher, "domain": task.domain,
                                           "difficulty": task.difficulty, "source": _source(task),
                                           "failure": rec["failure"]}
                    _atomic_json(out / "trajectories" / f"{task.id}.{k}.json", d)
                    Path(rec["trajectory"]).unlink(missing_ok=True)
                    stats["written"] += 1
                    stats["passed"] += bool(rec["passed"])
                    if rec["failure"]:
                        stats["failures"][rec["failure"]] += 1
                bar.update(pid, advance=1, status=f"passed {stats['passed']}/{stats['written']}")

            await asyncio.gather(*(one(t, k) for t, k in todo))
    shutil.rmtree(staging, ignore_errors=True)
    return stats


def _source(task: Task) -> str:
    gen = task.meta.get("generator")
    return f"generator:{gen.get('family')}" if isinstance(gen, dict) else "task-folder"


__all__ = ["TeacherEvaluator", "done_samples", "expert_model", "rollout"]
