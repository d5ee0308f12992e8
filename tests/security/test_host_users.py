"""What other local users of the host can reach (issue #12 items 5 and 7).

A local user must not reach the image layers (a committed setuid shell there made them the uid that
owns every sandbox), and a manager with another ALE_HOME must not touch this one's sandboxes."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

from ale.sandbox import SandboxSpec
from ale.sandbox.images import ImageStore
from ale.sandbox.manager import DEFAULT_HOME, SandboxManager

from attack_kit import SPEC


def _drop_to_nobody() -> None:
    os.setgroups([])
    os.setresgid(65534, 65534, 65534)
    os.setresuid(65534, 65534, 65534)  # from root to a plain uid: every capability goes too


def _as_nobody(*argv: str) -> subprocess.CompletedProcess:
    """Run argv as an unprivileged local user (not setpriv: it keeps capabilities until its exec)."""
    try:
        return subprocess.run(list(argv), capture_output=True, text=True, timeout=10, preexec_fn=_drop_to_nobody)
    except PermissionError as e:  # the exec itself was refused
        return subprocess.CompletedProcess(argv, 126, "", str(e))


def test_layers_are_unreachable_for_other_host_users(client, sandbox):
    store = ImageStore(DEFAULT_HOME)
    layer = store.layer_paths(store.get("base"))[-1]
    assert (layer / "bin" / "sh").exists()
    for argv in (["ls", str(store.layers_dir)], ["ls", str(layer)], [str(layer / "bin" / "sh"), "-c", "id"],
                 ["cat", str(layer / "etc" / "passwd")], ["ls", str(store.images_dir)]):
        r = _as_nobody(*argv)
        assert r.returncode != 0, f"a local user ran {argv}: {r.stdout}"


def test_commit_strips_setuid_and_setgid_bits(client, sandbox):
    r = sandbox.exec(["bash", "-c", "cp /bin/sh /workspace/suid-sh && chmod 6755 /workspace/suid-sh && "
                                    "stat -c %a /workspace/suid-sh"])
    assert r.stdout.strip() == "6755"
    name = f"sec-suid-{secrets.token_hex(4)}"
    image = sandbox.commit(name)
    store = ImageStore(DEFAULT_HOME)
    try:
        f = store.layers_dir / image["layers"][0] / "workspace" / "suid-sh"
        assert f.exists()
        assert f.stat().st_mode & 0o6000 == 0, oct(f.stat().st_mode)
    finally:
        (DEFAULT_HOME / "images" / f"{name}.json").unlink(missing_ok=True)
        shutil.rmtree(store.layers_dir / image["layers"][0], ignore_errors=True)


def test_a_manager_in_another_home_leaves_this_homes_sandboxes_alone(client, sandbox):
    other = Path(tempfile.mkdtemp(prefix="ale-other-home-"))
    try:
        async def start_and_close():
            m = SandboxManager(home=other)
            await m.start()
            swept = m.sweep()
            await m.close()
            return swept
        asyncio.run(start_and_close())
        assert sandbox.status().state == "running"
        assert sandbox.exec("echo alive").stdout == "alive\n"
    finally:
        shutil.rmtree(other, ignore_errors=True)
