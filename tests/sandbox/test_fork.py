"""Snapshot and fork: a fork starts from exactly the state its parent had at the snapshot (files,
metadata, deleted image files, session shell state), lives apart from it, keeps its limits, and
snapshots are reference-counted and swept."""

import glob
import os
import signal
from pathlib import Path

import pytest

from ale.sandbox import Conflict, NotFound, SandboxClient, SandboxSpec

# Every kind of entry an upper layer holds: data, modes, owners, symlinks, hard links, a sparse
# file, a deleted image file (whiteout), a replaced image dir (opaque), a setuid file.
SETUP = """set -e
mkdir -p /workspace/d/sub /opt/x
head -c 3000000 /dev/urandom > /workspace/d/blob
printf 'hello\\n' > /workspace/d/sub/f && chmod 640 /workspace/d/sub/f
printf '#!/bin/sh\\necho run\\n' > /workspace/run.sh && chmod 755 /workspace/run.sh
chown 1000:1001 /workspace/d/sub && chown 1234:1234 /workspace/d/sub/f
ln -s sub/f /workspace/d/link && ln -s /nonexistent /workspace/dangling
ln /workspace/d/blob /workspace/d/blob2
truncate -s 5G /workspace/sparse
rm /etc/hostname && rm -rf /etc/apt && mkdir /etc/apt && echo new > /etc/apt/only
cp /bin/true /opt/x/suid && chmod 4755 /opt/x/suid
head -c 100000 /dev/urandom > /workspace/holey && truncate -s 50M /workspace/holey && echo end >> /workspace/holey
"""
# The state as seen from inside: path, type, mode, owner, size, links, link target, data hash.
# (Not a directory's size or link count: those depend on the layer it sits in.)
STATE = ("{ find /workspace /etc /opt -xdev ! -type d -printf '%p %y %m %U:%G %s %n %l\\n'; "
         "find /workspace /etc /opt -xdev -type d -printf '%p %m %U:%G\\n'; } | sort; "
         "md5sum /workspace/d/blob /workspace/d/blob2 /workspace/d/sub/f /workspace/holey; du -k /workspace/sparse /workspace/holey; "
         "ls /etc/hostname 2>&1; ls /etc/apt")
SESSION = ("cd /workspace/d/sub; export EXP='a b'; PLAIN=$'two\\nlines'; ARR=(1 '2 3'); declare -gA MAP=([k]=v); "
           "declare -gi N=41; unset HOME; alias ll='echo aliased'; greet() { echo hi \"$1\"; }; umask 027; set -o pipefail")
SESSION_CHECK = ('pwd; echo "$EXP|$PLAIN|${ARR[1]}|${MAP[k]}|$((N+1))|${HOME-unset}"; ll; greet you; umask; '
                 'shopt -o pipefail | tr -s " \\t" " "; declare -p EXP N')


@pytest.fixture
def parent(client):
    box = client.create(SandboxSpec(memory="256m", pids=128, disk="64m", capabilities=["CHOWN", "FOWNER"]))
    r = box.exec(SETUP)
    assert r.exit_code == 0, r.stderr
    yield box
    box.delete()


def test_a_fork_has_the_parents_state_at_the_snapshot(client, parent):
    path = _assert_forks_have_the_state_at_the_snapshot(parent)
    assert path.parent.name == "snapshots" and _mount_of(path.parent)  # in the memory store


