"""Snapshots and forks (issue #13) keep the isolation promises: a snapshot is a root-only copy on the
host that no other local user and no other sandbox reaches, and it costs the host no more disk than
the sandbox's own size-limited layer did."""

from __future__ import annotations

import glob
import os
from pathlib import Path

import pytest

from ale.sandbox import NotFound, SandboxSpec

from attack_kit import SPEC
from test_host_users import _as_nobody


def _snapshot_dir(snap: str) -> Path:
    (path,) = glob.glob(f"/var/lib/ale/run/*/snapshots/{snap}")
    return Path(path)


def test_a_setuid_shell_in_a_snapshot_is_unreachable_for_other_host_users(client, sandbox):
    r = sandbox.exec("cp /bin/sh /workspace/suid-sh && chmod 6755 /workspace/suid-sh && stat -c %a /workspace/suid-sh")
    assert r.stdout.strip() == "6755"
    path = _snapshot_dir(sandbox.snapshot())
    shell = path / "workspace" / "suid-sh"
    assert shell.stat().st_mode & 0o6000  # kept: a fork must see the sandbox's exact state...
    for argv in (["ls", str(path.parent)], ["ls", str(path)], [str(shell), "-c", "id"]):
        r = _as_nobody(*argv)
        assert r.returncode != 0, f"a local user ran {argv}: {r.stdout}"  # ...so no one else may reach it


def test_a_fork_sees_no_host_path_and_no_other_sandboxs_snapshot(client, sandbox):
    snap = sandbox.snapshot()
    (child,) = sandbox.fork(snapshot=snap)
    other = client.create(SandboxSpec(**SPEC))
    try:
        info = child.exec("cat /proc/self/mountinfo").stdout
        assert "/var/lib/ale" not in info and "snapshots" not in info and snap not in info, info
        with pytest.raises(NotFound):
            other.fork(snapshot=snap)
        with pytest.raises(NotFound):
            other.delete_snapshot(snap)
    finally:
        child.delete()
        other.delete()


def test_a_snapshot_takes_no_more_host_disk_than_the_sandbox_did(client, sandbox):
    # A sparse 50 GB file and 500 links to one 8 MB file fit in a 64 MiB sandbox; a naive copy would
    # write 54 GB to the host's disk.
    r = sandbox.exec("truncate -s 50G /workspace/sparse && head -c 8000000 /dev/urandom > /workspace/f && "
                     "mkdir /workspace/links && for i in $(seq 500); do ln /workspace/f /workspace/links/$i; done")
    assert r.exit_code == 0, r.stderr
    path = _snapshot_dir(sandbox.snapshot())
    inodes = {(st.st_ino, st.st_blocks) for st in map(os.lstat, glob.glob(f"{path}/**", recursive=True))}
    used = sum(blocks * 512 for _, blocks in inodes)
    assert used < 16 << 20, used
    (child,) = sandbox.fork()
    try:
        assert child.exec("stat -c '%s %h' /workspace/sparse /workspace/f").stdout == "53687091200 1\n8000000 501\n"
    finally:
        child.delete()
