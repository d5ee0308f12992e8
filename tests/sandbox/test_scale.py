"""What a live sandbox costs the host stays small and independent of how many are alive (issue #17):
one task per sandbox (its init), one shared read-only /dev, few mounts; deleting leaves nothing."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from ale.sandbox import SandboxSpec
from ale.sandbox.manager import SandboxManager

SPEC = SandboxSpec(memory="64m", pids=64, disk="16m", idle_ttl=None)


def _descendants(pid: int) -> set[int]:
    out, todo = set(), [pid]
    while todo:
        p = todo.pop()
        for t in Path(f"/proc/{p}/task").iterdir():
            try:
                kids = {int(x) for x in (t / "children").read_text().split()}
            except FileNotFoundError:
                continue
            todo += kids - out
            out |= kids
    return out


def _ppid(pid: int) -> int:
    return int(next(ln for ln in open(f"/proc/{pid}/status") if ln.startswith("PPid:")).split()[1])


def _with_manager(fn):
    async def main():
        m = SandboxManager()
        await m.start()
        try:
            return await fn(m)
        finally:
            await m.close()
    return asyncio.run(main())


def test_a_running_sandbox_is_one_task_on_the_host():
    """The launcher (and its intermediate) exit once the init runs; the zygote adopts the init."""
    async def check(m):
        ids = [i.id for i in await asyncio.gather(*(m.create(SPEC) for _ in range(3)))]
        zygote = m._zygote.proc.pid
        inits = {m._sandboxes[s].init.init_pid for s in ids}
        for _ in range(100):  # the zygote reaps each exited launcher as soon as it sees it go
            if _descendants(zygote) - inits == set() or not all(_ppid(p) == zygote for p in inits):
                break
            await asyncio.sleep(0.02)
        assert _descendants(zygote) == inits, "host tasks beside the sandboxes' inits"
        assert all(_ppid(p) == zygote for p in inits)
        # the init still does its work: commands, the host's file access, and the upper layer
        r = await m.execute(ids[0], "echo hi > /workspace/f; cat /workspace/f")
        assert r.stdout == "hi\n" and await m.read_file(ids[0], "/workspace/f") == b"hi\n"
        assert (m._sandboxes[ids[0]].init.upper / "workspace" / "f").read_bytes() == b"hi\n"
        await asyncio.gather(*(m.delete(s) for s in ids))
    _with_manager(check)


def test_dev_is_one_shared_read_only_mount_and_shm_is_private():
    async def check(m):
        a, b = [i.id for i in await asyncio.gather(m.create(SPEC), m.create(SPEC))]
        probe = ("stat -c %d /dev; wc -l < /proc/self/mountinfo; touch /dev/x 2>&1; "
                 "echo $SID > /dev/shm/mine; cat /dev/shm/*")
        ra, rb = await m.execute(a, probe, env={"SID": a}), await m.execute(b, probe, env={"SID": b})
        dev_a, mounts_a, err_a, shm_a = ra.stdout.split("\n", 3)
        dev_b, _, _, shm_b = rb.stdout.split("\n", 3)
        assert dev_a == dev_b, "each sandbox has a /dev of its own (a superblock per sandbox)"
        assert "Read-only file system" in err_a
        assert int(mounts_a) == 5, ra.stdout  # /, /dev, /dev/shm, /proc, /dev/pts
        assert (shm_a, shm_b) == (f"{a}\n", f"{b}\n")  # each sees only its own file
        for sid in (a, b):
            await m.delete(sid)
    _with_manager(check)


def _pidfds(pid: int) -> int:
    n = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            n += os.readlink(f"/proc/{pid}/fd/{fd}") == "anon_inode:[pidfd]"
        except FileNotFoundError:
            pass
    return n


def test_a_dead_init_is_reaped_at_once_and_no_fd_leaks():
    """The zygote reaps by pid (it never walks all its children to find a dead one): an init's death
    must still be seen at once, not at the periodic sweep, and nothing is left behind."""
    async def check(m):
        ids = [(await m.create(SPEC)).id for _ in range(3)]
        inits = [m._sandboxes[s].init.init_pid for s in ids]
        assert [_pidfds(p) for p in inits] == [0, 0, 0]
        os.kill(inits[1], 9)  # from outside, as the OOM killer would
        t = asyncio.get_running_loop().time()
        while m._sandboxes[ids[1]].init.alive and asyncio.get_running_loop().time() - t < 5:
            await asyncio.sleep(0.01)
        assert asyncio.get_running_loop().time() - t < 1.0, "the init's death was seen only by the sweep"
        await asyncio.gather(*(m.delete(s) for s in ids))
        assert _pidfds(m._zygote.proc.pid) == 0 and _descendants(m._zygote.proc.pid) == set()
    _with_manager(check)


def test_delete_all_leaves_no_process_cgroup_or_fd():
    async def check(m):
        fds = len(os.listdir("/proc/self/fd"))
        ids = [i.id for i in await asyncio.gather(*(m.create(SPEC) for _ in range(40)))]
        await asyncio.gather(*(m.execute(s, "sleep 30 &") for s in ids[:5]))
        await asyncio.gather(*(m.delete(s) for s in ids))
        assert _descendants(m._zygote.proc.pid) == set()
        for base in m._cg_bases.values():
            assert [d for d in (base / m.instance).iterdir() if d.is_dir()] == []
        # scratch fds and pidfds closed (a kept scratch fd would keep the sandbox's tmpfs alive)
        assert len(os.listdir("/proc/self/fd")) <= fds
    _with_manager(check)


def test_creates_cancelled_midway_leave_nothing_running():
    """A create abandoned at any point (before or after its launcher hands the init over) leaves no
    process behind: a kill that comes before the hand-off reaches the init when it is handed over."""
    async def check(m):
        for delay in (0.0, 0.002, 0.005, 0.01, 0.02):
            tasks = [asyncio.create_task(m.create(SPEC)) for _ in range(8)]
            await asyncio.sleep(delay)
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        for sid in list(m._sandboxes):
            await m.delete(sid)
        for _ in range(100):
            if not _descendants(m._zygote.proc.pid):
                break
            await asyncio.sleep(0.05)
        assert _descendants(m._zygote.proc.pid) == set()
    _with_manager(check)


def test_the_open_file_limit_is_raised_for_max_sandboxes():
    """Each sandbox holds three of the runtime's fds: a soft limit of 1024 ran out at ~340 sandboxes."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))
    try:
        async def main():
            m = SandboxManager(max_sandboxes=2000)
            await m.start()
            await m.close()
        asyncio.run(main())
        assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] >= min(hard, 3 * 2000)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
