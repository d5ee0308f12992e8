"""Every end reason, with the scripted model and the LocalEnvironment fake."""
import json

from ale.agent import END_REASONS, Agent, AgentConfig, Trajectory
from ale.agent.models import ScriptedModel
from ale.agent.protocols import ContextLengthError
from .agent_testkit import LocalEnvironment


def tc(name, **args):
    return {"tool_calls": [{"function": {"name": name, "arguments": json.dumps(args)}}]}


def hermes(name, **args):
    return {"content": f'<tool_call>{{"name": "{name}", "arguments": {json.dumps(args)}}}</tool_call>'}


def run(env, replies, **cfg):
    cfg.setdefault("output_dir", env.workdir + "/../state/outputs")
    return Agent(ScriptedModel(replies), env, AgentConfig(**cfg)).run("the task")


def test_finished_and_trajectory_fields(env, tmp_path):
    t = run(env, [tc("bash", command="echo hello > out.txt"), tc("read_file", path="out.txt"),
                  tc("finish", summary="wrote out.txt")])
    assert t.end_reason == "finished" and t.end_detail == "wrote out.txt"
    assert env.read_file("out.txt") == "hello\n"
    assert [s["action"]["tool"] for s in t.steps] == ["bash", "read_file", "finish"]
    assert t.steps[1]["observation"] == "     1\thello"
    assert [m["role"] for m in t.messages] == ["system", "user"] + ["assistant", "tool"] * 3
    assert t.messages[3]["tool_call_id"] == t.messages[2]["tool_calls"][0]["id"]
    assert t.reward is None and t.sandbox_events == [{"kind": "fake_created"}] and len(t.turns) == 3
    t.save(tmp_path / "t.json")
    d = json.loads((tmp_path / "t.json").read_text())
    assert d["schema_version"] == 1 and d["end_reason"] == "finished" and d["chunks"] == [] and len(d["steps"]) == 3
    assert Trajectory.load(tmp_path / "t.json").steps == t.steps


def test_text_format_observations_go_back_as_user_messages(env):
    m = ScriptedModel([hermes("bash", command="echo a"), {"content": "```bash\necho b\n```"}, hermes("finish")])
    m.supports_native_tools = False
    agent = Agent(m, env, AgentConfig(tool_format="auto"))
    t = agent.run("x")
    assert t.end_reason == "finished"
    assert "<tools>" in t.messages[0]["content"]  # tools described in the system prompt
    assert t.messages[3] == {"role": "user", "content": "<tool_response>\na\n[exit code: 0]\n</tool_response>"}
    assert "b\n[exit code: 0]" in t.messages[5]["content"]


def test_step_limit(env):
    t = run(env, [tc("bash", command=f"echo {i}") for i in range(5)], max_steps=3)
    assert t.end_reason == "step_limit" and len(t.turns) == 3


def test_format_errors_in_a_row_end_the_episode(env):
    t = run(env, [{"content": "hmm"}, tc("bash", command="true"), {"content": "no"}, {"content": "x"},
                  {"content": "```bash\n```"}], max_format_errors=3)
    assert t.end_reason == "format_errors"
    assert [s["format_error"] for s in t.steps if "format_error" in s] == [True] * 4
    assert t.messages[3]["content"].startswith("Format error: no tool call found")


def test_loop_reminder_then_end(env):
    t = run(env, [tc("bash", command="echo same")] * 8, loop_remind_at=3, loop_end_at=5)
    assert t.end_reason == "loop" and len(t.turns) == 5
    assert [e["type"] for e in t.events] == ["loop_reminder"]
    assert any("repeated the same action 3 times" in (m.get("content") or "") for m in t.messages)


def test_loop_key_action_only_ignores_changing_output(env):
    replies = [tc("bash", command="date +%s%N")] * 6
    assert run(env, replies, loop_key="action+observation", max_steps=4).end_reason == "step_limit"
    assert run(env, replies, loop_key="action", loop_remind_at=2, loop_end_at=3).end_reason == "loop"


def test_wall_time_timeout(env):
    t = run(env, [tc("bash", command="sleep 5"), tc("finish")], wall_time_s=1.0)
    assert t.end_reason == "timeout" and t.wall_s < 4
    assert "time limit" in t.steps[0]["observation"]  # the command was cut at the remaining wall time


