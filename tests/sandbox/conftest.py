import os

import pytest

from ale.sandbox import SandboxClient, SandboxSpec

if os.geteuid() != 0:  # the runtime needs root (namespaces, cgroups, overlay): say so instead of failing oddly
    pytest.skip("sandbox tests need root", allow_module_level=True)


@pytest.fixture(scope="module")
def client():
    from ale.sandbox.manager import GuardConfig

    with SandboxClient(guard=GuardConfig(cpu_budget_s=2.0, interval_s=0.25)) as c:
        yield c


@pytest.fixture
def sb(client):
    box = client.create(SandboxSpec(memory="256m", pids=128, disk="64m"))
    yield box
    box.delete()
