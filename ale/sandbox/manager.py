"""SandboxManager: lifecycle, commands, files, events, the guard and reaping, on one machine.

Everything is asyncio on one event loop; a running sandbox costs one process on the host (its init)
and no thread. The HTTP service, the embedded SDK client and the Ray worker all wrap this class.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import contextlib
import fcntl
import hashlib
import json
import os
import resource
import secrets
import shutil
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import cgroups, images, network, seccomp
from .fs import SandboxFS, _libc
from .runtime import OWNER_BASE, OWNER_SLOTS, UID_BASE, InitProcess, Zygote, init_binary
from .session import BashSession, OutputCapture, Terminal
from .spec import (CAPABILITIES, Conflict, parse_user, ExecResult, FileEntry, GuardAction, NetworkPolicy, NotFound, OverCapacity, SandboxError, SandboxInfo,
                   SandboxSpec, SessionResult, Unavailable)

DEFAULT_HOME = Path(os.environ.get("ALE_HOME", "/var/lib/ale"))
OUTPUT_DIR = "/tmp/ale-output"
MAX_SPILL = 256 << 20
MAX_EVENTS = 10_000  # kept in memory per sandbox (the init already rate-limits what it reports)
LAUNCH_CONCURRENCY = 16  # launches in flight: at 8 a 1000-create burst left ~20% of 2 cores idle on kernel locks
FDS_PER_SANDBOX = 3  # the runtime's: control socket, the init's pidfd, the scratch dir (+ sessions' while they run)
MAX_SNAPSHOTS = 64  # per sandbox: each may take up to its `disk` bytes of host memory or disk
MS_NOSUID, MS_NODEV, MNT_DETACH, UMOUNT_NOFOLLOW = 2, 4, 2, 8
SNAPSHOT_MEMORY_SHARE = 8  # the in-memory snapshot store holds up to 1/8 of the host's RAM by default

# The guard's default policy: what to do on each kind of event.
DEFAULT_POLICY: dict[str, str] = {
    "oom_kill": "stop_and_reset",       # a memory bomb
    "pids_limit": "stop_and_reset",     # a fork bomb
    "cpu_budget": "stop_and_reset",     # sustained full CPU beyond the budget: a miner
    "cpu_throttled": "record",
    "disk_full": "record",
    "denied_syscall": "record",
    "network_attempt": "record",
    "timeout": "record",
}


@dataclass
class GuardConfig:
    policy: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_POLICY))
    interval_s: float = 0.5
    # `cpu_budget` fires when, averaged over the last cpu_budget_s seconds, a sandbox used at least
    # cpu_busy_fraction of the CPU it could have had: its quota, or less when the host had no idle CPU
    # left to give (so N miners on fewer cores, or a miner that pauses now and then, are still seen).
    cpu_busy_fraction: float = 0.75
    cpu_budget_s: float = 300.0


@dataclass
class Snapshot:
    """A sandbox's filesystem and session state at one moment, which forks start from.

    `path` is a copy of the sandbox's upper layer on the host (in the manager's run dir, root-only);
    a fork mounts `layers` (that copy over the layers the sandbox itself started from) read-only under
    a fresh upper, so forking copies nothing. Counted references: its sandbox (until it is deleted or
    the snapshot is), every live sandbox forked from it, and every snapshot stacked on it."""

    id: str
    owner: str  # the sandbox that took it: only that sandbox's forks may use it
    path: Path
    layers: list[Path]  # top first
    sessions: dict[str, str]  # session id -> the script that restores its state (BashSession.dump_state)
    base: Snapshot | None  # the snapshot the owner started from (its layers are under ours)
    created_at: float
    refs: int = 1


@dataclass
class Sandbox:
    id: str
    spec: SandboxSpec
    image: images.Image
    cgroup: cgroups.Cgroup
    created_at: float
    last_used_at: float
    state: str = "starting"
    init: InitProcess | None = None
    fs: SandboxFS | None = None
    egress: network.Egress | None = None  # slirp4netns of an egress/allowlist sandbox
    sessions: dict[str, BashSession] = field(default_factory=dict)
    events: list[dict] = field(default_factory=list)
    stop_reason: str | None = None
    last_guard: GuardAction | None = None
    last_guard_at: float = 0.0
    counters: dict[str, int] = field(default_factory=dict)
    cpu_window: list[tuple[float, float]] = field(default_factory=list)  # (interval s, busy fraction)
    last_throttle_event: float = 0.0
    spills: int = 0
    event_seq: int = 0
    generation: int = 0  # bumped on every (re)start
    owner_uid: int = 0  # host uid owning its user namespace (its per-uid kernel budgets)
    base: Snapshot | None = None  # forked from it: its layers are this sandbox's lower layers
    log_queue: list[str] | None = None  # event log lines waiting for a background write (see _flush_log)
    snapshots: set[str] = field(default_factory=set)  # ids of the snapshots it took (and holds)
    # stop/reset/delete/commit take turns: 20 concurrent resets left 20 inits in one cgroup
    lifecycle: asyncio.Lock = field(default_factory=asyncio.Lock)


class SandboxManager:
    def __init__(self, home: Path | None = None, *, max_sandboxes: int = 4096, launch_concurrency: int = LAUNCH_CONCURRENCY,
                 guard: GuardConfig | None = None, node: str | None = None, output_cap: int = 1 << 20,
                 snapshot_memory: int | None = None):
        self.home = Path(home or DEFAULT_HOME).absolute()  # paths reach the launcher and /proc/PID/root
        self.home.mkdir(parents=True, exist_ok=True)
        self.images = images.ImageStore(self.home)
        # Instances carry a tag of their home: a sweep touches only its own home's (issue #12 item 7).
        self.home_tag = hashlib.sha256(str(self.home).encode()).hexdigest()[:8]
        self.instance = f"{self.home_tag}-{os.getpid()}-{secrets.token_hex(3)}"
        self.run_dir = self.home / "run" / self.instance
        # Every launcher mounts its sandbox's scratch tmpfs on this same dir, each in its own private mount
        # namespace: no directory to make and remove per sandbox on the host's filesystem.
        self.scratch = self.run_dir / "mnt"
        self.max_sandboxes = max_sandboxes
        self.guard_cfg = guard or GuardConfig()
        self.node = node or socket.gethostname()
        self.output_cap = output_cap
        self._sandboxes: dict[str, Sandbox] = {}
        self._snapshots: dict[str, Snapshot] = {}
        self._owner_uids: set[int] = set()  # those of self._sandboxes (a set per create was O(live sandboxes))
        self._dying = 0  # deletes waiting for their sandbox's death
        self._doomed: list[cgroups.Cgroup] = []  # cgroups of deleted sandboxes, removed together
        self._doomed_done: asyncio.Future | None = None  # resolves when they are
        self._layer_refs: collections.Counter[str] = collections.Counter()  # image layers of self._sandboxes
        # Snapshots go to a tmpfs of `snapshot_memory` bytes (default 1/8 of RAM; 0: none) mounted here:
        # a 10 MB copy took 8-10 ms into it, 14-70 ms into ext4 (whose file creation cost 0.05-1 ms
        # after deletions nearby; large pages make the tmpfs's data copy 2.5x faster). Those that do
        # not fit go to disk. Both root-only (0700) and swept with the run dir.
        self.snapshot_dir = self.run_dir / "snapshots"
        self.snapshot_disk_dir = self.run_dir / "snapshots-disk"
        self.snapshot_memory = (os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // SNAPSHOT_MEMORY_SHARE
                                if snapshot_memory is None else snapshot_memory)
        self._snapshot_tmpfs = False  # whether snapshot_dir is that tmpfs
        self._launch = asyncio.Semaphore(launch_concurrency)
        self._tasks: list[asyncio.Task] = []
        self._followups: set[asyncio.Task] = set()
        self._lock_fd: int | None = None
        self._zygote: Zygote | None = None
        self._seccomp = {True: seccomp.build_filter(True), False: seccomp.build_filter(False)}
        self._cg_bases: dict[str, Path] = {}
        self._base_lock = asyncio.Lock()
        self._host_idle, self._tick = 0.0, 1.0  # host idle CPU-seconds and length of the last guard tick
        self.started = False

    # ------------------------------------------------------------------ lifecycle of the manager
    async def start(self) -> None:
        if self.started:
            return
        if os.geteuid() != 0:
            raise SandboxError("the ALE sandbox runtime must run as root (namespaces, cgroups, overlay mounts)")
        _raise_fd_limit(FDS_PER_SANDBOX * self.max_sandboxes + 1024)
        binary = await asyncio.to_thread(init_binary, self.home)
        self._cg_bases = cgroups.detect()
        await asyncio.to_thread(self._sweep_and_claim)
        self._zygote = Zygote(binary, self.run_dir / "dev")
        self._zygote.start()
        self._tasks.append(asyncio.create_task(self._guard_loop(), name="ale-guard"))
        self.started = True

    async def close(self) -> None:
        """Remove every sandbox this manager owns (cleanup on shutdown)."""
        for t in [*self._tasks, *self._followups]:
            t.cancel()
        await asyncio.gather(*self._tasks, *self._followups, return_exceptions=True)
        self._tasks.clear()
        await asyncio.gather(*(self.delete(sid) for sid in list(self._sandboxes)), return_exceptions=True)
        if self._zygote is not None:
            self._zygote.close()
            self._zygote = None
        if self._lock_fd is not None:
            _unmount(self.snapshot_dir)
            shutil.rmtree(self.run_dir, ignore_errors=True)
            await asyncio.to_thread(self._remove_cgroup_dirs, self.instance)
            os.close(self._lock_fd)
            self._lock_fd = None
        self.started = False

    @contextlib.contextmanager
    def _run_root_lock(self):
        """Sweeps and manager starts take turns: a sweep never sees a manager between making its run dir
        and locking it (it would take that manager for a crashed one and remove its cgroups)."""
        run_root = self.home / "run"
        run_root.mkdir(parents=True, exist_ok=True)
        fd = os.open(run_root / ".lock", os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _sweep_and_claim(self) -> None:
        with self._run_root_lock():
            self._sweep()
            self.run_dir.mkdir(parents=True)
            self._lock_fd = os.open(self.run_dir / "lock", os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600)
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self.scratch.mkdir()
            (self.run_dir / "dev").mkdir()  # the zygote mounts the sandboxes' shared /dev here (in its namespace)
            self.snapshot_dir.mkdir(mode=0o700)
            self.snapshot_disk_dir.mkdir(mode=0o700)
            # Before the zygote starts: it and the launchers see the host's mounts as they were then.
            self._snapshot_tmpfs = self.snapshot_memory > 0 and _mount_snapshot_store(self.snapshot_dir, self.snapshot_memory)
            cgroups.prepare(self._cg_bases, self.instance)

    def sweep(self) -> list[str]:
        """Remove what crashed managers of this home left: processes (via their cgroups), cgroups, run dirs.
        A manager that is alive holds an flock on its run dir and is left alone."""
        with self._run_root_lock():
            return self._sweep()

    def _sweep(self) -> list[str]:
        """Only what is provably dead, and only this home's: a run dir whose lock is free belonged to a
        manager that has exited (its cgroups are killed and removed). A cgroup of this home with no run
        dir is removed only when it holds no process (every sandbox dies with its manager through the
        parent-death chain, so live processes mean a live manager). Other homes' instances are never
        touched, not even their empty cgroups: an idle live manager's cgroup parent is empty too."""
        swept = []
        self._cg_bases = self._cg_bases or cgroups.detect()
        run_root = self.home / "run"
        live = set()
        if run_root.exists():
            for d in run_root.iterdir():
                if d.name.startswith(".") or not d.is_dir():  # the run-root lock itself
                    continue
                try:
                    fd = os.open(d / "lock", os.O_RDWR | os.O_CLOEXEC)
                except OSError:
                    fd = None
                if fd is not None:
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    except BlockingIOError:
                        live.add(d.name)
                        continue
                    finally:
                        os.close(fd)
                if d.name.startswith(f"{self.home_tag}-"):
                    self._remove_cgroup_dirs(d.name)
                _unmount(d / "snapshots")  # its snapshot tmpfs (the memory goes with the last user of it)
                images.remove_dir(d)  # any depth (a snapshot copies a sandbox's tree)
                swept.append(d.name)
        for base in self._cg_bases.values():  # cgroups whose run dir is already gone: only if empty
            if base.exists():
                for d in list(base.iterdir()):
                    if d.is_dir() and d.name.startswith(f"{self.home_tag}-") and d.name not in live \
                            and d.name != self.instance and cgroups.remove_if_empty(d):
                        if d.name not in swept:
                            swept.append(d.name)
        return swept

    def _remove_cgroup_dirs(self, instance: str) -> None:
        cgroups.remove_tree([b / instance for b in self._cg_bases.values()])

    # ------------------------------------------------------------------ sandboxes
    def _get(self, sid: str) -> Sandbox:
        sb = self._sandboxes.get(sid)
        if sb is None:
            raise NotFound(f"no such sandbox: {sid}")
        sb.last_used_at = time.time()
        return sb

    def _running(self, sid: str) -> Sandbox:
        sb = self._get(sid)
        if sb.state != "running" or sb.init is None or not sb.init.alive:
            raise Conflict(f"sandbox {sid} is not running ({sb.state}"
                           f"{': ' + sb.stop_reason if sb.stop_reason else ''})")
        return sb

    def info(self, sb: Sandbox) -> SandboxInfo:
        return SandboxInfo(id=sb.id, state=sb.state, image=sb.spec.image, spec=sb.spec, created_at=sb.created_at,
                           last_used_at=sb.last_used_at, node=self.node, stop_reason=sb.stop_reason,
                           usage=dict(sb.counters), snapshot=sb.base.id if sb.base is not None else None)

    async def _image(self, name: str) -> images.Image:
        if name == "base" and not self.images.exists("base"):
            async with self._base_lock:  # one debootstrap, however many creates wait on it
                return await asyncio.to_thread(self.images.get, name)
        return self.images.get(name)

    async def create(self, spec: SandboxSpec | None = None) -> SandboxInfo:
        spec = spec or SandboxSpec()
        if not self.started:
            await self.start()
        if len(self._sandboxes) >= self.max_sandboxes:
            raise OverCapacity(f"this node runs its maximum of {self.max_sandboxes} sandboxes")
        image = await self._image(spec.image)
        sb = await self._new_sandbox(spec, image)
        if spec.network.mode == "host":
            self._event(sb, {"kind": "network_host", "detail": "sandbox created with the host's network"})
        return self.info(sb)

    async def _new_sandbox(self, spec: SandboxSpec, image: images.Image, base: Snapshot | None = None) -> Sandbox:
        sid = secrets.token_hex(6)
        now = time.time()
        sb = Sandbox(id=sid, spec=spec, image=image, cgroup=cgroups.Cgroup(self._cg_bases, f"{self.instance}/{sid}"),
                     created_at=now, last_used_at=now, owner_uid=self._free_owner_uid(), base=base)
        self._sandboxes[sid] = sb
        self._owner_uids.add(sb.owner_uid)
        self._use_layers(image.layers, 1)
        if base is not None:
            base.refs += 1
        try:
            await self._launch_sandbox(sb)
        except BaseException:
            if self._sandboxes.pop(sid, None) is not None:
                self._owner_uids.discard(sb.owner_uid)
                self._use_layers(image.layers, -1)
            await asyncio.to_thread(self._cleanup_files, sb)
            await self._release_snapshots(sb)
            raise
        return sb

    def _use_layers(self, layers: list[str], n: int) -> None:
        """Count the image layers live sandboxes use; when the set changes, run_dir/layers lists it for
        `ale sandbox gc` in other processes (ImageStore.mounted_layers), before a launch mounts them."""
        changed = False
        for lid in layers:
            self._layer_refs[lid] += n
            if self._layer_refs[lid] <= 0:
                del self._layer_refs[lid]
                changed = True
            elif self._layer_refs[lid] == n > 0:
                changed = True
        if changed:
            tmp = self.run_dir / ".layers.tmp"
            tmp.write_text("".join(f"{lid}\n" for lid in sorted(self._layer_refs)))
            os.replace(tmp, self.run_dir / "layers")

    def _free_owner_uid(self) -> int:
        """A random owner uid no live sandbox of this manager has (other managers may pick the same one
        by chance: then those two share budgets, nothing more)."""
        used = self._owner_uids
        while (uid := OWNER_BASE + secrets.randbelow(OWNER_SLOTS)) in used:
            pass
        return uid

    async def _launch_sandbox(self, sb: Sandbox) -> None:
        spec = sb.spec
        sb.generation += 1
        gen = sb.generation
        try:
            if self._launch.locked():  # a timer only when there is a queue to wait in
                async with asyncio.timeout(60):
                    await self._launch.acquire()
            else:
                await self._launch.acquire()
        except TimeoutError:
            raise Unavailable("timed out waiting for a launch slot: the node is overloaded") from None
        try:
            if not self._zygote.alive:  # killed from outside: a new one serves the next launches
                self._zygote.close()
                self._zygote.start()
            sb.init = await InitProcess.start(
                zygote=self._zygote, scratch=self.scratch, layers=self._layers(sb), disk=spec.disk,
                hostname=spec.hostname, workdir=spec.workdir or sb.image.config.workdir,
                host_net=spec.network.mode == "host", cgroup_dirs=sb.cgroup.attach_dirs,
                cgroup_ops=sb.cgroup.launch_ops(cgroups.Limits(memory=spec.memory, pids=spec.pids, cpus=spec.cpus)),
                seccomp=self._seccomp[spec.network.mode == "none"],
                keep_caps=sum(1 << CAPABILITIES[c] for c in spec.capabilities),
                user=parse_user(spec.user or sb.image.config.user), owner_uid=sb.owner_uid,
                on_event=lambda ev: self._on_init_event(sb, gen, ev))
        except RuntimeError as e:  # the spec asked for what cannot start (a workdir that is a file, ...)
            raise SandboxError(str(e)) from None
        finally:
            self._launch.release()
        sb.fs = SandboxFS(str(sb.init.root))
        if spec.network.mode in ("egress", "allowlist"):
            await self._attach_egress(sb)
        sb.state = "running"
        sb.stop_reason = None
        # The guard's baseline: the cgroup and the scratch tmpfs are new (reset makes them anew too), so
        # every counter starts at zero; reading six cgroup files here was a third of a create's cost.
        sb.counters = dict.fromkeys(cgroups.COUNTERS, 0) | {"disk_bytes": 0}
        sb.cpu_window = []

    def _layers(self, sb: Sandbox) -> list[Path]:
        """The sandbox's read-only layers, top first: its image's, under the snapshot it was forked from."""
        return sb.base.layers if sb.base is not None else self.images.layer_paths(sb.image)

    def _cleanup_files(self, sb: Sandbox) -> None:
        try:
            sb.cgroup.destroy()
        except OSError:
            pass

    async def _attach_egress(self, sb: Sandbox) -> None:
        """User-mode networking for the sandbox's namespace (see network.py), before any process of it runs."""
        try:
            sb.egress = await asyncio.to_thread(network.attach, sb.init.init_pid, sb.spec.network, sb.fs)
        except SandboxError:
            await sb.init.kill()
            sb.init, sb.fs = None, None
            raise
        self._event(sb, {"kind": "network_egress", "detail": f"mode {sb.spec.network.mode}"
                         + (f", allowed: {', '.join(sb.spec.network.allow)}" if sb.spec.network.allow else "")})

    async def _kill(self, sb: Sandbox) -> None:
        for s in sb.sessions.values():
            s.closed = True
        sb.sessions.clear()
        if sb.init is not None:
            await sb.init.kill()
        sb.init, sb.fs = None, None
        if sb.egress is not None:
            await asyncio.to_thread(sb.egress.close)
            sb.egress = None

    async def status(self, sid: str) -> SandboxInfo:
        sb = self._get(sid)
        if sb.state == "running" and sb.init is not None and not sb.init.alive:
            sb.state, sb.stop_reason = "stopped", sb.stop_reason or "the sandbox's init exited"
        if sb.state == "running":
            # Through the guard's own check: reading the counters here without it made the guard miss
            # an OOM kill that happened just before (it compares with the last counters it saw).
            self._check_now(sb)
        return self.info(sb)

    async def list(self) -> list[SandboxInfo]:
        return [self.info(sb) for sb in self._sandboxes.values()]

    async def stop(self, sid: str, reason: str = "stopped by request") -> SandboxInfo:
        sb = self._get(sid)
        async with sb.lifecycle:
            await self._kill(sb)
            sb.state, sb.stop_reason = "stopped", reason
            self._event(sb, {"kind": "stopped", "reason": reason})
            return self.info(sb)

    async def delete(self, sid: str) -> None:
        sb = self._sandboxes.pop(sid, None)
        if sb is None:
            raise NotFound(f"no such sandbox: {sid}")
        self._owner_uids.discard(sb.owner_uid)
        self._use_layers(sb.image.layers, -1)
        async with sb.lifecycle:
            self._dying += 1
            try:
                await self._kill(sb)
            finally:
                self._dying -= 1
            sb.state = "deleted"
            await self._remove_cgroup(sb)
            await self._release_snapshots(sb)

    async def _remove_cgroup(self, sb: Sandbox) -> None:
        """Deletes remove their cgroups together, once no sandbox being deleted is still dying (or after
        a second): the kernel's removal of a memory cgroup walks the LRU lists of every filesystem on
        the host, and each dying sandbox still holds five (2000 deleted at once: 4.0-4.8 s one by one,
        3.2 s all killed first)."""
        self._doomed.append(sb.cgroup)
        if self._doomed_done is None:
            self._doomed_done = asyncio.get_running_loop().create_future()
            self._background(self._flush_doomed(self._doomed_done))
        await asyncio.shield(self._doomed_done)

    async def _flush_doomed(self, done: asyncio.Future) -> None:
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    while self._dying > 0:
                        await asyncio.sleep(0.005)
            batch, self._doomed, self._doomed_done = self._doomed, [], None
            await asyncio.to_thread(_destroy_cgroups, batch)
        finally:
            if not done.done():
                done.set_result(None)

    async def reset(self, sid: str, reason: str = "reset by request") -> SandboxInfo:
        """Back to the image state: drop the upper layer (the whole tmpfs) and start again."""
        sb = self._get(sid)
        async with sb.lifecycle:
            if sid not in self._sandboxes:  # deleted while we waited
                raise NotFound(f"sandbox {sid} was deleted")
            await self._kill(sb)
            await asyncio.to_thread(self._cleanup_files, sb)
            if sid not in self._sandboxes:
                raise NotFound(f"sandbox {sid} was deleted")
            await self._launch_sandbox(sb)
            self._event(sb, {"kind": "reset", "reason": reason})
            return self.info(sb)

    async def commit(self, sid: str, image_name: str) -> images.Image:
        """Save the sandbox's changes as a new image on top of its own."""
        sb = self._running(sid)
        images.check_name(image_name)
        async with sb.lifecycle:
            sb = self._running(sid)
            # A fork's snapshot layers are not image layers: each becomes one (a copy) under the upper's.
            uppers = [sb.init.upper, *(p for p in self._layers(sb) if p.parent in (self.snapshot_dir, self.snapshot_disk_dir))]
            layer_ids = []
            for upper in uppers:
                layer_ids.append(await asyncio.to_thread(self.images.commit_upper, upper, "c" + secrets.token_hex(8)))
            new = images.Image(image_name, [*layer_ids, *sb.image.layers],
                               images.ImageConfig(env={**sb.image.config.env, **sb.spec.env},
                                                  workdir=sb.spec.workdir or sb.image.config.workdir,
                                                  user=sb.image.config.user))
            self._event(sb, {"kind": "commit", "image": image_name})
            return self.images.save(new)

    # ------------------------------------------------------------------ snapshots and forks
    async def snapshot(self, sid: str) -> str:
        """Save the sandbox's state for fork(): its filesystem (the upper layer, copied to the host) and
        its sessions' shell state. Running processes are not part of it. The sandbox keeps running;
        files that processes write during the copy may be caught half-written."""
        sb = self._running(sid)
        if len(sb.snapshots) >= MAX_SNAPSHOTS:
            raise OverCapacity(f"sandbox {sid} holds {MAX_SNAPSHOTS} snapshots: delete some first")
        async with sb.lifecycle:
            sb = self._running(sid)
            sessions = {ssid: await sess.dump_state() for ssid, sess in list(sb.sessions.items()) if not sess.closed}
            snap_id = secrets.token_hex(6)
            path = await asyncio.to_thread(self._save_upper, sb.init.upper, snap_id)
            snap = Snapshot(id=snap_id, owner=sid, path=path, layers=[path, *self._layers(sb)], sessions=sessions,
                            base=sb.base, created_at=time.time())
            if sb.base is not None:
                sb.base.refs += 1
            self._snapshots[snap_id] = snap
            sb.snapshots.add(snap_id)
            self._event(sb, {"kind": "snapshot", "snapshot": snap_id, "sessions": sorted(sessions)})
            return snap_id

    def _save_upper(self, upper: Path, snap_id: str) -> Path:
        """Copy a sandbox's upper layer into the tmpfs store when it has room for it, else (or when the
        copy fails there, e.g. others filled it meanwhile) to disk. Returns the copy's path."""
        stores = [self.snapshot_disk_dir]
        if self._snapshot_tmpfs:
            have, need = os.statvfs(self.snapshot_dir), os.statvfs(upper)  # the upper's tmpfs holds little else
            if ((need.f_blocks - need.f_bfree) * need.f_frsize <= have.f_bavail * have.f_frsize
                    and need.f_files - need.f_ffree <= have.f_favail):
                stores.insert(0, self.snapshot_dir)
        for store in stores:
            path = store / snap_id
            try:
                path.mkdir(mode=0o700)
                images.copy_upper(upper, path, keep_setid=True, large_pages=store == self.snapshot_dir)
                return path
            except (OSError, SandboxError) as e:
                images.remove_dir(path)
                err = e
        raise SandboxError(f"snapshot failed: {err}")

    async def fork(self, sid: str, n: int = 1, snapshot: str | None = None) -> list[SandboxInfo]:
        """n new sandboxes starting from a snapshot of this one (a fresh one when none is named): its
        files, and its sessions (same ids) with their cwd, variables, functions, aliases and options;
        not its processes. Same spec (limits, network, user, capabilities, TTLs) as this sandbox."""
        sb = self._running(sid)
        if not 1 <= n <= self.max_sandboxes:
            raise SandboxError(f"n must be between 1 and {self.max_sandboxes}, got {n}")
        if len(self._sandboxes) + n > self.max_sandboxes:
            raise OverCapacity(f"this node runs {len(self._sandboxes)} sandboxes of at most {self.max_sandboxes}: "
                               f"no room for {n} more")
        if snapshot is None:  # a snapshot of its own, held only by this call and then by the children
            snap = self._snapshots[await self.snapshot(sid)]
            sb.snapshots.discard(snap.id)
        else:
            snap = self._snapshot_of(sb, snapshot)
            snap.refs += 1  # held while the children start (the sandbox may drop the snapshot meanwhile)
        try:
            results = await asyncio.gather(*(self._fork_one(sb, snap) for _ in range(n)), return_exceptions=True)
        finally:
            await self._release(snap)
        children = [r for r in results if isinstance(r, Sandbox)]
        for child in children:  # their first log lines, after the fork has returned
            self._background(self._flush_log(child))
        if len(children) < n:  # all or none
            await asyncio.gather(*(self._delete_quietly(c.id) for c in children))
            err = next(r for r in results if not isinstance(r, Sandbox))
            if isinstance(err, SandboxError):
                raise type(err)(f"fork failed: {err.message}") from None
            raise err
        self._event(sb, {"kind": "fork", "snapshot": snap.id, "children": [c.id for c in children]})
        return [self.info(c) for c in children]

    async def _fork_one(self, parent: Sandbox, snap: Snapshot) -> Sandbox:
        sb = await self._new_sandbox(parent.spec, parent.image, base=snap)
        try:
            for ssid, script in snap.sessions.items():
                sess = BashSession(ssid, sb.init, lambda name: self._spiller(sb, name), self.output_cap)
                sb.sessions[ssid] = sess
                try:
                    await sess.start(sb.spec.workdir or sb.image.config.workdir, self._env(sb, None))
                    await sess.restore_state(script)
                except RuntimeError as e:
                    raise SandboxError(str(e)) from None
        except BaseException:
            await self._delete_quietly(sb.id)
            raise
        # Its log file is created later, in a thread: creating a file on the run dir's disk cost 0.3-2 ms
        # when files had been deleted nearby lately (ext4 without a journal scans those inodes), ~7 ms a fork of 8.
        sb.log_queue = []
        self._event(sb, {"kind": "forked", "from": parent.id, "snapshot": snap.id})
        return sb

    def _snapshot_of(self, sb: Sandbox, snap_id: str) -> Snapshot:
        snap = self._snapshots.get(snap_id)
        if snap is None or snap_id not in sb.snapshots:  # another sandbox's snapshot is not this one's to use
            raise NotFound(f"no snapshot {snap_id} of sandbox {sb.id}")
        return snap

    async def snapshots(self, sid: str) -> list[str]:
        return sorted(self._get(sid).snapshots, key=lambda i: self._snapshots[i].created_at)

    async def delete_snapshot(self, sid: str, snap_id: str) -> None:
        """Drop the sandbox's hold on a snapshot; its files go once no fork of it is alive either."""
        sb = self._get(sid)
        snap = self._snapshot_of(sb, snap_id)
        sb.snapshots.discard(snap_id)
        await self._release(snap)

    async def _release_snapshots(self, sb: Sandbox) -> None:
        """A deleted sandbox lets go of the snapshots it took and of the one it was forked from."""
        held = [self._snapshots[i] for i in sb.snapshots] + ([sb.base] if sb.base is not None else [])
        sb.snapshots, sb.base = set(), None
        for snap in held:
            await self._release(snap)

    async def _release(self, snap: Snapshot | None) -> None:
        while snap is not None:
            snap.refs -= 1
            if snap.refs > 0:
                return
            self._snapshots.pop(snap.id, None)
            await asyncio.to_thread(images.remove_dir, snap.path)
            snap = snap.base  # our layers stacked on it: one reference less

    async def kill_processes(self, sid: str) -> int:
        """Kill every process in the sandbox but its init (daemons, setsid'd and double-forked ones
        included: they are all in its cgroup); sessions end. Returns how many were killed. Grading
        calls this first, so nothing the agent started runs beside or after the verifier."""
        sb = self._running(sid)
        for s in sb.sessions.values():
            s.closed = True
        sb.sessions.clear()
        return await asyncio.to_thread(sb.cgroup.kill_all_but, sb.init.init_pid)

    async def remove(self, sid: str, path: str) -> None:
        """Remove a file or directory tree in the sandbox from the host (nothing in it is followed)."""
        await asyncio.to_thread(self._fs(sid).remove, path)

    def layers_in_use(self) -> set[str]:
        return set(self._layer_refs)

    # ------------------------------------------------------------------ commands
    def _env(self, sb: Sandbox, extra: dict[str, str] | None) -> dict[str, str]:
        env = {"HOME": "/root", "LANG": "C.UTF-8", **sb.image.config.env, **sb.spec.env, **(extra or {})}
        for k, v in env.items():
            if "=" in k or "\0" in k or "\0" in v:
                raise SandboxError(f"invalid environment variable {k!r}")
        return env

    def _spiller(self, sb: Sandbox, name: str) -> _Spill:
        uid, gid = parse_user(sb.spec.user or sb.image.config.user)
        return _Spill(sb.fs, UID_BASE + uid, UID_BASE + gid, f"{OUTPUT_DIR}/{name}")

    async def execute(self, sid: str, command: str | list[str], *, timeout: float = 1200.0, cwd: str | None = None,
                      env: dict[str, str] | None = None, max_output: int | None = None,
                      encoding: str = "text", stream=None) -> ExecResult:
        """Run one command (stdin closed). `stream(stream_no, data)` sees output as it comes (embedded use)."""
        sb = self._running(sid)
        if isinstance(command, str):
            argv = ["/bin/sh", "-c", command]
        else:
            argv = list(command)
        if not argv or any("\0" in a for a in argv):
            raise SandboxError("empty command or NUL byte in the command")
        if timeout <= 0:
            raise SandboxError("timeout must be positive")
        cap = max_output or self.output_cap
        sb.spills += 1
        n = sb.spills
        out = OutputCapture(cap, self._spiller(sb, f"exec-{n}.stdout"))
        err = OutputCapture(cap, self._spiller(sb, f"exec-{n}.stderr"))
        t0 = time.monotonic()
        started_at = time.time()
        init = sb.init
        proc = await init.spawn(argv, cwd=cwd or sb.spec.workdir or sb.image.config.workdir, env=self._env(sb, env),
                                on_output=lambda s, d: ((out if s == 1 else err).feed(d), stream and stream(s, d)))
        timed_out = False
        try:
            code = await asyncio.wait_for(asyncio.shield(proc.exited), timeout)
        except asyncio.CancelledError:  # the caller went away (e.g. its HTTP client disconnected)
            if init.alive:
                init.signal(proc)
            out.close()
            err.close()
            raise
        except asyncio.TimeoutError:
            timed_out = True
            init.signal(proc)  # SIGKILL to its whole process group
            try:
                await asyncio.wait_for(asyncio.shield(proc.exited), 10)
            except asyncio.TimeoutError:
                pass
            code = 124
            self._event(sb, {"kind": "timeout", "command": argv[-1][:200], "timeout_s": timeout})
        # Let the guard look now, so what it did is in this answer (also when the command exits 0: a
        # child of it may have been OOM-killed).
        self._check_now(sb)
        out.close()
        err.close()
        guard = sb.last_guard if sb.last_guard_at >= started_at else None
        (text_out, ok_out), (text_err, ok_err) = await _text(out), await _text(err)
        res = ExecResult(
            exit_code=code, stdout=text_out, stderr=text_err, timed_out=timed_out,
            truncated=out.truncated or err.truncated, output_path=out.path, stderr_path=err.path,
            binary=not (ok_out and ok_err), stdout_b64=None, stderr_b64=None,
            duration_s=time.monotonic() - t0, guard=guard)
        if encoding == "base64":
            res.stdout_b64, res.stderr_b64 = base64.b64encode(out.data()).decode(), base64.b64encode(err.data()).decode()
        return res

    async def create_session(self, sid: str, *, cwd: str | None = None, env: dict[str, str] | None = None) -> str:
        sb = self._running(sid)
        ssid = secrets.token_hex(4)
        cwd = cwd or sb.spec.workdir or sb.image.config.workdir
        if not await asyncio.to_thread(sb.fs.is_dir, cwd):
            raise SandboxError(f"cwd {cwd!r} is not a directory in the sandbox")
        sess = BashSession(ssid, sb.init, lambda name: self._spiller(sb, name), self.output_cap)
        try:
            await sess.start(cwd, self._env(sb, env))
        except RuntimeError as e:
            await sess.close()
            raise SandboxError(str(e)) from None
        sb.sessions[ssid] = sess
        return ssid

    async def open_terminal(self, sid: str, argv: list[str], *, cwd: str | None = None,
                            env: dict[str, str] | None = None, rows: int = 24, cols: int = 80) -> Terminal:
        """Start `argv` on a fresh pty in the sandbox (`ale sandbox shell`, `docker exec -it`); the caller
        relays its bytes and closes it. Its traffic counts as use of the sandbox (idle TTL)."""
        sb = self._running(sid)
        if not argv or any("\0" in a for a in argv):
            raise SandboxError("empty command or NUL byte in the command")
        term = Terminal(sb.init, on_activity=lambda: setattr(sb, "last_used_at", time.time()))
        try:
            await term.start(argv, cwd or sb.spec.workdir or sb.image.config.workdir, self._env(sb, env), rows, cols)
        except RuntimeError as e:  # the init could not start it
            raise SandboxError(str(e)) from None
        return term

    def _session(self, sid: str, ssid: str) -> tuple[Sandbox, BashSession]:
        sb = self._running(sid)
        sess = sb.sessions.get(ssid)
        if sess is None:
            raise NotFound(f"no such session {ssid} in sandbox {sid}")
        return sb, sess

    async def run_in_session(self, sid: str, ssid: str, command: str, *, timeout: float = 1200.0,
                             idle_timeout: float | None = None, background: bool = False) -> SessionResult:
        sb, sess = self._session(sid, ssid)
        if background:
            sb.spills += 1
            log = f"{OUTPUT_DIR}/bg-{sb.spills}.log"
            command = (f"mkdir -p {OUTPUT_DIR} && (nohup bash -c {_shq(command)} > {log} 2>&1 &) && "
                       f"echo 'started in the background; output: {log}'")
        started_at = time.time()
        res = await sess.run(command, timeout=timeout, idle_timeout=idle_timeout)
        self._check_now(sb)
        if res.status in ("timeout", "idle_timeout"):
            self._event(sb, {"kind": "timeout", "session": ssid, "status": res.status, "command": command[:200]})
        if sb.last_guard_at >= started_at:
            res.guard = sb.last_guard
        if sess.closed:
            sb.sessions.pop(ssid, None)
        return res

    async def interrupt_session(self, sid: str, ssid: str) -> None:
        await self._session(sid, ssid)[1].interrupt()

    async def close_session(self, sid: str, ssid: str) -> None:
        sb, sess = self._session(sid, ssid)
        await sess.close()
        sb.sessions.pop(ssid, None)

    # ------------------------------------------------------------------ files
    def _fs(self, sid: str) -> SandboxFS:
        return self._running(sid).fs

    async def read_file(self, sid: str, path: str, *, offset: int = 0, length: int | None = None) -> bytes:
        return await asyncio.to_thread(self._fs(sid).read, path, offset, length)

    async def read_lines(self, sid: str, path: str, start: int = 1, end: int | None = None) -> str:
        return await asyncio.to_thread(self._fs(sid).read_lines, path, start, end)

    async def write_file(self, sid: str, path: str, data: bytes, mode: int = 0o644) -> int:
        return await asyncio.to_thread(self._fs(sid).write, path, data, mode)

    async def list_files(self, sid: str, path: str) -> list[FileEntry]:
        return await asyncio.to_thread(self._fs(sid).list, path)

    async def upload_tar(self, sid: str, dest: str, data: bytes) -> int:
        return await asyncio.to_thread(self._fs(sid).extract_tar, dest, data)

    async def download(self, sid: str, path: str) -> tuple[bytes, bool]:
        """(bytes, is_tar): a file as it is, a directory as a tar."""
        fs = self._fs(sid)
        if await asyncio.to_thread(fs.is_dir, path):
            budget = self._get(sid).spec.disk + (1 << 20)  # no more than the sandbox could have written
            return await asyncio.to_thread(fs.make_tar, path, budget), True
        return await asyncio.to_thread(fs.read, path), False

    # ------------------------------------------------------------------ events and the guard
    def _event(self, sb: Sandbox, ev: dict[str, Any]) -> dict:
        ev = {"seq": sb.event_seq, "time": time.time(), **ev}
        sb.event_seq += 1
        sb.events.append(ev)
        if len(sb.events) > MAX_EVENTS:  # bounded memory per sandbox; the file keeps everything
            del sb.events[: len(sb.events) - MAX_EVENTS]
        if sb.log_queue is not None:  # a background write of its log is under way: after it, in order
            sb.log_queue.append(json.dumps(ev) + "\n")
        else:
            self._write_log(sb.id, [json.dumps(ev) + "\n"])
        return ev

    def _write_log(self, sid: str, lines: list[str]) -> None:
        try:  # 0600: events hold the commands run (other host users must not read them)
            fd = os.open(self.run_dir / f"{sid}.events.jsonl", os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC,
                         0o600)
            with open(fd, "a") as f:
                f.write("".join(lines))
        except OSError:
            pass

    async def _flush_log(self, sb: Sandbox) -> None:
        """Write the lines queued in sb.log_queue from a thread (later events queue behind them), then let
        events be written directly again."""
        while sb.log_queue:
            lines, sb.log_queue = sb.log_queue, []
            await asyncio.to_thread(self._write_log, sb.id, lines)
        sb.log_queue = None

    async def events(self, sid: str, since: int = 0) -> list[dict]:
        """Events with seq >= since (seq numbers are stable even when old events are dropped)."""
        return [e for e in self._get(sid).events if e["seq"] >= since]

    def _on_init_event(self, sb: Sandbox, gen: int, ev: dict) -> None:
        if gen != sb.generation:
            return
        if ev.get("kind") == "denied_syscall":
            ev["syscall"] = (f"{ev['abi']} syscall {ev.get('nr')}" if ev.get("abi")
                             else seccomp.SYSCALL_NAMES.get(ev.get("nr"), str(ev.get("nr"))))
        self._apply_policy(sb, ev)

    def _apply_policy(self, sb: Sandbox, ev: dict) -> None:
        action = self.guard_cfg.policy.get(ev["kind"], "record")
        ev = self._event(sb, {**ev, "action": action})
        if action == "record":
            return
        reason = ev["kind"] + (f" ({ev['detail']})" if ev.get("detail") else "")
        sb.last_guard = GuardAction(kind=ev["kind"], action=action, reason=reason)
        sb.last_guard_at = time.time()
        self._background(self._enforce(sb, sb.generation, action, f"guard: {reason}"))

    def _background(self, coro) -> None:
        """Run a follow-up task the manager owns (cancelled by close())."""
        task = asyncio.get_running_loop().create_task(coro)
        self._followups.add(task)
        task.add_done_callback(self._followups.discard)

    async def _enforce(self, sb: Sandbox, generation: int, action: str, reason: str) -> None:
        if sb.id not in self._sandboxes or sb.state != "running" or sb.generation != generation:
            return
        try:
            if action == "stop":
                await self.stop(sb.id, reason)
            else:
                await self.reset(sb.id, reason)
        except NotFound:
            pass  # deleted meanwhile: nothing left to enforce

    def _disk_used(self, sb: Sandbox) -> int:
        try:
            st = os.statvfs(sb.init.upper)
            return (st.f_blocks - st.f_bfree) * st.f_frsize
        except (OSError, AttributeError):
            return 0

    async def _guard_loop(self) -> None:
        cfg = self.guard_cfg
        idle, last = _host_idle_seconds(), time.time()
        while True:
            await asyncio.sleep(cfg.interval_s)
            now, idle_now = time.time(), _host_idle_seconds()
            self._host_idle, self._tick = max(0.0, idle_now - idle), max(1e-3, now - last)
            idle, last = idle_now, now
            for sb in list(self._sandboxes.values()):
                try:
                    self._guard_one(sb, now, cfg)
                except Exception as e:  # a vanished cgroup file must not kill the guard
                    self._event(sb, {"kind": "guard_error", "detail": str(e)})

    def _check_now(self, sb: Sandbox) -> None:
        """Run the guard's limit checks at the end of a call, so what it does is in that call's answer."""
        if sb.state == "running" and sb.init is not None and sb.init.alive and sb.counters:
            self._guard_limits(sb, time.time(), self.guard_cfg, cpu=False)

    def _guard_one(self, sb: Sandbox, now: float, cfg: GuardConfig) -> None:
        spec = sb.spec
        if spec.hard_ttl and now - sb.created_at > spec.hard_ttl:
            return self._reap(sb, "hard TTL reached")
        if spec.idle_ttl and now - sb.last_used_at > spec.idle_ttl:
            return self._reap(sb, "idle TTL reached")
        if sb.state != "running" or sb.init is None:
            return
        if not sb.init.alive:
            sb.state, sb.stop_reason = "stopped", "the sandbox's init exited"
            self._event(sb, {"kind": "died", "reason": sb.stop_reason})
            return
        if not sb.init.spawned:  # nothing ever ran in it: no limit can be hit (keeps idle fleets cheap)
            return
        self._guard_limits(sb, now, cfg, cpu=True)

    def _guard_limits(self, sb: Sandbox, now: float, cfg: GuardConfig, cpu: bool) -> None:
        spec = sb.spec
        prev = sb.counters
        if cpu and prev:
            # Nothing ran since the last look (no CPU time used): no limit can have been hit. One file
            # read per idle sandbox keeps the guard cheap with thousands of them.
            usage = sb.cgroup.cpu_usage_ns()
            if usage == prev.get("cpu_usage_ns"):
                sb.cpu_window.append((self._tick, 0.0))
                del sb.cpu_window[:-4096]
                return
        cur = sb.cgroup.counters()
        cur["disk_bytes"] = self._disk_used(sb)
        if not cpu:  # CPU use is a rate over the guard's interval: only the loop judges it
            cur["cpu_usage_ns"] = prev.get("cpu_usage_ns", cur["cpu_usage_ns"])
        sb.counters = cur
        if not prev:
            return
        if cur["oom_kills"] > prev.get("oom_kills", 0):
            return self._apply_policy(sb, {"kind": "oom_kill", "detail": f"memory limit {spec.memory / 2**20:g} MiB"})
        if cur["pids_max_hits"] > prev.get("pids_max_hits", 0):
            return self._apply_policy(sb, {"kind": "pids_limit", "detail": f"pids limit {spec.pids}"})
        if cur["disk_bytes"] >= spec.disk * 0.99 and prev.get("disk_bytes", 0) < spec.disk * 0.99:
            self._apply_policy(sb, {"kind": "disk_full", "detail": f"disk limit {spec.disk / 2**20:g} MiB"})
        if not cpu:
            return
        used = (cur["cpu_usage_ns"] - prev.get("cpu_usage_ns", 0)) / 1e9
        could = min(spec.cpus * self._tick, used + self._host_idle)  # what it could have had this tick
        sb.cpu_window.append((self._tick, used / could if could > 0 else 0.0))
        while sum(dt for dt, _ in sb.cpu_window[1:]) >= cfg.cpu_budget_s:
            sb.cpu_window.pop(0)
        span = sum(dt for dt, _ in sb.cpu_window)
        if span >= cfg.cpu_budget_s * 0.999:
            avg = sum(dt * b for dt, b in sb.cpu_window) / span
            if avg >= cfg.cpu_busy_fraction:
                sb.cpu_window = []
                return self._apply_policy(sb, {"kind": "cpu_budget", "detail": f"{avg:.0%} of its CPU for "
                                                                                f"{cfg.cpu_budget_s:.0f}s"})
        if cur["cpu_throttled_periods"] > prev.get("cpu_throttled_periods", 0) and now - sb.last_throttle_event > 10:
            sb.last_throttle_event = now
            self._apply_policy(sb, {"kind": "cpu_throttled", "detail": f"CPU quota {spec.cpus}"})

    def _reap(self, sb: Sandbox, reason: str) -> None:
        self._event(sb, {"kind": "reaped", "reason": reason})
        self._background(self._delete_quietly(sb.id))

    async def _delete_quietly(self, sid: str) -> None:
        try:
            await self.delete(sid)
        except NotFound:
            pass

    # ------------------------------------------------------------------ images
    async def build_image(self, name: str, dockerfile: Path, context: Path | None = None,
                          network: str | NetworkPolicy = "none", log=print, *, build_args: dict[str, str] | None = None,
                          image_map: dict[str, str] | None = None, rebuild_changed: bool = False) -> images.Image:
        """Build `dockerfile` as `name` (see builder). With `rebuild_changed`, an existing image of that name
        is kept unless its Dockerfile, context files, build args or base image digests changed."""
        from .builder import build, ensure_built  # the builder uses this manager to run its steps

        fn = ensure_built if rebuild_changed else build
        return await fn(self, name, dockerfile, context or dockerfile.parent, network=network, log=log,
                        build_args=build_args, image_map=image_map)

    async def remove_image(self, name: str) -> None:
        if any(sb.spec.image == name for sb in self._sandboxes.values()):
            raise Conflict(f"image {name} is used by sandboxes; delete them first")
        await asyncio.to_thread(self.images.remove, name, self.layers_in_use())


