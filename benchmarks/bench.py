"""Evaluator benchmark: wall time of an oracle run of a task suite at several concurrencies (JSON).

    .venv/bin/python benchmarks/bench.py [--tasks builtin] [--concurrency 1,4,16] [--limit N] [--out FILE]

Task images are built first (not timed; cached across runs), so the figures are
episodes (sandbox create, harness, reference solution, grading, delete) and not image builds. The
machine's cores bound the speed-up: the suite's solutions are mostly CPU-bound.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import tempfile
import time
from pathlib import Path

from ale.bench.evaluate import EvalConfig, Evaluator, run_eval
from ale.bench.task import load_tasks


async def build_images(tasks) -> list[str]:
    """Build every image (one at a time: builds are CPU-bound); returns the tasks whose build failed."""
    failed = []
    async with Evaluator(EvalConfig()) as ev:
        for t in tasks:
            try:
                await ev.image(t)
            except Exception:  # the timed runs report these tasks as task_error
                failed.append(t.id)
    return failed


def main() -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tasks", default="builtin")
    ap.add_argument("--concurrency", default="1,4,16")
    ap.add_argument("--limit", type=int, default=0, help="only the first N tasks (0: all)")
    ap.add_argument("--out", type=Path, help="also write the JSON here")
    a = ap.parse_args()
    tasks = load_tasks(a.tasks)[: a.limit or None]
    levels = [int(c) for c in a.concurrency.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.time()
        build_failed = asyncio.run(build_images(tasks))
        warm_s = time.time() - t0
        runs = []
        for c in levels:
            t0 = time.time()
            r = run_eval(tasks, EvalConfig(agent="oracle", concurrency=c), out=Path(tmp) / f"c{c}.json", progress=False)
            wall = time.time() - t0
            per_task = sorted(t["wall_s"] for t in r["tasks"])
            runs.append({"concurrency": c, "wall_s": round(wall, 2), "tasks_per_min": round(60 * len(tasks) / wall, 2),
                         "pass_rate": r["summary"]["pass_rate"], "n_passed": r["summary"]["n_passed"],
                         "infrastructure_errors": r["summary"]["n_infrastructure_errors"],
                         "task_wall_p50_s": round(per_task[len(per_task) // 2], 2), "task_wall_max_s": round(per_task[-1], 2),
                         "failed": [t["task_id"] for t in r["tasks"] if not t["passed"]]})
    res = {"benchmark": "bench oracle run", "tasks": a.tasks, "n_tasks": len(tasks), "cpus": os.cpu_count(),
           "machine": platform.machine(), "image_builds_s": round(warm_s, 2),
           "image_build_failed": build_failed, "runs": runs}
    text = json.dumps(res, indent=1)
    print(text)
    if a.out:
        a.out.write_text(text + "\n")
    return res


if __name__ == "__main__":
    main()
