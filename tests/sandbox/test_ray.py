"""The Ray backend on a local two-node cluster (both nodes on 127.0.0.1)."""

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from ale.sandbox import SandboxClient, SandboxSpec

pytest.importorskip("ray")
RAY = str(Path(sys.executable).with_name("ray"))


def _port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    port = _port()
    tmp = tmp_path_factory.mktemp("ray")
    # A fresh HOME: a ~/.ray/auth_token left by another local Ray (ray.init creates one) would switch the
    # head to token auth and the second node would not be let in.
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "HOME": str(tmp)}
    common = ["--node-ip-address=127.0.0.1", "--num-cpus=1", "--disable-usage-stats"]
    subprocess.run([RAY, "start", "--head", f"--port={port}", "--include-dashboard=false", f"--temp-dir={tmp}",
                    *common], check=True, env=env, capture_output=True)
    try:
        subprocess.run([RAY, "start", f"--address=127.0.0.1:{port}", *common], check=True, env=env,
                       capture_output=True)
        yield f"127.0.0.1:{port}"
    finally:
        import ray

        ray.shutdown()  # never leave this process connected to a cluster that is about to stop
        subprocess.run([RAY, "stop", "--force"], env=env, capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)


def test_two_nodes_place_and_run(cluster, monkeypatch):
    monkeypatch.setenv("RAY_ADDRESS", cluster)
    with SandboxClient("ray") as c:
        boxes = [c.create(SandboxSpec(memory="128m")) for _ in range(4)]
        nodes = {b.status().node for b in boxes}
        assert len(nodes) == 2, nodes  # spread by free capacity over both nodes
        for i, b in enumerate(boxes):
            assert b.exec(f"echo {i}").stdout == f"{i}\n"
        s = boxes[0].create_session()
        s.run("cd /tmp")
        assert s.run("pwd").output == "/tmp\n"
        boxes[0].exec("echo kept > /workspace/f")
        forks = boxes[0].fork(n=2)  # on their parent's node, where the snapshot is
        assert {f.status().node for f in forks} == {boxes[0].status().node}
        assert [f.exec("cat /workspace/f").stdout for f in forks] == ["kept\n"] * 2
        assert forks[0].session(s.id).run("pwd").output == "/tmp\n"
        boxes += forks
        assert {b.id for b in boxes} <= {i.id for i in c.list()}
        boxes[1].delete()
        assert boxes[1].id not in {i.id for i in c.list()}