async def _text(cap: OutputCapture) -> tuple[str, bool]:
    """OutputCapture.text() that yields to the event loop between 1 MiB pieces (not a thread: a
    worker holding the GIL made every I/O of the loop wait for it)."""
    for errors in ("strict", "replace"):
        pieces = []
        try:
            for piece in cap.decoded(errors):
                pieces.append(piece)
                if len(pieces) % 4 == 0:
                    await asyncio.sleep(0)
            return "".join(pieces), errors == "strict"
        except UnicodeDecodeError:
            continue
    raise AssertionError("unreachable: 'replace' never raises")


class _Spill:
    """Where output past the in-memory cap goes: OUTPUT_DIR/name in the sandbox, opened once as the
    sandbox's user (a path that user controls: see SandboxFS.open_as), written chunk by chunk, at most
    MAX_SPILL bytes. Returns the path. A failure (disk full, a path the user cannot write) leaves the
    head and tail in memory and the file partial."""

    def __init__(self, fs: SandboxFS | None, uid: int, gid: int, path: str):
        self.fs, self.uid, self.gid, self.path = fs, uid, gid, path
        self.fd: int | None = None
        self.written = 0
        self.failed = fs is None

    def __call__(self, data: bytes) -> str:
        if self.failed or self.written >= MAX_SPILL:
            return self.path
        try:
            if self.fd is None:
                self.fd = self.fs.open_as(self.uid, self.gid, self.path)
            view = memoryview(data)[: MAX_SPILL - self.written]
            while view:
                n = os.write(self.fd, view)
                self.written += n
                view = view[n:]
        except (SandboxError, OSError):
            self.failed = True
            self.close()
        return self.path

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def _raise_fd_limit(want: int) -> None:
    """Raise this process's soft open-file limit toward `want` (never above the hard limit, never down):
    a common soft limit of 1024 ran out at ~340 sandboxes."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def _mount_snapshot_store(path: Path, size: int) -> bool:
    """Mount the snapshot tmpfs (root-only; nosuid and nodev like a sandbox's own upper layer's tmpfs)
    with huge pages for big files where the kernel has them. False when no tmpfs can be mounted."""
    for huge in (",huge=within_size", ""):
        if _libc()[0].mount(b"ale-snapshots", str(path).encode(), b"tmpfs", MS_NOSUID | MS_NODEV,
                                f"size={size},mode=0700{huge}".encode()) == 0:
            return True
    return False


def _unmount(path: Path) -> None:
    """Detach a mount if there is one there (lazily: live sandboxes' lower layers keep it until they go)."""
    _libc()[0].umount2(str(path).encode(), MNT_DETACH | UMOUNT_NOFOLLOW)


def _destroy_cgroups(cgs: list[cgroups.Cgroup]) -> None:
    for cg in cgs:
        try:
            cg.destroy()
        except OSError:
            pass


def _host_idle_seconds() -> float:
    """Idle CPU-seconds of the whole host since boot (all CPUs), from /proc/stat."""
    with open("/proc/stat") as f:
        fields = f.readline().split()
    return (int(fields[4]) + int(fields[5])) / os.sysconf("SC_CLK_TCK")


def _shq(s: str) -> str:
    return "'" + s.replace("'", "'\\''") + "'"
