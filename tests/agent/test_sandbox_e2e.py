"""End to end: the harness over the real embedded sandbox (no fakes)."""
import json
import os

import pytest

from ale.agent import Agent, AgentConfig, SandboxEnvironment
from ale.agent.models import ScriptedModel

if os.geteuid() != 0:  # the sandbox runtime needs root (namespaces, cgroups, overlay)
    pytest.skip("sandbox tests need root", allow_module_level=True)


def tc(name, **args):
    return {"tool_calls": [{"function": {"name": name, "arguments": json.dumps(args)}}]}


@pytest.fixture(scope="module")
def client():
    from ale.sandbox import SandboxClient

    with SandboxClient() as c:
        yield c


@pytest.fixture
def env(client):
    from ale.sandbox import SandboxSpec

    e = SandboxEnvironment(client.create(SandboxSpec(memory="256m", pids=64)), workdir="/workspace",
                           owns_sandbox=True)
    e.sandbox.exec("mkdir -p /workspace", timeout=30)
    yield e
    e.close()


def test_scripted_agent_fixes_a_bug_in_a_real_sandbox(env):
    env.write_file("calc/ops.py", "def add(a, b):\n    return a - b\n")
    replies = [tc("todo", items=[{"content": "find the bug"}, {"content": "fix it"}]),
               tc("grep", pattern="def add"),
               tc("bash", command="cd calc && python3 -c 'import ops; print(ops.add(2, 3))'"),
               # (a same-length edit in the same second would leave the .pyc of the run above looking valid)
               tc("edit", path="calc/ops.py", old_string="return a - b", new_string="return (a + b)"),
               tc("bash", command="python3 -c 'import ops; assert ops.add(2, 3) == 5; print(\"ok\")'"),
               tc("read_file", path="calc/ops.py", start_line=2),
               tc("finish", summary="add now adds")]
    t = Agent(ScriptedModel(replies), env).run("Fix calc/ops.py: add() must add.")
    assert t.end_reason == "finished", t.end_detail
    obs = [s["observation"] for s in t.steps]
    assert obs[1] == "./calc/ops.py:1:def add(a, b):"
    assert obs[2] == "-1\n[exit code: 0]" and obs[4] == "ok\n[exit code: 0]"  # the shell stayed in calc/
    assert obs[5] == "     2\t    return (a + b)"
    r = env.sandbox.exec("cd /workspace/calc && python3 -c 'import ops; print(ops.add(20, 22))'", timeout=30)
    assert r.stdout.strip() == "42"


def test_stuck_commands_and_huge_output(env):
    replies = [tc("bash", command="cat <<EOF\nno end"), tc("bash", command="sleep 10", timeout=1),
               tc("bash", command="seq 1 300000"), tc("bash", command="echo alive"), tc("finish")]
    t = Agent(ScriptedModel(replies), env, AgentConfig(max_observation_chars=2000)).run("x")
    assert t.end_reason == "finished"
    assert [s.get("status") for s in t.steps[:4]] == ["incomplete_input", "timeout", "completed", "completed"]
    big = t.steps[2]
    assert big["output_path"] and big["output_path"] in big["observation"] and len(big["observation"]) < 2500
    assert env.read_file(big["output_path"]).splitlines()[-1] == "300000"
    assert t.steps[3]["observation"] == "alive\n[exit code: 0]"


def test_fork_bomb_ends_with_guard_stop(env):
    replies = [tc("bash", command=":(){ :|:& };:"), tc("bash", command="sleep 3; echo alive"),
               tc("bash", command="echo again"), tc("finish")]
    t = Agent(ScriptedModel(replies), env).run("x")
    assert t.end_reason == "guard_stop" and "pids_limit" in t.end_detail
    assert any(e["type"] == "guard" for e in t.events)
    assert any(e.get("kind") == "pids_limit" for e in t.sandbox_events)
