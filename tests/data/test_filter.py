"""Verify and filter: each drop reason on a real expert rollout and on edited copies of it."""
import copy
import json
import os
import shutil

import pytest

from ale.bench.generators import generate
from ale.data.filter import FilterConfig, filter_trajectories, heuristic_reason
from ale.data.rollout import rollout

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="sandboxes need root")


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    root = tmp_path_factory.mktemp("filter")
    generate("column-sum", 2, 7, root / "tasks")
    from ale.bench.task import load_tasks

    rollout(load_tasks(str(root / "tasks")), "expert", root / "roll", samples=2, concurrency=2, progress=False)
    return root


def _load(made, name):
    return json.loads((made / "roll" / "trajectories" / name).read_text())


def _bash_steps(d):
    return [st for st in d["steps"] if st["action"] and st["action"]["tool"] == "bash"]


def test_heuristics():
    base = {"end_reason": "finished", "messages": [], "steps": [
        {"action": {"tool": "bash", "arguments": {"command": f"echo {i}"}}, "observation": str(i)} for i in range(4)]}
    cfg = FilterConfig()
    assert heuristic_reason(base, cfg) is None
    assert heuristic_reason({**base, "end_reason": "step_limit"}, cfg) == "truncated"
    assert heuristic_reason({**base, "end_reason": "loop"}, cfg) == "loop"
    same = {"action": {"tool": "bash", "arguments": {"command": "ls"}}, "observation": "a"}
    assert heuristic_reason({**base, "steps": [same] * 3}, cfg) == "loop"
    other = {"action": {"tool": "bash", "arguments": {"command": "pwd"}}, "observation": "/"}
    assert heuristic_reason({**base, "steps": [same, other, same, other, same]}, cfg) == "redundant"
    fail = [{"action": {"tool": "bash", "arguments": {"command": f"x{i}"}}, "observation": "", "error": True}
            for i in range(3)]
    assert heuristic_reason({**base, "steps": fail}, cfg) == "repeated_failures"
    long = {**base, "messages": [{"role": "assistant", "content": "x" * 9000}]}
    assert heuristic_reason(long, cfg) == "overlong_turn"


def test_every_drop_counted(made, tmp_path):
    src = made / "roll" / "trajectories"
    work = tmp_path / "in"
    shutil.copytree(src, work)
    names = sorted(p.name for p in work.iterdir())  # 2 tasks x 2 identical expert samples
    # a failed episode, an unsafe one, one whose replay will not reproduce its verdict, and garbage
    d = _load(made, names[0])
    (work / "failed.json").write_text(json.dumps({**d, "reward": 0.0}))
    unsafe = copy.deepcopy(d)
    _bash_steps(unsafe)[0]["action"]["arguments"]["command"] = "cat ~/.ssh/id_rsa"
    (work / "unsafe.json").write_text(json.dumps(unsafe))
    bad = copy.deepcopy(_load(made, names[2]))
    for m in bad["messages"]:  # the recorded actions no longer solve it, but the file claims reward 1
        for tc in m.get("tool_calls") or []:
            if tc["function"]["name"] == "write_file":
                tc["function"]["arguments"] = json.dumps({"path": "/tmp/ale-oracle/solution.sh", "content": "true\n"})
    for st in bad["steps"]:
        if st["action"] and st["action"]["tool"] == "write_file":
            st["action"]["arguments"]["content"] = "true\n"
    bad["config"]["data"]["sample"] = 9
    (work / "zz-replay.json").write_text(json.dumps(bad))
    (work / "garbage.json").write_text("{")
    rep = filter_trajectories(sorted(work.iterdir()), tmp_path / "out", FilterConfig(concurrency=2),
                              tasks_dir=[str(made / "tasks")], eval_specs=["builtin"], progress=False)
    assert rep["input"] == 8
    assert rep["dropped"] == {"unreadable": 1, "not_passed": 1, "unsafe": 1, "near_duplicate": 2,
                              "replay_mismatch": 1}, rep["files"]
    assert rep["kept"] == 2 and rep["files"]["zz-replay.json"] == "replay_mismatch"
    assert sorted(p.name for p in (tmp_path / "out" / "kept").iterdir()) == [names[0], names[2]]
    assert rep["eval_tasks_checked"] >= 80


def test_decontamination_against_a_task_dir(made, tmp_path):
    evals = tmp_path / "evalset"
    shutil.copytree(made / "tasks", evals)  # the instances themselves are in an evaluation set now
    files = sorted((made / "roll" / "trajectories").iterdir())
    rep = filter_trajectories(files, tmp_path / "out", FilterConfig(replay=False), eval_specs=["builtin", str(evals)],
                              progress=False)
    assert rep["dropped"] == {"contaminated": 4} and rep["kept"] == 0
    rep = filter_trajectories(files, tmp_path / "out2", FilterConfig(replay=False), eval_specs=["builtin"], progress=False)
    assert rep["kept"] == 2 and rep["dropped"] == {"near_duplicate": 2}
