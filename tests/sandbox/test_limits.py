"""Every limit is enforced, and the guard stops and resets on the default triggers."""

import time

from ale.sandbox import SandboxSpec


def _kinds(box, wait_for: str | None = None):
    """Event kinds; the guard acts in the background, so optionally wait (briefly) for one."""
    deadline = time.monotonic() + 5
    while True:
        kinds = [e["kind"] for e in box.events()]
        if wait_for is None or wait_for in kinds or time.monotonic() > deadline:
            return kinds
        time.sleep(0.05)


def test_fork_bomb_is_contained_and_reset(client):
    box = client.create(SandboxSpec(pids=64))
    box.exec("touch /workspace/mark")
    r = box.exec(["bash", "-c", ":(){ :|:& };: ; sleep 20"], timeout=20)
    assert r.guard is not None and r.guard.kind == "pids_limit" and r.guard.action == "stop_and_reset"
    assert "pids_limit" in _kinds(box) and "reset" in _kinds(box, wait_for="reset")
    assert box.exec("test -e /workspace/mark; echo $?").stdout == "1\n"  # back to the image
    box.delete()


def test_memory_bomb_is_killed_and_reset(client):
    box = client.create(SandboxSpec(memory="128m"))
    r = box.exec(["python3", "-c", "b = bytearray(512 * 2**20); print('survived')"], timeout=30)
    assert r.exit_code in (137, -1) and "survived" not in r.stdout  # OOM-killed, or the reset got there first
    assert r.guard is not None and r.guard.kind == "oom_kill"
    assert "oom_kill" in _kinds(box)
    box.delete()


def test_disk_limit(client):
    box = client.create(SandboxSpec(disk="32m"))
    r = box.exec("dd if=/dev/zero of=/workspace/big bs=1M count=100 2>&1; df -k / | tail -1")
    assert "No space left" in r.stdout
    used_kb = int(r.stdout.split()[-4])
    assert used_kb <= 33 * 1024
    assert "disk_full" in _kinds(box, wait_for="disk_full")
    box.delete()


def test_cpu_quota(client):
    box = client.create(SandboxSpec(cpus=0.25))
    # 1.5 s: under the module guard's 2 s CPU budget, so the guard leaves it alone
    r = box.exec("python3 -c \"import time,os\nt=time.time()\nwhile time.time()-t<1.5: pass\n"
                 "u=os.times(); print(u.user+u.system)\"", timeout=30)
    used = float(r.stdout)
    assert used < 1.5 * 0.25 * 1.5, used  # 1.5 s wall at a quarter CPU
    box.delete()


def test_cpu_miner_is_stopped_after_budget(client):
    # the module's client uses a 2 s CPU budget
    box = client.create(SandboxSpec(cpus=0.5))
    r = box.exec("python3 -c 'while True: pass'", timeout=30)
    assert r.guard is not None and r.guard.kind == "cpu_budget"
    assert r.duration_s < 15
    box.delete()
