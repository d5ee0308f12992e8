"""`ale data filter`: verify and filter teacher trajectories; every drop is counted by its reason.

Stages, cheapest first (a trajectory is dropped by the first that rejects it):

1. `not_passed`: the task's tests did not all pass (reward != 1).
2. Heuristics of the report's "loop / redundancy" checks: `truncated` (the episode did not end with
   finish: step limit, timeout, context limit, guard stop, error), `loop` (the harness ended it for
   looping, or the same action ran `loop_repeats` times in a row), `redundant` (an action repeated
   with the same observation as an earlier one, more than `max_redundant` times), `repeated_failures`
   (`max_failures_in_row` failing tool calls or malformed replies in a row), `overlong_turn` (a reply
   longer than `max_turn_chars`).
3. `unsafe`: the safety detectors (ale.safety.detect) found a behaviour.
4. `contaminated`: the task text overlaps an evaluation task (the built-in suite and any `--eval`
   task folders): a shared word 8-gram fraction >= `contamination`, or the same reference solution.
5. `near_duplicate`: the action sequence is a near copy (Jaccard of action 3-shingles >= `dedup`)
   of one already kept for the same task.
6. `replay_mismatch`: the trajectory's actions, replayed by a scripted model through the harness in a
   fresh sandbox of the task and graded, do not give the same reward (environment or grader
   nondeterminism, or a result that depended on something not in the actions). Needs the tasks.

Kept files are copied to OUT/kept/; OUT/filter.json has the counts and a reason per file.
"""
from __future__ import annotations

import asyncio
import json
import re
import shutil
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REASONS = ("unreadable", "not_passed", "truncated", "loop", "redundant", "repeated_failures", "overlong_turn", "unsafe",
           "contaminated", "near_duplicate", "replay_mismatch", "task_missing")


@dataclass
class FilterConfig:
    loop_repeats: int = 3
    max_redundant: int = 1
    max_failures_in_row: int = 3
    max_turn_chars: int = 8000
    contamination: float = 0.5
    dedup: float = 0.9
    replay: bool = True
    safety: bool = True
    concurrency: int = 4


def action_keys(traj: dict[str, Any]) -> list[str]:
    return [json.dumps(st["action"]["tool"]) + json.dumps(st["action"].get("arguments"), sort_keys=True)
            if st.get("action") else "<format_error>" for st in traj.get("steps", [])]


def heuristic_reason(traj: dict[str, Any], cfg: FilterConfig) -> str | None:
    steps = traj.get("steps", [])
    if traj.get("end_reason") == "loop":
        return "loop"
    if traj.get("end_reason") != "finished":
        return "truncated"
    keys = action_keys(traj)
    run = 1
    for a, b in zip(keys, keys[1:]):
        run = run + 1 if a == b else 1
        if run >= cfg.loop_repeats:
            return "loop"
    seen, repeats = set(), 0
    for k, st in zip(keys, steps):
        pair = (k, st.get("observation"))
        repeats += pair in seen
        seen.add(pair)
    if repeats > cfg.max_redundant:
        return "redundant"
    fails = 0
    for st in steps:
        fails = fails + 1 if st.get("error") or st.get("format_error") else 0
        if fails >= cfg.max_failures_in_row:
            return "repeated_failures"
    for m in traj.get("messages", []):
        if m.get("role") == "assistant":
            size = len(m.get("content") or "") + sum(len(tc.get("function", {}).get("arguments") or "")
                                                     for tc in m.get("tool_calls") or [])
            if size > cfg.max_turn_chars:
                return "overlong_turn"
    return None


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9_./-]+", text.lower())


def ngrams(text: str, n: int = 8) -> set[tuple[str, ...]]:
    w = _words(text)
    return {tuple(w[i:i + n]) for i in range(max(1, len(w) - n + 1))}


class Decontaminator:
    """Word 8-grams of every evaluation task's instruction, and the hashes of their solutions."""

    def __init__(self, eval_specs: list[str], threshold: float = 0.5):
        from ale.bench.task import load_tasks

        self.threshold = threshold
        self.grams: set[tuple[str, ...]] = set()
        self.solutions: set[str] = set()
        self.n_tasks = 0
        for spec in eval_specs:
            for t in load_tasks(spec):
                self.n_tasks += 1
                self.grams |= ngrams(t.instruction)
                if t.solution:
                    self.solutions.add(" ".join(t.solution.read_text().split()))

    def overlap(self, instruction: str) -> float:
        g = ngrams(instruction)
        return len(g & self.grams) / len(g) if g else 0.0

    def contaminated(self, instruction: str, solution: str | None = None) -> bool:
        if solution and " ".join(solution.split()) in self.solutions:
            return True
        return self.overlap(instruction) >= self.threshold