def test_guard_stop(tmp_path):
    env = LocalEnvironment(tmp_path, guard_on=":(){")
    t = run(env, [tc("bash", command=":(){ :|:& };:"), tc("finish")])
    assert t.end_reason == "guard_stop" and "stop_and_reset" in t.end_detail
    assert t.events[0]["type"] == "guard" and {"kind": "guard", "action": "stop_and_reset"} in t.sandbox_events


def test_context_limit_when_nothing_to_compact(env):
    t = run(env, [tc("finish")], max_tokens=50)
    assert t.end_reason == "context_limit" and len(t.turns) == 0


def test_over_compaction_threshold_but_within_budget_goes_on(env):
    model = ScriptedModel([tc("finish")])
    probe = Agent(model, env).run("x" * 4000)
    budget = int(probe.turns[0].prompt_tokens / 0.9)  # the first prompt is at 90% of the budget
    t = Agent(ScriptedModel([tc("finish")]), env, AgentConfig(max_tokens=budget)).run("x" * 4000)
    assert t.end_reason == "finished" and not t.events


def test_context_limit_from_backend(env):
    class TooLong(ScriptedModel):
        def generate(self, messages, tools=None):
            raise ContextLengthError("prompt too long")

    t = Agent(TooLong([]), env).run("x")
    assert (t.end_reason, t.end_detail) == ("context_limit", "prompt too long")


def test_error_when_model_fails(env):
    t = run(env, [tc("bash", command="true")])
    assert t.end_reason == "error" and "no reply left" in t.end_detail and len(t.steps) == 1


def test_every_end_reason_is_covered_here():
    import inspect
    import sys
    src = inspect.getsource(sys.modules[__name__])
    for reason in END_REASONS:
        assert f'"{reason}"' in src


def test_tool_error_does_not_crash_the_loop(env):
    t = run(env, [tc("edit", path="missing.py", old_string="a", new_string="b"), tc("nosuchtool"), tc("finish")])
    assert t.end_reason == "finished"
    assert "cannot read missing.py" in t.steps[0]["observation"] and t.steps[0]["error"]
    assert "unknown tool" in t.steps[1]["observation"]


def test_agents_md_is_read_at_start(env):
    env.write_file("AGENTS.md", "Run tests with make check.")
    t = run(env, [tc("finish")])
    assert "Notes from AGENTS.md" in t.messages[1]["content"] and "make check" in t.messages[1]["content"]
    t2 = run(LocalEnvironment(env._state.parent / "other"), [tc("finish")])
    assert t2.messages[1]["content"] == "the task"


def test_long_output_truncated_head_tail_with_full_file(env):
    t = run(env, [tc("bash", command="seq 1 5000"), tc("finish")], max_observation_chars=400)
    obs = t.steps[0]["observation"]
    path = t.steps[0]["output_path"]
    assert obs.startswith("1\n2\n3\n") and "[exit code: 0]" in obs and len(obs) < 400 + 250
    assert f"the full output is in {path}" in obs
    full = env.read_file(path)
    assert full.splitlines()[:5000] == [str(i) for i in range(1, 5001)]


def test_sandbox_truncated_output_path_is_passed_on(tmp_path):
    env = LocalEnvironment(tmp_path, truncate_at=100)
    t = run(env, [tc("bash", command="seq 1 1000"), tc("finish")])
    path = t.steps[0]["output_path"]
    assert f"full output in {path}" in t.steps[0]["observation"] and "1000" in env.read_file(path)


def test_ctrl_c_ends_as_interrupted_with_the_steps_so_far(env):
    class CtrlC(ScriptedModel):  # the second turn is interrupted, as Ctrl-C in the main thread would
        def generate(self, messages, tools=None):
            if len([m for m in messages if m["role"] == "assistant"]) == 1:
                raise KeyboardInterrupt
            return super().generate(messages, tools)

    agent = Agent(CtrlC([tc("bash", command="echo one"), tc("finish")]), env, AgentConfig())
    try:
        agent.run("the task")
        raise AssertionError("KeyboardInterrupt must reach the caller")
    except KeyboardInterrupt:
        pass
    t = agent.traj
    assert t.end_reason == "interrupted" and len(t.steps) == 1 and t.steps[0]["observation"].startswith("one")
    assert t.ended_at > 0 and len(t.turns) == 1
