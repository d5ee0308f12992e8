"""`ale data rollout`: expert trajectories in real sandboxes; resume after kill -9 loses and repeats nothing."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ale.bench.generators import generate
from ale.bench.task import load_tasks
from ale.data.rollout import done_samples, rollout

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="sandboxes need root")


@pytest.fixture(scope="module")
def tasks(tmp_path_factory):
    d = tmp_path_factory.mktemp("tasks")
    generate("column-sum", 3, 1, d)
    return d


def test_expert_trajectories_and_resume(tasks, tmp_path):
    ts = load_tasks(str(tasks))[:2]
    rep = rollout(ts, "expert", tmp_path, samples=2, concurrency=2, progress=False)
    assert rep["written"] == 4 and rep["passed"] == 4 and rep["resumed"] == 0
    d = json.loads((tmp_path / "trajectories" / f"{ts[0].id}.1.json").read_text())
    assert d["reward"] == 1.0 and d["end_reason"] == "finished" and len(d["turns"]) == 5
    assert d["config"]["data"] == {"task_id": ts[0].id, "sample": 1, "teacher": "expert", "domain": "data-processing",
                                   "difficulty": ts[0].difficulty, "source": "generator:column-sum", "failure": None}
    again = rollout(ts, "expert", tmp_path, samples=3, concurrency=2, progress=False)
    assert again["resumed"] == 4 and again["ran"] == 2 and again["written"] == 2
    assert done_samples(tmp_path) == {(t.id, k) for t in ts for k in range(3)}


def test_kill_9_then_resume_loses_and_duplicates_nothing(tasks, tmp_path):
    cmd = [sys.executable, "-m", "ale.cli", "data", "rollout", str(tasks), "--teacher", "expert", "--samples", "4",
           "--concurrency", "2", "--out", str(tmp_path)]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent.parent)}
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    traj = tmp_path / "trajectories"
    deadline = time.time() + 120
    while time.time() < deadline and len(list(traj.glob("*.json"))) < 3:
        time.sleep(0.05)
    os.killpg(p.pid, signal.SIGKILL)  # the whole group: the CLI and its sandbox launchers
    p.wait()
    before = {f.name: f.read_bytes() for f in traj.glob("*.json")}
    assert 3 <= len(before) < 12, len(before)
    for data in before.values():
        json.loads(data)  # every file there is complete
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    rep = json.loads((tmp_path / "rollout.json").read_text())
    assert rep["resumed"] == len(before) and rep["written"] == 12 - len(before)
    names = sorted(f.name for f in traj.glob("*.json"))
    assert names == sorted(f"{t.id}.{k}.json" for t in load_tasks(str(tasks)) for k in range(4))
    for n, data in before.items():  # nothing finished before the kill was run or written again
        assert (traj / n).read_bytes() == data
    for f in traj.iterdir():
        d = json.loads(f.read_text())
        assert d["reward"] == 1.0 and (d["config"]["data"]["task_id"], d["config"]["data"]["sample"]) == \
            (f.name.rsplit(".", 2)[0], int(f.name.rsplit(".", 2)[1]))


def test_teacher_without_solutions_is_refused(tmp_path):
    from typer.testing import CliRunner

    from ale.cli import app

    r = CliRunner().invoke(app, ["data", "rollout", str(tmp_path / "none"), "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and "no such folder" in r.output


def test_openai_compatible_teacher(tmp_path):
    """A teacher behind an OpenAI-compatible endpoint (here the model proxy on loopback serving a script)."""
    import yaml

    from ale.agent import ModelProxy
    from ale.agent.models import ScriptedModel

    generate("write-word", 1, 4, tmp_path / "t", hint=False)
    word = yaml.safe_load((tmp_path / "t" / "write-word-s4-0000" / "task.yaml").read_text())["instruction"].split()[3]
    script = ScriptedModel([{"tool_calls": [{"function": {"name": "bash", "arguments": json.dumps(
        {"command": f"echo {word} > /workspace/answer.txt"})}}]},
                            {"tool_calls": [{"function": {"name": "finish", "arguments": "{}"}}]}])
    with ModelProxy(script).serve(port=0) as server:
        rep = rollout(load_tasks(str(tmp_path / "t")), f"openai:teacher@{server.url}", tmp_path / "o", progress=False)
    assert rep["written"] == 1 and rep["passed"] == 1, rep
    d = json.loads((tmp_path / "o" / "trajectories" / "write-word-s4-0000.0.json").read_text())
    assert d["model"].startswith("openai:teacher@http://127.0.0.1:") and d["config"]["data"]["teacher"].startswith("openai:")
