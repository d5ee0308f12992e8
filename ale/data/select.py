"""`ale data select`: keep the instances where RL has signal, as a task list `ale train rl` takes.

The report narrowed ~60K RL candidates to ~2K "of moderate difficulty" by the pass rates of baseline
models. Here: each instance's pass rate under a policy is estimated from k samples (the evaluator,
real sandboxes, Avg@k), and instances with `low < rate < high` are kept (default 0 < rate < 1: a
group of samples that all pass or all fail gives a group-normalised policy gradient nothing).

Output under OUT: `tasks/` (copies of the kept task folders), `select.json` (rate per instance,
kept or why not), and `rl-tasks.yaml`, a config fragment (`rollout.tasks`, `rollout.task_filter`)
to merge into an RL config or pass as overrides:
`ale train rl CONFIG rollout.tasks=OUT/tasks`.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import yaml

from ale.bench.task import Task


def band(rates: dict[str, float], low: float, high: float) -> list[str]:
    return [t for t, r in rates.items() if low < r < high]


def select(tasks: list[Task], policy: str, out: Path, k: int = 4, low: float = 0.0, high: float = 1.0,
           concurrency: int = 4, max_steps: int = 30, temperature: float | None = None,
           progress: bool = True) -> dict[str, Any]:
    from ale.bench.evaluate import EvalConfig, run_eval

    if not 0.0 <= low < high <= 1.0:
        raise ValueError("need 0 <= low < high <= 1")
    out.mkdir(parents=True, exist_ok=True)
    res = run_eval(tasks, EvalConfig(agent=policy, attempts=k, concurrency=concurrency, max_steps=max_steps,
                                     temperature=temperature), out=out / "passrate.json", progress=progress)
    scored = {r["task_id"]: r["reward"] for r in res["tasks"] if r["failure"] != "infrastructure_error"}
    keep = band(scored, low, high)
    dest = out / "tasks"
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir()
    by_id = {t.id: t for t in tasks}
    for tid in keep:
        shutil.copytree(by_id[tid].path, dest / tid)
    why = {t.id: ("kept" if t.id in keep else "infrastructure_error" if t.id not in scored else
                  "too_hard" if scored[t.id] <= low else "too_easy") for t in tasks}
    report = {"policy": policy, "k": k, "band": [low, high], "candidates": len(tasks), "kept": len(keep),
              "too_easy": sum(v == "too_easy" for v in why.values()), "too_hard": sum(v == "too_hard" for v in why.values()),
              "infrastructure_error": sum(v == "infrastructure_error" for v in why.values()),
              "instances": [{"task_id": t.id, "pass_rate": scored.get(t.id), "status": why[t.id]} for t in tasks]}
    (out / "select.json").write_text(json.dumps(report, indent=1))
    (out / "rl-tasks.yaml").write_text(
        f"# `ale data select --policy {policy} -k {k}`: {len(keep)} of {len(tasks)} instances with pass rate in "
        f"({low}, {high})\n" + yaml.safe_dump({"rollout": {"tasks": str(dest.resolve()), "task_filter": sorted(keep)}},
                                              sort_keys=False))
    return report


__all__ = ["band", "select"]