def _assert_forks_have_the_state_at_the_snapshot(parent) -> Path:
    """Snapshot `parent` (set up with SETUP), change it, fork 2: both have the files and session state of
    the snapshot. Returns the snapshot's host path."""
    sess = parent.create_session()
    assert sess.run(SESSION).status == "completed"
    before, expect = parent.exec(STATE).stdout, sess.run(SESSION_CHECK).output
    assert "/workspace/d/blob2 f 644 0:0 3000000 2" in before and "No such file" in before
    assert "4755" in before and "/workspace/d/link l 777 0:0 5 1 sub/f" in before
    assert "/workspace/d/sub 755 1000:1001" in before and "/workspace/d/sub/f f 640 1234:1234" in before
    assert "0\t/workspace/sparse\n104\t/workspace/holey" in before and "/workspace/d/sub\na b|two\nlines|2 3|v|42|unset\naliased\nhi you\n0027\n" \
        "pipefail on" in expect

    snap = parent.snapshot()
    parent.exec("echo later > /workspace/later; rm /workspace/run.sh")  # after the snapshot: not in forks
    sess.run("cd /; export EXP=changed")
    children = parent.fork(n=2, snapshot=snap)
    try:
        for child in children:
            assert child.info.snapshot == snap and child.info.spec == parent.info.spec
            assert child.exec(STATE).stdout == before
            assert child.exec("/workspace/run.sh; test -e /workspace/later || echo absent").stdout == "run\nabsent\n"
            assert child.session(sess.id).run(SESSION_CHECK).output == expect
    finally:
        for child in children:
            child.delete()
    return _snapshot_dir(snap)


def test_forks_are_isolated_from_each_other_and_the_parent(client, parent):
    parent.exec("echo hello > /workspace/shared; sleep 1000 >/dev/null 2>&1 &")
    a, b = parent.fork(n=2)
    try:
        a.exec("echo from-a > /workspace/shared; rm /workspace/d/blob; touch /workspace/a-only")
        parent.exec("echo from-parent > /workspace/parent-only")
        for box in (b, parent):
            r = box.exec("cat /workspace/shared; ls /workspace/d/blob /workspace/a-only 2>&1 | wc -l; "
                         "ls /workspace/d/blob /workspace/a-only 2>/dev/null")
            assert r.stdout == "hello\n2\n/workspace/d/blob\n", r.stdout
        assert a.exec("cat /workspace/shared; test -e /workspace/parent-only || echo no").stdout == "from-a\nno\n"
        # processes are not carried: the parent's sleep is not in a fork
        assert "sleep 1000" in parent.exec("ps -eo args").stdout
        assert "sleep 1000" not in a.exec("ps -eo args").stdout
    finally:
        a.delete()
        b.delete()


def test_limits_hold_in_forks(client):
    box = client.create(SandboxSpec(memory="96m", pids=48, disk="32m"))
    try:
        (child,) = box.fork()
        try:
            assert child.info.spec.memory == 96 << 20 and child.info.spec.pids == 48
            r = child.exec(["python3", "-c", "b = bytearray(400 * 2**20); print('survived')"], timeout=30)
            assert r.exit_code in (137, -1) and "survived" not in r.stdout and r.guard.kind == "oom_kill"
            (child2,) = box.fork()
            r = child2.exec(["bash", "-c", "for i in $(seq 100); do sleep 5 & done; wait"], timeout=30)
            assert r.guard is not None and r.guard.kind == "pids_limit"
            child2.delete()
            (child3,) = box.fork()
            r = child3.exec("dd if=/dev/zero of=/workspace/big bs=1M count=100 2>&1; ip -o link | wc -l")
            assert "No space left" in r.stdout and r.stdout.endswith("1\n")  # its own disk; loopback only
            child3.delete()
        finally:
            child.delete()
    finally:
        box.delete()


def test_fork_of_a_stopped_or_deleted_sandbox_is_refused(client):
    box = client.create(SandboxSpec(memory="64m"))
    other = client.create(SandboxSpec(memory="64m"))
    snap = box.snapshot()
    with pytest.raises(NotFound, match=f"no snapshot {snap} of sandbox {other.id}"):
        other.fork(snapshot=snap)  # another sandbox's snapshot is not reachable
    other.delete()
    box.stop()
    with pytest.raises(Conflict, match="is not running"):
        box.fork()
    with pytest.raises(Conflict, match="is not running"):
        box.snapshot()
    box.delete()
    with pytest.raises(NotFound, match="no such sandbox"):
        box.fork(snapshot=snap)


def _snapshot_dir(snap: str) -> Path:
    (path,) = glob.glob(f"/var/lib/ale/run/*/snapshots*/{snap}")  # the memory store or the disk one
    return Path(path)


