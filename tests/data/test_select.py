"""`ale data select`: pass rates under a policy, the band with RL signal, a task list `ale train rl` takes."""
import json
import os

import pytest
import yaml
from typer.testing import CliRunner

from ale.bench.generators import generate
from ale.cli import app
from ale.data.select import band


def test_band_keeps_mixed_outcomes_only():
    assert band({"a": 0.0, "b": 0.25, "c": 1.0, "d": 0.75}, 0.0, 1.0) == ["b", "d"]
    assert band({"a": 0.0, "b": 0.25, "c": 0.5}, 0.2, 0.4) == ["b"]


@pytest.mark.skipif(os.geteuid() != 0, reason="sandboxes need root")
def test_select_writes_an_rl_task_list(tmp_path):
    from ale.train.config import load_config

    generate("write-word", 2, 3, tmp_path / "cands", hint=False)
    # a scripted policy that solves exactly one of the two instances: rates 1.0 and 0.0
    word = yaml.safe_load((tmp_path / "cands" / "write-word-s3-0000" / "task.yaml").read_text())["instruction"].split()[3]
    script = tmp_path / "policy.jsonl"
    script.write_text("\n".join(json.dumps({"tool_calls": [{"function": {"name": n, "arguments": json.dumps(a)}}]}) for n, a in
                                [("bash", {"command": f"echo {word} > /workspace/answer.txt"}), ("finish", {})]))
    r = CliRunner().invoke(app, ["data", "select", str(tmp_path / "cands"), "--policy", f"scripted:{script}", "-k", "2",
                                 "--out", str(tmp_path / "sel"), "--low", "0", "--high", "1"])
    assert r.exit_code == 0, r.output
    rep = json.loads((tmp_path / "sel" / "select.json").read_text())
    assert [i["pass_rate"] for i in rep["instances"]] == [1.0, 0.0]
    assert rep["kept"] == 0 and rep["too_easy"] == 1 and rep["too_hard"] == 1
    frag = yaml.safe_load((tmp_path / "sel" / "rl-tasks.yaml").read_text())
    assert frag["rollout"]["task_filter"] == []
    cfg = load_config("examples/cpu-tiny/rl.yaml", [f"rollout.tasks={frag['rollout']['tasks']}"])
    assert cfg.rollout.tasks == str((tmp_path / "sel" / "tasks").resolve())


def test_select_bad_band():
    r = CliRunner().invoke(app, ["data", "select", "builtin", "--policy", "oracle", "--low", "0.8", "--high", "0.2",
                                 "--out", "/tmp/x"])
    assert r.exit_code == 2 and "low < high" in r.output
