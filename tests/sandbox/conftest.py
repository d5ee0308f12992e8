import asyncio
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


@pytest.fixture(scope="module")
def manager():
    """A SandboxManager on its own event loop, for tests that drive the manager directly: (manager, run)."""
    from ale.sandbox.manager import SandboxManager

    m = SandboxManager()
    loop = asyncio.new_event_loop()
    loop.run_until_complete(m.start())
    yield m, loop.run_until_complete
    loop.run_until_complete(m.close())
    loop.close()


def run_in(manager, image: str, cmd: str) -> str:
    """stdout of `bash -c cmd` in a fresh sandbox of `image` (the manager fixture's), which must exit 0."""
    m, run = manager
    info = run(m.create(SandboxSpec(image=image)))
    try:
        r = run(m.execute(info.id, ["bash", "-c", cmd]))
        assert r.exit_code == 0, r
        return r.stdout
    finally:
        run(m.delete(info.id))
