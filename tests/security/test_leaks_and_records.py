"""What a sandbox can learn about the host, and what it tries that is denied (issue #12 item 8)."""

from __future__ import annotations

import pytest

from ale.sandbox.manager import DEFAULT_HOME

from attack_kit import assert_blocked, host_addresses, network_attempts, run_attack


def test_mountinfo_shows_no_host_paths_or_host_ram(sandbox):
    info = sandbox.exec("cat /proc/self/mountinfo /proc/mounts").stdout
    assert info.strip()
    for leak in (str(DEFAULT_HOME), "/run/", "layers", "devtmpfs"):
        assert leak not in info, f"{leak!r} visible in the sandbox's mountinfo:\n{info}"


def test_foreign_abi_syscalls_are_killed_and_recorded(sandbox):
    r = run_attack(sandbox, "legacy_abi.c")
    assert_blocked(r)
    abis = {e.get("abi") for e in sandbox.events() if e["kind"] == "denied_syscall"}
    assert {"i386", "x32"} <= abis, f"no denied_syscall event for the foreign ABIs: {sandbox.events()}"


def test_udp_sends_with_network_none_are_recorded(sandbox):
    addrs = host_addresses()
    if not addrs:
        pytest.skip("this host has no non-loopback address to aim at")
    code = (f"import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
            f"for dst in [('{addrs[0]}', 9), ('127.0.0.1', 9)]:\n"
            f"    try: s.sendto(b'x', dst)\n    except OSError as e: print('refused', e)\n"
            f"try: s.sendmsg([b'y'], [], 0, ('{addrs[0]}', 10))\nexcept OSError as e: print('refused', e)\n")
    sandbox.exec(["python3", "-c", code])
    seen = network_attempts(sandbox)
    assert f"{addrs[0]}:9" in seen and f"{addrs[0]}:10" in seen, seen
    assert not any(a.startswith("127.") for a in seen), seen
