"""SandboxEnvironment against a FAKE sandbox object that records calls (the real one is tested end to end
by the sandbox's owner); checks the adapter's mapping, not isolation."""
from types import SimpleNamespace as NS

from ale.agent import Agent, AgentConfig, SandboxEnvironment
from ale.agent.models import ScriptedModel
from ale.agent.protocols import Environment
from ale.sandbox.spec import GuardAction


class FakeSession:
    def __init__(self, log, results):
        self.log, self.results = log, results

    def run(self, cmd, timeout, idle_timeout=None):
        self.log.append(("run", cmd, timeout, idle_timeout))
        return self.results.pop(0)

    def interrupt(self):
        self.log.append(("interrupt",))

    def close(self):
        self.log.append(("close",))


class FakeSandbox:
    def __init__(self, results):
        self.log, self.files, self.results = [], {}, results

    def exec(self, cmd, timeout=30, cwd=None, env=None):
        self.log.append(("exec", cmd))
        return NS(exit_code=0, stdout="/workspace\n" if cmd == "pwd" else "", stderr="", timed_out=False)

    def create_session(self, cwd=None):
        self.log.append(("create_session", cwd))
        return FakeSession(self.log, self.results)

    def read_file(self, path):
        return self.files[path]

    def write_file(self, path, content):
        self.files[path] = content

    def events(self):
        return [{"kind": "created"}]

    def delete(self):
        self.log.append(("delete",))


def res(out, code=0, status="completed", guard=None, path=None):
    return NS(output=out, exit_code=code, status=status, truncated=path is not None, output_path=path,
              duration_s=0.1, guard=guard)


def test_adapter_maps_session_results_and_interrupts_stuck_commands():
    guard = GuardAction(kind="pids_limit", action="stop_and_reset", reason="fork bomb")
    sb = FakeSandbox([res("hi\n"), res("partial", None, "waiting_for_input"), res("", None, "closed"), res("again\n"),
                      res("", -1, "interrupted", guard=guard), res("fresh\n")])
    env = SandboxEnvironment(sb, owns_sandbox=True)
    assert isinstance(env, Environment) and env.workdir == "/workspace"
    r = env.run("echo hi", timeout=5, idle_timeout=2)
    assert (r.output, r.exit_code, r.status) == ("hi\n", 0, "completed")
    assert sb.log[1:3] == [("create_session", "/workspace"), ("run", "echo hi", 5, 2)]
    r = env.run("read x", timeout=5)
    assert r.status == "waiting_for_input" and sb.log[-1] == ("interrupt",)
    env.run("exit", timeout=5)
    assert env.run("echo again", timeout=5).output == "again\n"
    assert sb.log[-2:] == [("create_session", "/workspace"), ("run", "echo again", 5, None)]  # a new shell
    r = env.run(":(){ :|:& };:", timeout=5)
    assert r.guard == {"kind": "pids_limit", "action": "stop_and_reset", "reason": "fork bomb"}
    assert sb.log[-1][0] == "run"  # nothing left to interrupt: the guard reset the sandbox and its sessions
    assert env.run("echo fresh", timeout=5).output == "fresh\n" and sb.log[-2][0] == "create_session"
    env.write_file("a/b.txt", "x")
    assert sb.files == {"/workspace/a/b.txt": "x"} and ("exec", "mkdir -p /workspace/a") in sb.log
    assert env.read_file("/workspace/a/b.txt") == env.read_file("a/b.txt") == "x"
    env.close()
    assert sb.log[-2:] == [("close",), ("delete",)]


def test_agent_runs_over_the_adapter():
    sb = FakeSandbox([res("file.txt\n")])
    replies = [{"tool_calls": [{"function": {"name": "bash", "arguments": '{"command": "ls"}'}}]},
               {"tool_calls": [{"function": {"name": "finish", "arguments": "{}"}}]}]
    t = Agent(ScriptedModel(replies), SandboxEnvironment(sb, workdir="/w"), AgentConfig(command_timeout_s=7)).run("x")
    assert t.end_reason == "finished" and t.steps[0]["observation"] == "file.txt\n[exit code: 0]"
    assert ("run", "ls", 7.0, 60.0) in sb.log and t.sandbox_events == [{"kind": "created"}]
