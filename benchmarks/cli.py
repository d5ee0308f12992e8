"""Speed of the `ale` command itself: prints one JSON object. Run as root from the repository root:
`.venv/bin/python benchmarks/cli.py [--n 20]`.

Side by side in one run, interleaved so that load from other work hits all alike: `ale --help`,
`ale sandbox run -- true` end to end (Python start-up, imports, sandbox create, exec, delete), a bare
`python -c pass` (the interpreter's floor) and raw `bwrap ... true` on the base image's rootfs (the
isolation floor). Wall-clock medians and p90 in ms, and the median CPU time (user + sys of the command and
the processes it waited for) in ms: on a loaded machine the wall clock mostly measures the queue for the
cores, the CPU time is closer to what a quiet machine's wall clock would be. The machine is shared and
noisy: say so with the figures.
`--baseline DIR` (another checkout, e.g. `git archive main | tar -x -C DIR`) times its `ale` commands in
the same interleaved loop, for a paired before/after.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def base_rootfs() -> str:
    from ale.sandbox.images import ImageStore
    from ale.sandbox.manager import DEFAULT_HOME

    store = ImageStore(DEFAULT_HOME)
    return str(store.layer_paths(store.get("base"))[0])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20, help="runs of each command")
    ap.add_argument("--baseline", type=Path, help="another checkout whose ale commands to time alongside")
    args = ap.parse_args()
    ale = [sys.executable, "-m", "ale.cli"]
    commands = {  # name -> (argv, checkout)
        "python_floor": ([sys.executable, "-c", "pass"], ROOT),
        "ale_help": ([*ale, "--help"], ROOT),
        "ale_sandbox_run_true": ([*ale, "sandbox", "run", "--", "true"], ROOT),
        "bwrap_true": (["bwrap", "--unshare-all", "--unshare-user", "--uid", "0", "--gid", "0", "--cap-drop", "ALL",
                        "--die-with-parent", "--new-session", "--ro-bind", base_rootfs(), "/", "--proc", "/proc",
                        "--dev", "/dev", "true"], ROOT),
    }
    if args.baseline:
        commands["baseline_ale_help"] = ([*ale, "--help"], args.baseline.resolve())
        commands["baseline_ale_sandbox_run_true"] = ([*ale, "sandbox", "run", "--", "true"], args.baseline.resolve())
    times: dict[str, list[float]] = {k: [] for k in commands}
    cpu: dict[str, list[float]] = {k: [] for k in commands}
    load = [os.getloadavg()[0]]
    for _ in range(args.n):
        for name, (argv, checkout) in commands.items():
            env = {**os.environ, "PYTHONPATH": str(checkout)}
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t = time.perf_counter()
            subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=env, cwd=checkout)
            times[name].append((time.perf_counter() - t) * 1000)
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu[name].append((r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime) * 1000)
    load.append(os.getloadavg()[0])
    out = {"machine": {"cpus": os.cpu_count(), "kernel": platform.release(), "python": platform.python_version(),
                       "loadavg_1m_start_end": load, "nice": os.nice(0)}, "n": args.n}
    for name, xs in times.items():
        xs.sort()
        out[name] = {"median_ms": round(statistics.median(xs), 1), "p90_ms": round(xs[int(0.9 * (len(xs) - 1))], 1),
                     "cpu_median_ms": round(statistics.median(cpu[name]), 1)}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
