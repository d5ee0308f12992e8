"""Gym-style environment over real sandboxes (no fakes)."""
import os

import pytest

from ale.agent.gym import SandboxGymEnv, to_tool_call

if os.geteuid() != 0:  # the sandbox runtime needs root (namespaces, cgroups, overlay)
    pytest.skip("sandbox tests need root", allow_module_level=True)


@pytest.fixture(scope="module")
def client():
    from ale.sandbox import SandboxClient

    with SandboxClient() as c:
        yield c


def test_actions_are_parsed_with_clear_errors():
    assert to_tool_call("ls").arguments == {"command": "ls"}
    assert to_tool_call({"name": "read_file", "arguments": '{"path": "a"}'}).arguments == {"path": "a"}
    call = to_tool_call({"id": "c1", "function": {"name": "finish", "arguments": "{}"}})
    assert (call.name, call.id) == ("finish", "c1")
    with pytest.raises(ValueError, match="bash command"):
        to_tool_call(42)
    with pytest.raises(ValueError, match="not JSON"):
        to_tool_call({"name": "bash", "arguments": "{oops"})


def test_reward_function_and_step_limit(client):
    env = SandboxGymEnv(client, reward_fn=lambda e: float(e.run("cat /workspace/out.txt", 10).output.strip() == "42"), max_steps=3)
    try:
        obs = env.reset("write 42 to out.txt", seed=7)
        assert obs == "write 42 to out.txt"
        obs, r, term, trunc, info = env.step("cd /tmp && echo 42 > /workspace/out.txt && pwd")
        assert obs == "/tmp\n[exit code: 0]" and (r, term, trunc) == (0.0, False, False) and info["seed"] == 7
        obs, r, term, trunc, info = env.step("pwd")  # one persistent shell: cwd carried over
        assert obs.startswith("/tmp")
        obs, r, term, trunc, info = env.step({"name": "read_file", "arguments": {"path": "nope.txt"}})
        assert info["error"] and trunc and not term and r == 1.0 and info["graded"]  # graded at truncation
        with pytest.raises(RuntimeError, match="reset"):
            env.step("ls")
        env.reset("again")  # a fresh sandbox: the old file is gone
        obs, r, term, trunc, info = env.step("cat out.txt")
        assert "No such file" in obs
        obs, r, term, trunc, info = env.step({"name": "finish", "arguments": {"summary": "gave up"}})
        assert term and r == 0.0
    finally:
        env.close()


def test_bench_task_is_graded_with_its_hidden_tests(client, tmp_path):
    from ale.bench.task import load_task

    (tmp_path / "t" / "tests").mkdir(parents=True)
    (tmp_path / "t" / "task.yaml").write_text("instruction: Write hi to /workspace/out.txt\ndifficulty: easy\n")
    (tmp_path / "t" / "tests" / "test_outputs.py").write_text(
        "def test_out():\n    assert open('/workspace/out.txt').read().strip() == 'hi'\n")
    task = load_task(tmp_path / "t")
    env = SandboxGymEnv(client)
    try:
        assert env.reset(task) == "Write hi to /workspace/out.txt"
        assert "No such file" in env.step("ls /tests")[0]  # tests arrive only at grading time
        env.step("echo hi > /workspace/out.txt")
        obs, r, term, trunc, info = env.step({"name": "submit", "arguments": {}})
        assert term and r == 1.0 and info["grade"]["passed"] and info["grade"]["n_tests"] == 1
        env.reset(task)
        env.step("echo bye > /workspace/out.txt")
        obs, r, term, trunc, info = env.step({"name": "finish", "arguments": {}})
        assert term and r == 0.0 and info["grade"]["n_passed"] == 0
    finally:
        env.close()


def test_guard_stop_terminates_without_reward(client):
    env = SandboxGymEnv(client, reward_fn=lambda e: 1.0, memory="256m", pids=64)
    try:
        env.reset("x")
        obs, r, term, trunc, info = env.step(":(){ :|:& };:")
        if not term:  # the bomb runs in the background; the guard may act only during the next command
            obs, r, term, trunc, info = env.step("sleep 3; echo alive")
        assert term and r == 0.0 and "guard" in info and not info["graded"]
    finally:
        env.close()
