"""The verifier phase runs offline when the agent phase had egress (a prepared verifier, or a task whose
verifier has no network): `take_offline` stops the sandbox's user-mode networking and sets its links
down. Reached address: a network namespace the test makes itself (tests/sandbox/test_network.py's)."""
from __future__ import annotations

import time

from ale.bench.task import take_offline
from ale.sandbox import TASK_CAPABILITIES, SandboxSpec
from tests.sandbox.conftest import manager  # noqa: F401 (fixture)
from tests.sandbox.test_network import internet, pytestmark  # noqa: F401 (fixture, skip marks)


def test_take_offline_cuts_an_egress_sandbox(manager, internet):  # noqa: F811
    m, run = manager
    addr, _, port = internet
    info = run(m.create(SandboxSpec(network="egress", capabilities=TASK_CAPABILITIES)))
    probe = ["python3", "-c", f"import socket; socket.create_connection(('{addr}', {port}), 5); print('reached')"]
    try:
        assert "reached" in run(m.execute(info.id, probe)).stdout  # the agent phase's egress works
        run(take_offline(m, info.id))
        t0 = time.monotonic()
        r = run(m.execute(info.id, probe))
        assert "reached" not in r.stdout and "unreachable" in r.stderr, r
        assert time.monotonic() - t0 < 3  # fails at once, no timeout on a dead gateway
        links = run(m.execute(info.id, ["cat", "/proc/net/route"])).stdout.strip().splitlines()
        assert len(links) == 1, links  # no route left (header line only)
    finally:
        run(m.delete(info.id))
