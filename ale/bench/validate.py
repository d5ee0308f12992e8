"""`ale bench validate`: every task must build, pass with its reference solution, fail when nothing is
done, and give the same verdict every time.

Both checks go through the evaluator (oracle and null agents), `repeat` times each, so a task that
validates is a task the evaluator scores correctly. Verdicts: ok, broken (with the reasons), or
nondeterministic (the same agent got different rewards across repeats).
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Callable

from ale.bench.evaluate import EvalConfig, Evaluator
from ale.bench.task import Task, TaskError


@dataclass
class Verdict:
    task_id: str
    status: str  # ok | broken | nondeterministic
    reasons: list[str] = field(default_factory=list)
    oracle_passes: int = 0
    null_passes: int = 0
    repeat: int = 0
    wall_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def judge(task_id: str, oracle: list[dict[str, Any]], null: list[dict[str, Any]]) -> Verdict:
    """The verdict from the attempt records of both agents."""
    v = Verdict(task_id, "ok", oracle_passes=sum(a["passed"] for a in oracle),
                null_passes=sum(a["passed"] for a in null), repeat=len(oracle),
                wall_s=sum(a["wall_s"] for a in oracle + null))
    errors = [a for a in oracle + null if a["failure"] in ("task_error", "infrastructure_error")]
    if errors:
        v.status = "broken"
        v.reasons = sorted({a["error"] for a in errors})
        return v
    if v.oracle_passes == 0:
        v.status = "broken"
        a = oracle[0]
        v.reasons.append(f"reference solution fails: {a['n_tests_passed']}/{a['n_tests']} tests pass "
                         f"(agent ended: {a['end_reason']}); test output ends:\n{a.get('test_output_tail', '')[-800:]}")
    elif v.oracle_passes < len(oracle):
        v.status = "nondeterministic"
        a = next(a for a in oracle if not a["passed"])
        v.reasons.append(f"reference solution passed {v.oracle_passes} of {len(oracle)} runs; a failing run: "
                         f"{a['n_tests_passed']}/{a['n_tests']} tests pass; test output ends:\n"
                         f"{(a.get('test_output_tail') or '')[-800:]}")
    if v.null_passes == len(null):
        v.status = "broken"
        v.reasons.append("tests pass with no work done (the empty agent passes)")
    elif v.null_passes:
        v.status = "broken" if v.status == "broken" else "nondeterministic"
        v.reasons.append(f"the empty agent passed {v.null_passes} of {len(null)} runs")
    return v


def validate(tasks: list[Task], load_errors: list[TaskError] | None = None, repeat: int = 3, concurrency: int = 4,
             on_verdict: Callable[[Verdict], None] | None = None) -> list[Verdict]:
    """Verdicts for the tasks (and `broken` ones for folders that did not load), in input order."""
    if repeat < 1:
        raise ValueError("repeat must be at least 1")
    verdicts = [Verdict(str(e.path.name if e.path else "?"), "broken", [str(e)]) for e in load_errors or []]
    for v in verdicts:
        if on_verdict:
            on_verdict(v)
    if tasks:
        verdicts += asyncio.run(_validate(tasks, repeat, concurrency, on_verdict))
    return verdicts


async def _validate(tasks: list[Task], repeat: int, concurrency: int, on_verdict) -> list[Verdict]:
    # infrastructure retries stay on: a flaky sandbox must not make a good task look broken
    cfg = EvalConfig(agent="oracle", attempts=repeat, concurrency=concurrency)
    sem = asyncio.Semaphore(concurrency)
    async with Evaluator(cfg) as ev:
        async def one(task: Task, agent: str, k: int) -> dict[str, Any]:
            async with sem:
                return await ev.attempt(task, agent, k)

        async def check(task: Task) -> Verdict:
            runs = await asyncio.gather(*(one(task, a, k) for a in ("oracle", "null") for k in range(repeat)))
            v = judge(task.id, list(runs[:repeat]), list(runs[repeat:]))
            if on_verdict:
                on_verdict(v)
            return v

        return list(await asyncio.gather(*(check(t) for t in tasks)))
