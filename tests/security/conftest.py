"""Fixtures of the security suite: one embedded client per module, a fresh sandbox per attack, a watched
host canary directory, and host listeners on local addresses only."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
from pathlib import Path

import pytest

from ale.sandbox import SandboxClient, SandboxSpec
from attack_kit import SPEC, HostCanary, Listeners, host_addresses

if os.geteuid() != 0:  # the sandbox runtime needs root (namespaces, cgroups, overlay mounts)
    pytest.skip("the security suite needs root", allow_module_level=True)


@pytest.fixture(scope="module")
def client():
    with SandboxClient() as c:
        yield c


@pytest.fixture
def sandbox(client):
    sb = client.create(SandboxSpec(**SPEC))
    yield sb
    sb.delete()


@pytest.fixture
def canary():
    d = Path(f"/tmp/ale-sec-canary-{secrets.token_hex(4)}")
    d.mkdir(mode=0o755)
    secret = f"HOST-SECRET-{secrets.token_hex(8)}\n"
    (d / "secret.txt").write_text(secret)
    c = HostCanary(d, secret)
    c.watch()
    yield c
    os.close(c.fd)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def listeners():
    ls = Listeners()
    ls.add("tcp", socket.AF_INET, socket.SOCK_STREAM, ("127.0.0.1", 0))
    ls.add("udp", socket.AF_INET, socket.SOCK_DGRAM, ("127.0.0.1", 0))
    if socket.has_ipv6:
        try:
            ls.add("tcp6", socket.AF_INET6, socket.SOCK_STREAM, ("::1", 0))
        except OSError:
            pass
    for addr in host_addresses():
        ls.add("tcp", socket.AF_INET, socket.SOCK_STREAM, (addr, 0))
    ls.add("unix", socket.AF_UNIX, socket.SOCK_STREAM, b"\0ale-sec-" + secrets.token_hex(4).encode())
    yield ls
    for _, s in ls.socks:
        s.close()
