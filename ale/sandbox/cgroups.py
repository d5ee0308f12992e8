"""Per-sandbox cgroups: memory, pids and CPU limits, and the counters the guard watches.

cgroup v1 (one hierarchy per controller, as on our machines) and v2 (unified) are both supported.
Every ALE cgroup lives under `<hierarchy>/ale/<instance>/<sandbox>`, so a crashed server's
leftovers are found by walking `ale/` (see SandboxManager.sweep).
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _kv(text: str) -> dict[str, int]:
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("-").isdigit():
            out[parts[0]] = int(parts[1])
    return out


def detect() -> dict[str, Path]:
    """Controller name -> base directory for ALE cgroups ('unified' for v2)."""
    if (ROOT / "cgroup.controllers").exists():  # pure v2
        ctrls = _read(ROOT / "cgroup.controllers").split()
        missing = {"memory", "pids", "cpu"} - set(ctrls)
        if missing:
            raise RuntimeError(f"cgroup v2 lacks controllers {sorted(missing)}")
        return {"unified": ROOT / "ale"}
    found = {c: ROOT / c / "ale" for c in ("memory", "pids", "cpu", "cpuacct") if (ROOT / c / "tasks").exists()}
    missing = {"memory", "pids", "cpu"} - set(found)
    if missing:
        raise RuntimeError(f"cgroup v1 controllers missing: {sorted(missing)} (mounted under {ROOT})")
    return found


@dataclass
class Limits:
    memory: int
    pids: int
    cpus: float


class Cgroup:
    def __init__(self, bases: dict[str, Path], relpath: str):
        self.dirs = {c: b / relpath for c, b in bases.items()}
        self.v2 = "unified" in bases

    def create(self, limits: Limits) -> None:
        period = 100_000
        for ctrl, d in self.dirs.items():
            d.mkdir(parents=True, exist_ok=True)
            if self.v2:
                # enable controllers down the path; each level's subtree_control must list them
                p = d.parent
                while p != ROOT.parent and p.is_relative_to(ROOT):
                    try:
                        (p / "cgroup.subtree_control").write_text("+memory +pids +cpu")
                    except OSError:
                        pass
                    if p == ROOT:
                        break
                    p = p.parent
        if self.v2:
            d = self.dirs["unified"]
            (d / "memory.max").write_text(str(limits.memory))
            if (d / "memory.swap.max").exists():
                (d / "memory.swap.max").write_text("0")
            (d / "pids.max").write_text(str(limits.pids))
            (d / "cpu.max").write_text(f"{int(limits.cpus * period)} {period}")
            return
        mem = self.dirs["memory"]
        (mem / "memory.limit_in_bytes").write_text(str(limits.memory))
        if (mem / "memory.memsw.limit_in_bytes").exists():
            (mem / "memory.memsw.limit_in_bytes").write_text(str(limits.memory))
        (self.dirs["pids"] / "pids.max").write_text(str(limits.pids))
        (self.dirs["cpu"] / "cpu.cfs_period_us").write_text(str(period))
        (self.dirs["cpu"] / "cpu.cfs_quota_us").write_text(str(int(limits.cpus * period)))

    @property
    def attach_dirs(self) -> list[str]:
        return [str(d) for d in self.dirs.values()]

    def cpu_usage_ns(self) -> int:
        if self.v2:
            return _kv(_read(self.dirs["unified"] / "cpu.stat")).get("usage_usec", 0) * 1000
        acct = self.dirs.get("cpuacct")
        return int(_read(acct / "cpuacct.usage") or 0) if acct else 0

    def counters(self) -> dict[str, int]:
        """oom_kills, pids_max_hits, cpu_usage_ns, cpu_throttled_periods, memory_bytes, pids."""
        if self.v2:
            d = self.dirs["unified"]
            ev, cpu = _kv(_read(d / "memory.events")), _kv(_read(d / "cpu.stat"))
            return {
                "oom_kills": ev.get("oom_kill", 0),
                "pids_max_hits": _kv(_read(d / "pids.events")).get("max", 0),
                "cpu_usage_ns": cpu.get("usage_usec", 0) * 1000,
                "cpu_throttled_periods": cpu.get("nr_throttled", 0),
                "memory_bytes": int(_read(d / "memory.current") or 0),
                "pids": int(_read(d / "pids.current") or 0),
            }
        acct = self.dirs.get("cpuacct")
        return {
            "oom_kills": _kv(_read(self.dirs["memory"] / "memory.oom_control")).get("oom_kill", 0),
            "pids_max_hits": _kv(_read(self.dirs["pids"] / "pids.events")).get("max", 0),
            "cpu_usage_ns": int(_read(acct / "cpuacct.usage") or 0) if acct else 0,
            "cpu_throttled_periods": _kv(_read(self.dirs["cpu"] / "cpu.stat")).get("nr_throttled", 0),
            "memory_bytes": int(_read(self.dirs["memory"] / "memory.usage_in_bytes") or 0),
            "pids": int(_read(self.dirs["pids"] / "pids.current") or 0),
        }

    def destroy(self, timeout: float = 5.0) -> None:
        """Kill whatever is left inside, then remove the directories."""
        remove_tree(list(self.dirs.values()), timeout)


def remove_tree(dirs: list[Path], timeout: float = 5.0) -> None:
    """Kill every process in these cgroups (and below) and rmdir them, deepest first."""
    deadline = time.monotonic() + timeout
    for top in dirs:
        try:
            subdirs = sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)) + [top]
        except FileNotFoundError:  # already gone (or removed concurrently by its owner)
            continue
        for d in subdirs:
            while True:
                pids = [int(x) for x in _read(d / "cgroup.procs").split()]
                for pid in pids:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.01)
