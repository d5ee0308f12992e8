"""Per-sandbox cgroups: memory, pids and CPU limits, and the counters the guard watches.

cgroup v1 (one hierarchy per controller, as on our machines) and v2 (unified) are both supported.
Every ALE cgroup lives under `<hierarchy>/ale/<instance>/<sandbox>`, so a crashed server's
leftovers are found by walking `ale/` (see SandboxManager.sweep).
"""

from __future__ import annotations

import functools
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


def prepare(bases: dict[str, Path], instance: str) -> None:
    """Create `ale/<instance>` in every hierarchy (v2: with the controllers enabled down the path)."""
    for base in bases.values():
        (base / instance).mkdir(parents=True, exist_ok=True)
    if "unified" in bases:
        for d in (ROOT, bases["unified"], bases["unified"] / instance):
            try:  # each level's subtree_control must list the controllers its children use
                (d / "cgroup.subtree_control").write_text("+memory +pids +cpu")
            except OSError:
                pass


@functools.lru_cache(maxsize=64)
def _has_file(parent: str, name: str) -> bool:
    """Whether the parent's cgroups have this control file (swap accounting on or off, fixed at boot)."""
    return os.path.exists(f"{parent}/{name}")


COUNTERS = ("oom_kills", "pids_max_hits", "cpu_usage_ns", "cpu_throttled_periods", "memory_bytes", "pids")


@dataclass
class Limits:
    memory: int
    pids: int
    cpus: float


class Cgroup:
    def __init__(self, bases: dict[str, Path], relpath: str):
        self.paths = {c: f"{b}/{relpath}" for c, b in bases.items()}  # strings: built once per create
        self.v2 = "unified" in bases

    @functools.cached_property
    def dirs(self) -> dict[str, Path]:
        return {c: Path(p) for c, p in self.paths.items()}

    def launch_ops(self, limits: Limits) -> list[str]:
        """What the launcher does before the init starts: "mkdir DIR" and "FILE=VALUE" writes, in order.

        The launcher (C, in parallel with other launches) makes them, not this process: creating and
        limiting cgroups one by one on the event loop was a large share of a sandbox's start time."""
        period, quota = 100_000, int(limits.cpus * 100_000)
        d = self.paths
        ops = [f"mkdir {p}" for p in d.values()]
        if self.v2:
            u = d["unified"]
            ops.append(f"{u}/memory.max={limits.memory}")
            if _has_file(os.path.dirname(u), "memory.swap.max"):
                ops.append(f"{u}/memory.swap.max=0")
            return ops + [f"{u}/pids.max={limits.pids}", f"{u}/cpu.max={quota} {period}"]
        ops.append(f"{d['memory']}/memory.limit_in_bytes={limits.memory}")
        if _has_file(os.path.dirname(d["memory"]), "memory.memsw.limit_in_bytes"):
            ops.append(f"{d['memory']}/memory.memsw.limit_in_bytes={limits.memory}")
        # cfs_period_us is left at its default (100 ms = `period`): each bandwidth write is costly
        return ops + [f"{d['pids']}/pids.max={limits.pids}", f"{d['cpu']}/cpu.cfs_quota_us={quota}"]

    @property
    def attach_dirs(self) -> list[str]:
        return list(self.paths.values())

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

    def kill_all_but(self, keep: int, timeout: float = 5.0) -> int:
        """SIGKILL every process in this cgroup but `keep` (the sandbox's init); returns how many.

        Daemons, setsid'd and double-forked processes are all still in the cgroup. Each round stops
        (SIGSTOP) what it finds, so nothing can fork behind the sweep; once a round finds nothing new,
        all are killed. Returns once only `keep` (and zombies its reaping will clear) is left."""
        procs = (self.dirs.get("unified") or self.dirs["pids"]) / "cgroup.procs"
        deadline = time.monotonic() + timeout
        stopped: set[int] = set()
        while time.monotonic() < deadline:
            new = {p for p in _live_pids(procs) if p != keep} - stopped
            if not new:
                break
            for pid in new:
                _signal(pid, signal.SIGSTOP)
            stopped |= new
        for pid in stopped:
            _signal(pid, signal.SIGKILL)
        while time.monotonic() < deadline and _live_pids(procs) - {keep}:
            time.sleep(0.005)
        left = _live_pids(procs) - {keep}
        if left:
            raise RuntimeError(f"processes {sorted(left)[:10]} survived the kill")
        return len(stopped)

    def destroy(self, timeout: float = 5.0) -> None:
        """Kill whatever is left inside, then remove the directories."""
        remove_tree(list(self.dirs.values()), timeout)


def _live_pids(procs: Path) -> set[int]:
    """Pids listed in a cgroup.procs file, zombies left out (they hold nothing and cannot run)."""
    out = set()
    for x in _read(procs).split():
        stat = _read(Path(f"/proc/{x}/stat"))
        if stat and stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X"):
            out.add(int(x))
    return out


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def remove_if_empty(top: Path) -> bool:
    """rmdir a cgroup tree, deepest first, only where no process is left; never kills. True if gone."""
    try:
        subdirs = sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)) + [top]
    except FileNotFoundError:
        return False
    for d in subdirs:
        try:
            d.rmdir()
        except FileNotFoundError:
            pass
        except OSError:  # busy: something lives there
            return False
    return True


def remove_tree(dirs: list[Path], timeout: float = 5.0) -> None:
    """Kill every process in these cgroups (and below) and rmdir them, deepest first."""
    deadline = time.monotonic() + timeout
    for top in dirs:
        try:  # the usual case, a sandbox's own cgroup after its init died: empty, no children
            top.rmdir()
            continue
        except FileNotFoundError:
            continue
        except OSError:
            pass
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
