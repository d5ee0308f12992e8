"""Speed of the `ale` command itself: prints one JSON object. Run as root from the repository root:
`.venv/bin/python benchmarks/cli.py [--n 30] [--baseline DIR]`.

Side by side in one run, interleaved so that load from other work hits all alike: `ale --help` and
`ale sandbox run -- true` end to end through the installed console script (Python start-up, imports,
sandbox create, exec, delete), the interpreter's floors (`python -c pass` with the virtualenv's site
packages, `python -S -c pass` without them) and raw `bwrap ... true` on the base image's rootfs (the
isolation floor). Per command: wall-clock p50 and p99 in ms, and the median CPU time (user + sys of the
command and the processes it waited for): on a loaded machine the wall clock mostly measures the queue
for the cores, the CPU time is closer to what a quiet machine's wall clock would be.
`ale sandbox run --url URL -- true` is the same run through a service (`ale sandbox serve`, started here
on loopback for the run and stopped after; the thin client, ale/sandbox/thin.py): its CPU time is the
client's only; the service's per run (its mean over the run, from /proc: the service and the children it
reaped) is printed beside it as service_cpu_mean_ms.
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
import secrets
import signal
import socket
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


def start_service(env: dict) -> tuple[subprocess.Popen, str]:
    """`ale sandbox serve` on a free loopback port, once it answers /health."""
    with socket.create_server(("127.0.0.1", 0)) as s:
        port = s.getsockname()[1]
    p = subprocess.Popen([sys.executable, "-m", "ale.cli", "sandbox", "serve", "--port", str(port)], env=env, cwd=ROOT,
                         stdout=subprocess.DEVNULL)
    for _ in range(300):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as c:
                c.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if c.recv(64).startswith(b"HTTP/1.1 200"):
                    return p, f"http://127.0.0.1:{port}"
        except OSError:
            pass
        time.sleep(0.1)
    p.kill()
    raise SystemExit("the sandbox service did not start")


def cpu_ticks(pid: int) -> int:
    """utime + stime of a running process and of the children it has reaped, in clock ticks."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15])


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
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONDONTWRITEBYTECODE", "ALE_SANDBOX_URL", "ALE_SANDBOX_TOKEN")}
    env["ALE_SANDBOX_TOKEN"] = secrets.token_urlsafe(16)  # the service's, and what the thin client sends
    for checkout in {ROOT, *([args.baseline.resolve()] if args.baseline else [])}:
        compileall.compile_dir(checkout / "ale", quiet=1)
    service, url = start_service({**env, "PYTHONPATH": str(ROOT)})
    commands["ale_sandbox_run_true_service"] = ([ale, "sandbox", "run", "--url", url, "--", "true"], ROOT)
    if args.baseline:
        commands["baseline_ale_help"] = ([ale, "--help"], args.baseline.resolve())
        commands["baseline_ale_sandbox_run_true"] = ([ale, "sandbox", "run", "--", "true"], args.baseline.resolve())
    times: dict[str, list[float]] = {k: [] for k in commands}
    cpu: dict[str, list[float]] = {k: [] for k in commands}
    service_ticks = 0
    load = [os.getloadavg()[0]]
    try:
        for _ in range(args.n):
            for name, (argv, checkout) in commands.items():
                s0 = cpu_ticks(service.pid)
                r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
                t = time.perf_counter()
                subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env={**env, "PYTHONPATH": str(checkout)},
                               cwd=checkout)
                times[name].append((time.perf_counter() - t) * 1000)
                r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu[name].append((r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime) * 1000)
                if name == "ale_sandbox_run_true_service":
                    service_ticks += cpu_ticks(service.pid) - s0
        load.append(os.getloadavg()[0])
    finally:
        service.send_signal(signal.SIGINT)
        service.wait(30)
    out = {"machine": {"cpus": os.cpu_count(), "kernel": platform.release(), "python": platform.python_version(),
                       "loadavg_1m_start_end": load, "nice": os.nice(0)}, "n": args.n}
    for name, xs in times.items():
        out[name] = {"p50_ms": round(statistics.median(xs), 1), "p99_ms": round(percentile(xs, 0.99), 1),
                     "min_ms": round(min(xs), 1), "cpu_median_ms": round(statistics.median(cpu[name]), 1)}
    out["ale_sandbox_run_true_service"]["service_cpu_mean_ms"] = round(
        service_ticks * 1000 / os.sysconf("SC_CLK_TCK") / args.n, 1)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
