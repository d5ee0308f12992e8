"""A full run of the data pipeline, timed per stage (JSON on stdout).

    python benchmarks/data.py [--out runs/bench-data] [--families column-sum:8,...] [--samples 2] [--concurrency 4]

synth (with review) -> rollout (scripted expert) -> filter (with replay) -> export (tiny tokenizer).
Counts: instances made / accepted / rejected by reason, trajectories written, kept per filter reason,
sequences and tokens exported; rates: trajectories per minute of the rollout and of the replay.
"""
from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

FAMILIES = "column-sum:8,log-count:6,permissions:6,pyfunc:6,workflow:8,write-word:4,mutation:4"


def main() -> None:
    from ale.bench.task import load_tasks
    from ale.data.export import export
    from ale.data.filter import FilterConfig, filter_trajectories
    from ale.data.rollout import rollout
    from ale.data.synth import synth

    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="runs/bench-data")
    ap.add_argument("--families", default=FAMILIES)
    ap.add_argument("--samples", type=int, default=2)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    out = Path(a.out)
    shutil.rmtree(out, ignore_errors=True)
    plan = [(f, int(n), {}) for f, n in (x.split(":") for x in a.families.split(","))]
    res: dict = {"families": a.families, "samples": a.samples, "concurrency": a.concurrency}
    t = time.time()
    s = synth(plan, a.seed, out / "synth", repeat=2, concurrency=a.concurrency)
    res["synth"] = {k: s[k] for k in ("made", "accepted", "rejected", "by_family")} | {"wall_s": round(time.time() - t, 1)}
    tasks = load_tasks(str(out / "synth" / "tasks"))
    t = time.time()
    r = rollout(tasks, "expert", out / "rollout", samples=a.samples, concurrency=a.concurrency, progress=False)
    res["rollout"] = {k: r[k] for k in ("written", "passed", "infrastructure_failed", "trajectories_per_min")} | \
        {"wall_s": round(time.time() - t, 1)}
    t = time.time()
    files = sorted((out / "rollout" / "trajectories").glob("*.json"))
    f = filter_trajectories(files, out / "filter", FilterConfig(concurrency=a.concurrency),
                            tasks_dir=[str(out / "synth" / "tasks")], eval_specs=["builtin"], progress=False)
    wall = time.time() - t
    replayed = f["input"] - sum(v for k, v in f["dropped"].items() if k not in ("replay_mismatch",)) 
    res["filter"] = {"input": f["input"], "kept": f["kept"], "dropped": f["dropped"], "wall_s": round(wall, 1),
                     "replayed": replayed, "replays_per_min": round(60 * replayed / wall, 1) if wall else None}
    t = time.time()
    e = export(sorted((out / "filter" / "kept").glob("*.json")), "tiny", out / "export",
               filter_report=out / "filter" / "filter.json", synth_report=out / "synth" / "synth.json")
    res["export"] = {k: e[k] for k in ("trajectories", "sequences", "tokens", "trained_tokens", "by_domain")} | \
        {"wall_s": round(time.time() - t, 1)}
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