def _mount_of(path: Path) -> str | None:
    """The filesystem type and options of the mount at `path` (in this mount namespace), or None."""
    for line in open("/proc/self/mountinfo"):
        fields = line.split()
        if fields[4] == str(path):
            sep = fields.index("-")
            return f"{fields[sep + 1]} {fields[5]},{fields[sep + 3]}"
    return None


def test_snapshots_are_in_a_root_only_tmpfs_until_it_is_full_then_on_disk():
    # A 2 MiB memory store: the parent's 3 MB snapshot goes to disk, and forks of it have the same state;
    # a small sandbox's snapshot goes to memory. Without a store (0), everything goes to disk.
    with SandboxClient(snapshot_memory=2 << 20) as c:
        box = c.create(SandboxSpec(memory="256m", pids=128, disk="64m", capabilities=["CHOWN", "FOWNER"]))
        assert box.exec(SETUP).exit_code == 0
        path = _assert_forks_have_the_state_at_the_snapshot(box)
        assert path.parent.name == "snapshots-disk" and _mount_of(path.parent) is None
        st = path.parent.stat()
        assert (st.st_mode & 0o777, st.st_uid) == (0o700, 0)
        small = c.create(SandboxSpec(memory="64m"))
        small.exec("echo small > /workspace/f")
        small_path = _snapshot_dir(small.snapshot())
        mount = _mount_of(small_path.parent)
        assert small_path.parent.name == "snapshots" and mount.startswith("tmpfs "), mount
        assert {"nosuid", "nodev", "mode=700", "size=2048k"} <= set(mount.split(" ")[1].split(",")), mount
        (child,) = small.fork()
        assert child.exec("cat /workspace/f").stdout == "small\n"
        instance = small_path.parent.parent
    assert _mount_of(instance / "snapshots") is None and not instance.exists()  # unmounted on close
    with SandboxClient(snapshot_memory=0) as c:
        box = c.create(SandboxSpec(memory="64m"))
        path = _snapshot_dir(box.snapshot())
        assert path.parent.name == "snapshots-disk" and _mount_of(path.parent.parent / "snapshots") is None


def test_a_sparse_file_never_takes_more_memory_in_a_snapshot_than_in_the_sandbox(client):
    # One data page at the end of each 2 MiB stretch: 32 pages (128 KiB) in the sandbox, but 32 huge
    # pages (64 MiB) if copied as is into a store with huge pages; such a snapshot goes to disk.
    box = client.create(SandboxSpec(memory="64m", disk="64m"))
    try:
        r = box.exec("for i in $(seq 32); do head -c 4096 /dev/urandom | dd of=/workspace/s bs=4096 "
                     "seek=$((i * 512 - 1)) conv=notrunc status=none; done; du -k /workspace/s; md5sum /workspace/s")
        assert r.stdout.startswith("128\t/workspace/s\n"), r.stdout
        path = _snapshot_dir(box.snapshot())
        assert os.stat(path / "workspace/s").st_blocks * 512 <= 128 << 10
        if "huge=within_size" in _mount_of(path.parent.parent / "snapshots"):
            assert path.parent.name == "snapshots-disk"
        (child,) = box.fork()
        assert child.exec("du -k /workspace/s; md5sum /workspace/s").stdout == r.stdout
        child.delete()
    finally:
        box.delete()


def test_snapshots_are_counted_and_go_with_their_last_user(client, parent):
    snap = parent.snapshot()
    path = _snapshot_dir(snap)
    st = path.parent.stat()  # the snapshot itself has the sandbox root dir's owner and mode
    assert (st.st_mode & 0o777, st.st_uid) == (0o700, 0)
    assert parent.snapshots() == [snap]
    (child,) = parent.fork(snapshot=snap)
    parent.delete_snapshot(snap)
    assert parent.snapshots() == [] and path.exists()  # the fork still uses it
    grandchild_snap = child.snapshot()
    (grandchild,) = child.fork(snapshot=grandchild_snap)
    child.delete()
    assert path.exists() and _snapshot_dir(grandchild_snap).exists()
    assert grandchild.exec("cat /workspace/run.sh").stdout.endswith("echo run\n")  # two snapshot layers deep
    grandchild.exec("rm -rf /workspace/run.sh")
    grandchild.reset()  # a fork's reset goes back to the fork's start
    assert grandchild.exec("cat /workspace/run.sh").stdout.endswith("echo run\n")
    grandchild.delete()
    assert not path.exists()
    assert not glob.glob(f"/var/lib/ale/run/*/snapshots/{grandchild_snap}")