def shingles(keys: list[str], n: int = 3) -> set[tuple[str, ...]]:
    return {tuple(keys[i:i + n]) for i in range(max(1, len(keys) - n + 1))}


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a | b else 1.0


def filter_trajectories(files: list[Path], out: Path, cfg: FilterConfig | None = None, tasks_dir: list[str] | None = None,
                        eval_specs: list[str] | None = None, progress: bool = True) -> dict[str, Any]:
    """Filter; copies the kept files to OUT/kept/ and writes OUT/filter.json."""
    from ale.bench.task import load_tasks

    cfg = cfg or FilterConfig()
    t0 = time.time()
    tasks = {t.id: t for spec in tasks_dir or [] for t in load_tasks(spec)}
    decon = Decontaminator(eval_specs if eval_specs is not None else ["builtin"], cfg.contamination)
    reasons: dict[str, str] = {}
    kept_by_task: dict[str, list[set]] = {}
    survivors: list[tuple[Path, dict[str, Any]]] = []
    for f in files:
        try:
            d = json.loads(f.read_text())
            if not isinstance(d, dict) or "steps" not in d:
                raise ValueError
        except (ValueError, OSError):
            reasons[f.name] = "unreadable"
            continue
        meta = (d.get("config") or {}).get("data") or {}
        task = tasks.get(meta.get("task_id"))
        reason = None
        if d.get("reward") != 1.0:
            reason = "not_passed"
        reason = reason or heuristic_reason(d, cfg)
        if reason is None and cfg.safety:
            from ale.safety import detect

            if detect(d):
                reason = "unsafe"
        if reason is None and decon.contaminated(d.get("task", ""), task.solution.read_text() if task and task.solution else None):
            reason = "contaminated"
        if reason is None:
            sh = shingles(action_keys(d))
            group = kept_by_task.setdefault(meta.get("task_id") or d.get("task", ""), [])
            if any(jaccard(sh, other) >= cfg.dedup for other in group):
                reason = "near_duplicate"
            else:
                group.append(sh)
        if reason is None and cfg.replay and task is None:
            reason = "task_missing"
        if reason:
            reasons[f.name] = reason
        else:
            survivors.append((f, d))
    if cfg.replay and survivors:
        replayed = asyncio.run(_replay(survivors, tasks, cfg.concurrency, progress))
        for (f, d), reward in zip(survivors, replayed):
            if reward != d.get("reward"):
                reasons[f.name] = "replay_mismatch"
    kept_dir = out / "kept"
    shutil.rmtree(kept_dir, ignore_errors=True)
    kept_dir.mkdir(parents=True)
    kept = [f for f, _ in survivors if f.name not in reasons]
    for f in kept:
        shutil.copy2(f, kept_dir / f.name)
        reasons[f.name] = "kept"
    counts = Counter(reasons.values())
    report = {"input": len(files), "kept": len(kept), "dropped": {r: counts[r] for r in REASONS if counts[r]},
              "eval_tasks_checked": decon.n_tasks, "config": dict(cfg.__dict__), "wall_s": round(time.time() - t0, 1),
              "files": dict(sorted(reasons.items()))}
    (out / "filter.json").write_text(json.dumps(report, indent=1))
    return report


def replay_script(traj: dict[str, Any]) -> list[dict[str, Any]]:
    """The trajectory's assistant messages as a scripted model's replies (tool calls kept verbatim)."""
    out = []
    for m in traj.get("messages", []):
        if m.get("role") == "assistant":
            out.append({k: m[k] for k in ("content", "tool_calls") if m.get(k) is not None} or {"content": ""})
    return out


async def _replay(items: list[tuple[Path, dict[str, Any]]], tasks: dict[str, Any], concurrency: int,
                  progress: bool) -> list[float | None]:
    from ale.bench.evaluate import EvalConfig, Evaluator

    sem = asyncio.Semaphore(concurrency)
    with tempfile.TemporaryDirectory(prefix="ale-replay-") as tmp:
        async with Evaluator(EvalConfig(agent="replay", concurrency=concurrency)) as ev:
            async def one(i: int, f: Path, d: dict[str, Any]) -> float | None:
                script = Path(tmp) / f"{i}.jsonl"
                script.write_text("\n".join(json.dumps(r) for r in replay_script(d)) + "\n")
                async with sem:
                    rec = await ev.attempt(tasks[d["config"]["data"]["task_id"]], f"scripted:{script}", 0)
                return None if rec["failure"] == "infrastructure_error" else rec["reward"]

            return list(await asyncio.gather(*(one(i, f, d) for i, (f, d) in enumerate(items))))


__all__ = ["Decontaminator", "FilterConfig", "REASONS", "action_keys", "filter_trajectories", "heuristic_reason",
           "replay_script"]
