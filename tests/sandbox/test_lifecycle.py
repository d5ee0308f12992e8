"""create / status / list / stop / delete / reset / commit, specs, TTLs."""

import os
import time

import pytest

from ale.sandbox import Conflict, NotFound, SandboxSpec


def test_status_list_stop_delete(client):
    box = client.create(SandboxSpec(memory="128m"))
    assert box.status().state == "running"
    assert box.id in {i.id for i in client.list()}
    box.stop()
    assert box.status().state == "stopped"
    with pytest.raises(Conflict):
        box.exec("true")
    box.delete()
    with pytest.raises(NotFound):
        client.get(box.id)


def test_reset_discards_changes(sb):
    sb.exec("echo changed > /etc/motd; touch /workspace/new; rm /bin/ls")
    assert sb.exec("test -e /workspace/new").exit_code == 0
    t = time.monotonic()
    sb.reset()
    assert time.monotonic() - t < 2.0
    r = sb.exec("test -e /workspace/new; echo $?; ls / >/dev/null && echo ls-back; cat /etc/motd | head -c 6")
    assert r.stdout.startswith("1\nls-back\n") and "changed" not in r.stdout
    assert [e["kind"] for e in sb.events()][-1] == "reset"


def test_commit_makes_an_image(client, sb):
    sb.exec("mkdir -p /opt/tool && echo v1 > /opt/tool/VERSION && rm /etc/debian_version")
    name = f"test-commit-{sb.id}"
    img = sb.commit(name)
    assert img["name"] == name
    try:
        with client.create(SandboxSpec(image=name)) as child:
            r = child.exec("cat /opt/tool/VERSION; test -e /etc/debian_version; echo $?")
            assert r.stdout == "v1\n1\n"  # files added and removed (whiteouts) both carried
    finally:
        client._loop.run(client._client.backend.call("remove_image", name=name))


def test_bad_specs_are_rejected(client):
    for bad in [dict(memory="lots"), dict(cpus=0), dict(network="bridge"), dict(workdir="relative"),
                dict(env={"A=B": "x"})]:
        with pytest.raises(ValueError):
            SandboxSpec(**bad)
    with pytest.raises(TypeError, match="unknown"):  # Python's own error for a keyword that is no field
        SandboxSpec(unknown=1)
    with pytest.raises(NotFound):
        client.create(SandboxSpec(image="no-such-image"))


def test_idle_ttl_reaps(client):
    box = client.create(SandboxSpec(idle_ttl=0.5))
    time.sleep(1.5)
    with pytest.raises(NotFound):
        box.status()


def test_host_network_is_explicit_and_recorded(client):
    with client.create(SandboxSpec(network="host")) as box:
        assert any(e["kind"] == "network_host" for e in box.events())
        assert "lo" in box.exec("ip -o link").stdout


def test_capabilities_are_dropped_unless_kept(client):
    from ale.sandbox import TASK_CAPABILITIES

    with client.create(SandboxSpec()) as box:
        r = box.exec("grep CapEff /proc/self/status; useradd bob; echo rc=$?")
        assert "0000000000000000" in r.stdout and "rc=0" not in r.stdout
    with client.create(SandboxSpec(capabilities=TASK_CAPABILITIES)) as box:
        r = box.exec("useradd -m bob && su bob -c 'id -un' && chown bob /workspace && echo ok; "
                     "unshare -U true; echo unshare=$?")
        assert r.stdout.split() == ["bob", "ok", "unshare=1"], r
    with pytest.raises(ValueError, match="SYS_ADMIN"):
        SandboxSpec(capabilities=["SYS_ADMIN"])


def test_zygote_death_stops_its_sandboxes_and_a_new_one_takes_over():
    """The launchers die with the zygote (parent-death signal); the next create starts a new zygote."""
    import asyncio
    import signal

    from ale.sandbox.manager import SandboxManager

    async def main():
        m = SandboxManager()
        try:
            first = await m.create(SandboxSpec(memory="64m"))
            init_pid = m._sandboxes[first.id].init.init_pid
            os.kill(m._zygote.proc.pid, signal.SIGKILL)
            for _ in range(200):
                if (await m.status(first.id)).state == "stopped":
                    break
                await asyncio.sleep(0.05)
            assert (await m.status(first.id)).state == "stopped"
            for _ in range(100):  # the sandbox's init is killed too (gone, or a zombie awaiting its reaper)
                try:
                    if open(f"/proc/{init_pid}/stat").read().rsplit(")", 1)[1].split()[0] == "Z":
                        break
                except FileNotFoundError:
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError("the sandbox init outlived the zygote")
            second = await m.create(SandboxSpec(memory="64m"))
            assert (await m.execute(second.id, ["echo", "alive"])).stdout == "alive\n"
        finally:
            await m.close()

    asyncio.run(main())


def test_a_failed_launch_says_why(tmp_path):
    """A launcher error reaches the caller as the launcher's own message, and nothing is left running."""
    import asyncio

    from ale.sandbox.manager import SandboxManager
    from ale.sandbox.runtime import InitProcess

    async def main():
        m = SandboxManager()
        await m.start()
        (tmp_path / "s").mkdir()
        try:
            with pytest.raises(RuntimeError, match="mount overlay"):
                await InitProcess.start(zygote=m._zygote, scratch=tmp_path / "s", layers=[tmp_path / "missing"],
                                        disk=1 << 24, hostname="x", workdir="/", host_net=False, cgroup_dirs=[],
                                        cgroup_ops=[], seccomp=m._seccomp[True], on_event=lambda ev: None)
            assert m._zygote._live == {}
        finally:
            await m.close()

    asyncio.run(main())


def test_managers_starting_together_never_sweep_each_other():
    """A starting manager's sweep must not take another starting manager for a crashed one."""
    import asyncio
    import threading

    from ale.sandbox.manager import SandboxManager

    errors: list[BaseException] = []

    def one():
        async def main():
            m = SandboxManager()
            try:
                for _ in range(3):
                    info = await m.create(SandboxSpec(memory="64m"))
                    assert (await m.execute(info.id, ["true"])).exit_code == 0
            finally:
                await m.close()
        try:
            asyncio.run(main())
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=one) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