def test_commit_of_a_fork_keeps_the_snapshot_layers(client, parent):
    (child,) = parent.fork()
    name = f"test-fork-commit-{os.getpid()}"
    try:
        child.exec("echo mine > /workspace/child")
        child.commit(name)
        with client.create(SandboxSpec(image=name, memory="64m")) as box:
            assert box.exec("cat /workspace/run.sh /workspace/child; ls /etc/hostname 2>&1 | wc -l").stdout == \
                "#!/bin/sh\necho run\nmine\n1\n"
    finally:
        child.delete()
        client.run_with_manager(lambda m: m.remove_image(name))


def test_fork_over_http_and_the_cli_and_gc_after_kill_9():
    from test_service import TOKEN, _free_port, _start_server
    from typer.testing import CliRunner

    from ale.sandbox import cli
    from ale.sandbox.manager import SandboxManager

    port = _free_port()
    server = _start_server(port)
    url = f"http://127.0.0.1:{port}"
    try:
        with SandboxClient(url, token=TOKEN) as c:
            box = c.create(SandboxSpec(memory="64m"))
            box.exec("echo remote > /workspace/f")
            r = CliRunner().invoke(cli.app, ["fork", box.id, "--n", "2", "--url", url, "--token", TOKEN])
            ids = r.stdout.split()
            assert r.exit_code == 0 and len(ids) == 2, r.output
            assert all(c.get(i).exec("cat /workspace/f").stdout == "remote\n" for i in ids)
            r = CliRunner().invoke(cli.app, ["fork", "nosuch", "--url", url, "--token", TOKEN])
            assert r.exit_code == 2 and r.stderr.startswith("error: ") and "nosuch" in r.stderr
            snap = box.snapshot()
            path = _snapshot_dir(snap)
        os.kill(server.pid, signal.SIGKILL)
        server.wait()
        assert path.exists()  # left behind by the dead server...
        instance = path.parent.parent.name
        assert _mount_of(path.parent)  # its memory store too...
        assert instance in SandboxManager().sweep()
        assert not path.exists() and _mount_of(path.parent) is None  # ...and swept with its run dir
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGINT)
            server.wait(20)


def test_a_forks_log_file_is_written_after_the_fork_returns_and_in_order(manager):
    # Creating a file on the run dir's disk cost up to ms (see _fork_one): the children's first log lines
    # are written from a thread after fork() returns, and events meanwhile queue behind them.
    import asyncio
    import json

    m, run = manager

    async def go():
        box = await m.create(SandboxSpec(memory="64m"))
        kids = await m.fork(box.id, n=2)
        sb = m._sandboxes[kids[0].id]
        log = m.run_dir / f"{sb.id}.events.jsonl"
        written_at_return = log.exists()
        m._event(sb, {"kind": "probe"})  # while the first line is still queued
        while any(m._sandboxes[k.id].log_queue is not None for k in kids):
            await asyncio.sleep(0.01)
        m._event(sb, {"kind": "probe2"})  # written directly again
        lines = [json.loads(x) for x in log.read_text().splitlines()]
        for k in kids:
            await m.delete(k.id)
        await m.delete(box.id)
        return written_at_return, lines, oct(log.stat().st_mode & 0o777)

    written_at_return, lines, mode = run(go())
    assert not written_at_return
    assert [(e["seq"], e["kind"]) for e in lines] == [(0, "forked"), (1, "probe"), (2, "probe2")] and mode == "0o600"
