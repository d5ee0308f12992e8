"""Speed of the `ale` command itself: prints one JSON object. Run as root from the repository root:
`.venv/bin/python benchmarks/cli.py [--n 30] [--baseline DIR]`.

Side by side in one run, interleaved so that load from other work hits all alike: `ale --help` and
`ale sandbox run -- true` end to end through the installed console script (Python start-up, imports,
sandbox create, exec, delete), the interpreter's floors (`python -c pass` with the virtualenv's site
packages, `python -S -c pass` without them) and raw `bwrap ... true` on the base image's rootfs (the
isolation floor). Per command: wall-clock p50 and p99 in ms, and the median CPU time (user + sys of the
command and the processes it waited for): on a loaded machine the wall clock mostly measures the queue
for the cores, the CPU time is closer to what a quiet machine's wall clock would be.
`--baseline DIR` (another checkout, e.g. `git archive main | tar -x -C DIR`) times its `ale` commands in
the same interleaved loop, for a paired before/after.

Byte-code: ALE's modules are compiled first (`compileall`) and PYTHONDONTWRITEBYTECODE is dropped
from the commands' environment; otherwise, where it is set (these sessions' shells set it), every run
would compile ALE from source (~125 ms) and measure that instead of what a user's install runs.
"""
from __future__ import annotations

import argparse
import compileall
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


def percentile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=30, help="runs of each command")
    ap.add_argument("--baseline", type=Path, help="another checkout whose ale commands to time alongside")
    args = ap.parse_args()
    ale = str(Path(sys.executable).parent / "ale")  # the console script (`from ale.cli import main`)
    commands = {  # name -> (argv, checkout)
        "python_floor": ([sys.executable, "-c", "pass"], ROOT),
        "python_no_site": ([sys.executable, "-S", "-c", "pass"], ROOT),
        "ale_help": ([ale, "--help"], ROOT),
        "ale_sandbox_run_true": ([ale, "sandbox", "run", "--", "true"], ROOT),
        "bwrap_true": (["bwrap", "--unshare-all", "--unshare-user", "--uid", "0", "--gid", "0", "--cap-drop", "ALL",
                        "--die-with-parent", "--new-session", "--ro-bind", base_rootfs(), "/", "--proc", "/proc",
                        "--dev", "/dev", "true"], ROOT),
    }
    if args.baseline:
        commands["baseline_ale_help"] = ([ale, "--help"], args.baseline.resolve())
        commands["baseline_ale_sandbox_run_true"] = ([ale, "sandbox", "run", "--", "true"], args.baseline.resolve())
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    for checkout in {c for _, c in commands.values()}:
        compileall.compile_dir(checkout / "ale", quiet=1)
    times: dict[str, list[float]] = {k: [] for k in commands}
    cpu: dict[str, list[float]] = {k: [] for k in commands}
    load = [os.getloadavg()[0]]
    for _ in range(args.n):
        for name, (argv, checkout) in commands.items():
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t = time.perf_counter()
            subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env={**env, "PYTHONPATH": str(checkout)},
                           cwd=checkout)
            times[name].append((time.perf_counter() - t) * 1000)
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu[name].append((r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime) * 1000)
    load.append(os.getloadavg()[0])
    out = {"machine": {"cpus": os.cpu_count(), "kernel": platform.release(), "python": platform.python_version(),
                       "loadavg_1m_start_end": load, "nice": os.nice(0)}, "n": args.n}
    for name, xs in times.items():
        out[name] = {"p50_ms": round(statistics.median(xs), 1), "p99_ms": round(percentile(xs, 0.99), 1),
                     "min_ms": round(min(xs), 1), "cpu_median_ms": round(statistics.median(cpu[name]), 1)}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
