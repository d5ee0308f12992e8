"""Network modes: `egress` reaches an outside address through slirp4netns but never the host's loopback
services; `allowlist` reaches only the allowed address; `none` reaches nothing. "The internet" here is a
server in a network namespace this test makes, behind a veth pair on a benchmarking range
(198.18.0.0/15, RFC 2544): nothing is ever sent to an outside address."""

import os
import secrets
import shutil
import socket
import subprocess
import threading

import pytest

from ale.sandbox import NetworkPolicy, SandboxError, SandboxSpec
from ale.sandbox.spec import harbor_network

pytestmark = pytest.mark.skipif(not all(shutil.which(t) for t in ("slirp4netns", "nft", "ip")),
                                reason="needs slirp4netns, nftables and iproute2 (apt)")

NET = "198.18.{}.{}"


@pytest.fixture(scope="module")
def internet():
    """A netns with a TCP server on two addresses (.2 and .3) that answers 'internet', reached from the
    host over a veth pair (.1); yields (allowed address, other address, port)."""
    tag = secrets.token_hex(3)
    ns, host_if, ns_if = f"ale-test-{tag}", f"vh{tag}", f"vn{tag}"
    octet = 100 + secrets.randbelow(100)
    a1, a2, a3 = (NET.format(octet, i) for i in (1, 2, 3))

    def ip(*args, check=True):
        return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)

    ip("netns", "add", ns)
    server = None
    try:
        ip("link", "add", host_if, "type", "veth", "peer", "name", ns_if)
        ip("link", "set", ns_if, "netns", ns)
        ip("addr", "add", f"{a1}/29", "dev", host_if)
        ip("link", "set", host_if, "up")
        for a in (a2, a3):
            ip("-n", ns, "addr", "add", f"{a}/29", "dev", ns_if)
        ip("-n", ns, "link", "set", ns_if, "up")
        ip("-n", ns, "link", "set", "lo", "up")
        port = 8000 + secrets.randbelow(1000)
        server = subprocess.Popen(
            ["ip", "netns", "exec", ns, "python3", "-c",
             "import socket\ns=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
             f"s.bind(('0.0.0.0', {port})); s.listen(16)\nprint('up', flush=True)\n"
             "while True:\n c,_=s.accept(); c.sendall(b'internet\\n'); c.close()\n"],
            stdout=subprocess.PIPE, text=True)
        assert server.stdout.readline().strip() == "up"
        yield a2, a3, port
    finally:
        if server is not None:
            server.kill()
            server.wait()
        ip("link", "del", host_if, check=False)
        ip("netns", "del", ns, check=False)


def _serve(s: socket.socket, reply: bytes) -> None:
    """Answer every connection on the listening socket `s` with `reply`, in a thread, until s closes."""
    def loop():
        while True:
            try:
                c, _ = s.accept()
            except OSError:
                return
            c.sendall(reply)
            c.close()
    threading.Thread(target=loop, daemon=True).start()


@pytest.fixture(scope="module")
def host_loopback_service():
    """A TCP service on the host's 127.0.0.1 (as ALE's own API is): no sandbox may reach it."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    _serve(s, b"host-loopback\n")
    yield s.getsockname()[1]
    s.close()


PROBE = ("import socket,sys\n"
         "for a in sys.argv[1:]:\n"
         " h,p=a.rsplit(':',1)\n"
         " try:\n  c=socket.create_connection((h,int(p)),3); print(a, c.recv(64).decode().strip())\n"
         " except OSError as e: print(a, 'unreachable')\n")


def _probe(m, run, network, *targets):
    info = run(m.create(SandboxSpec(network=network)))
    try:
        r = run(m.execute(info.id, ["python3", "-c", PROBE, *targets], timeout=30))
        assert r.exit_code == 0, r
        return dict(line.split(" ", 1) for line in r.stdout.splitlines())
    finally:
        run(m.delete(info.id))


def test_egress_reaches_outside_but_not_the_host(manager, internet, host_loopback_service):
    m, run = manager
    allowed, other, port = internet
    hp = host_loopback_service
    out = _probe(m, run, "egress", f"{allowed}:{port}", f"127.0.0.1:{hp}", f"10.0.2.2:{hp}")
    assert out == {f"{allowed}:{port}": "internet", f"127.0.0.1:{hp}": "unreachable", f"10.0.2.2:{hp}": "unreachable"}
    # nor a service bound to one of the host's own addresses (here: the veth end the host holds)
    host_end = allowed.rsplit(".", 1)[0] + ".1"
    with socket.socket() as srv:
        srv.bind((host_end, 0))
        srv.listen(4)
        _serve(srv, b"host-address\n")
        target = f"{host_end}:{srv.getsockname()[1]}"
        assert _probe(m, run, "egress", target) == {target: "unreachable"}


def test_none_reaches_nothing(manager, internet, host_loopback_service):
    m, run = manager
    allowed, _, port = internet
    out = _probe(m, run, "none", f"{allowed}:{port}", f"127.0.0.1:{host_loopback_service}")
    assert set(out.values()) == {"unreachable"}


def test_allowlist_reaches_only_the_allowed(manager, internet):
    m, run = manager
    allowed, other, port = internet
    out = _probe(m, run, NetworkPolicy(mode="allowlist", allow=[allowed]), f"{allowed}:{port}", f"{other}:{port}")
    assert out == {f"{allowed}:{port}": "internet", f"{other}:{port}": "unreachable"}


def test_egress_helper_ends_with_the_sandbox(manager):
    m, run = manager
    info = run(m.create(SandboxSpec(network="egress")))
    proc = m._sandboxes[info.id].egress.proc
    assert proc.poll() is None
    run(m.delete(info.id))
    assert proc.poll() is not None


def test_harbor_network_mapping_and_bad_policies():
    assert harbor_network(network_mode="public").mode == "egress"
    assert harbor_network(network_mode="no-network").mode == "none"
    p = harbor_network(network_mode="allowlist", allowed_hosts=["pypi.org"])
    assert p.mode == "allowlist" and p.allow == ["pypi.org"]
    assert harbor_network(allow_internet=True).mode == "egress"
    assert harbor_network(allow_internet=False).mode == "none"
    assert harbor_network().mode == "none"
    with pytest.raises(ValueError, match="unknown network_mode"):
        harbor_network(network_mode="bridge")
    with pytest.raises(ValueError, match="needs at least one allowed host"):
        NetworkPolicy(mode="allowlist")
    with pytest.raises(ValueError, match="need network mode allowlist"):
        NetworkPolicy(mode="egress", allow=["x"])


def test_host_names_are_not_resolved_in_tests(manager):
    """tests/conftest.py sets ALE_NO_DNS=1: an allow-listed name is refused in one line, never looked up."""
    m, run = manager
    assert os.environ.get("ALE_NO_DNS") == "1"
    with pytest.raises(SandboxError, match="host names are not resolved here") as e:
        run(m.create(SandboxSpec(network=NetworkPolicy(mode="allowlist", allow=["pypi.org"]))))
    assert "\n" not in e.value.message
