"""Sandbox benchmark: prints one JSON object. Run as root: `.venv/bin/python benchmarks/sandbox.py`.

Side by side in one run: the raw bubblewrap launch (the floor), create->first command one at a time,
100 and 1000 concurrent creates, exec round trips in process and over HTTP, reset, and memory per
idle sandbox (MemAvailable before/after holding N idle sandboxes). Figures are wall-clock on this
machine; it is shared and noisy, so run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time

from ale.sandbox import SandboxSpec
from ale.sandbox.manager import LAUNCH_CONCURRENCY, SandboxManager


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q / 100 * (len(xs) - 1))))]


def summary(xs_s: list[float]) -> dict:
    ms = [x * 1000 for x in xs_s]
    return {"n": len(ms), "p50_ms": round(pct(ms, 50), 2), "p99_ms": round(pct(ms, 99), 2),
            "mean_ms": round(statistics.mean(ms), 2)} if ms else {"n": 0}


def mem_available() -> int:
    for line in open("/proc/meminfo"):
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no MemAvailable")


def pss_bytes(pid: int) -> int:
    try:
        for line in open(f"/proc/{pid}/smaps_rollup"):
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def bwrap_floor(rootfs: str, n: int) -> dict:
    argv = ["bwrap", "--unshare-all", "--unshare-user", "--uid", "0", "--gid", "0", "--cap-drop", "ALL",
            "--die-with-parent", "--new-session", "--ro-bind", rootfs, "/", "--proc", "/proc", "--dev", "/dev", "true"]
    times = []
    for _ in range(n):
        t = time.perf_counter()
        subprocess.run(argv, check=True)
        times.append(time.perf_counter() - t)
    return summary(times)


async def main(args) -> dict:
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    m = SandboxManager(max_sandboxes=args.concurrent + 16, launch_concurrency=args.launch_concurrency)
    await m.start()
    spec = SandboxSpec(memory="256m", pids=256, disk="256m", idle_ttl=None)
    first = await m.create(spec)  # warm: image resolved, binary built
    out: dict = {"machine": {"cpus": os.cpu_count(), "kernel": platform.release(), "python": platform.python_version()}}

    out["bwrap_true_floor"] = bwrap_floor(str(m.images.layer_paths(m.images.get("base"))[0]), args.n)

    seq, seq_first_cmd = [], []
    for _ in range(args.n):
        t = time.perf_counter()
        info = await m.create(spec)
        t_created = time.perf_counter()
        await m.execute(info.id, ["true"])
        seq.append(t_created - t)
        seq_first_cmd.append(time.perf_counter() - t)
        await m.delete(info.id)
    out["create_sequential"] = summary(seq)
    out["create_to_first_command_sequential"] = summary(seq_first_cmd)

    for n in (100, args.concurrent):
        async def one():
            t = time.perf_counter()
            try:
                info = await m.create(spec)
                return info.id, time.perf_counter() - t
            except Exception as e:  # counted, reported
                return None, repr(e)
        mem_before = mem_available()
        t0 = time.perf_counter()
        results = await asyncio.gather(*(one() for _ in range(n)))
        wall = time.perf_counter() - t0
        ok = [(sid, dt) for sid, dt in results if sid]
        errors = sorted({dt for sid, dt in results if not sid})
        entry = {"requested": n, "succeeded": len(ok), "wall_s": round(wall, 2), **summary([dt for _, dt in ok]),
                 "errors": errors[:3]}
        if n == args.concurrent:
            await asyncio.sleep(2)  # let the page cache and slab settle
            used = mem_before - mem_available()
            pss, charged = 0, 0
            for sid, _ in ok:
                sb = m._sandboxes[sid]
                for pid in (sb.init.launcher_pid, sb.init.init_pid):
                    pss += pss_bytes(pid)
                charged += sb.cgroup.counters()["memory_bytes"]
            k = max(1, len(ok))
            out["idle_memory"] = {
                "sandboxes": len(ok),
                "system_delta_mib": round(used / 2**20, 1),  # MemAvailable before/after: noisy on a shared host
                "process_pss_kib_per_sandbox": round(pss / k / 1024, 1),  # launcher + init, shared pages split
                "cgroup_charged_kib_per_sandbox": round(charged / k / 1024, 1),  # what the sandbox's cgroup is billed
                "per_sandbox_kib": round((pss + charged) / k / 1024, 1),
            }
        out[f"create_concurrent_{n}"] = entry
        t = time.perf_counter()
        await asyncio.gather(*(m.delete(sid) for sid, _ in ok))
        entry["delete_all_s"] = round(time.perf_counter() - t, 2)

    times = []
    for _ in range(args.n * 2):
        t = time.perf_counter()
        await m.execute(first.id, ["true"])
        times.append(time.perf_counter() - t)
    out["exec_in_process"] = summary(times)

    times = []
    for _ in range(min(args.n, 50)):
        t = time.perf_counter()
        await m.reset(first.id)
        times.append(time.perf_counter() - t)
    out["reset"] = summary(times)
    await m.close()
    out["exec_http"] = await http_exec(args.n * 2)
    return out


async def http_exec(n: int) -> dict:
    import httpx

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    token = "bench"
    p = subprocess.Popen([sys.executable, "-m", "ale.cli", "sandbox", "serve", "--port", str(port)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "ALE_SANDBOX_TOKEN": token})
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}",
                                     headers={"Authorization": f"Bearer {token}"}, timeout=60) as c:
            for _ in range(300):
                try:
                    if (await c.get("/health")).status_code == 200:
                        break
                except httpx.HTTPError:
                    await asyncio.sleep(0.1)
            sid = (await c.post("/v1/sandbox/start", json={"memory": "256m"})).json()["id"]
            times = []
            for _ in range(n + 10):
                t = time.perf_counter()
                r = await c.post("/v1/sandbox/execute", json={"sandbox_id": sid, "command": ["true"]})
                assert r.status_code == 200 and r.json()["exit_code"] == 0, r.text
                times.append(time.perf_counter() - t)
            await c.post("/v1/sandbox/delete", json={"sandbox_id": sid})
            return summary(times[10:])
    finally:
        p.terminate()
        p.wait(30)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=100, help="samples for the sequential measurements")
    ap.add_argument("--concurrent", type=int, default=1000, help="the large concurrent-create batch")
    ap.add_argument("--launch-concurrency", type=int, default=LAUNCH_CONCURRENCY)
    res = asyncio.run(main(ap.parse_args()))
    targets = {"create_p50_ms<=25": res["create_sequential"]["p50_ms"] <= 25,
               "create_p99_ms<=100": res["create_sequential"]["p99_ms"] <= 100,
               "concurrent_all_succeed": res[f"create_concurrent_{ap.parse_args().concurrent}"]["succeeded"]
               == ap.parse_args().concurrent,
               "concurrent_p99_s<=2": res[f"create_concurrent_{ap.parse_args().concurrent}"].get("p99_ms", 1e9) <= 2000,
               "http_exec_p50_ms<=5": res["exec_http"]["p50_ms"] <= 5,
               "idle_1000_in_4GiB": res["idle_memory"]["per_sandbox_kib"] * 1000 <= 4 * 2**20}
    res["targets_met"] = targets
    print(json.dumps(res, indent=1))
