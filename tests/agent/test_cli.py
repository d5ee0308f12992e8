import json

from typer.testing import CliRunner

from ale.agent import cli
from ale.agent.environment import SandboxEnvironment
from .agent_testkit import LocalEnvironment

runner = CliRunner()


def script(tmp_path, lines):
    f = tmp_path / "s.jsonl"
    f.write_text("\n".join(json.dumps(x) for x in lines))
    return f


def use_fake_env(monkeypatch, tmp_path):
    created = {}

    def create(**kw):  # the CLI asks for a fresh sandbox; the LocalEnvironment FAKE stands in for it
        created.update(kw)
        return LocalEnvironment(tmp_path)

    monkeypatch.setattr(SandboxEnvironment, "create", staticmethod(create))
    return created


def test_run_streams_steps_writes_trajectory_and_exits_0_when_finished(monkeypatch, tmp_path):
    created = use_fake_env(monkeypatch, tmp_path)
    f = script(tmp_path, [{"tool_calls": [{"function": {"name": "bash", "arguments": '{"command": "echo hi-there"}'}}]},
                          {"content": '<tool_call>{"name": "finish", "arguments": {"summary": "said hi"}}</tool_call>'}])
    out = tmp_path / "t.json"
    r = runner.invoke(cli.agent_app, ["run", "say hi", "--model", f"scripted:{f}", "--image", "img",
                                      "--workdir", "/w", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "hi-there" in r.output and "end: finished" in r.output
    assert created == {"image": "img", "network": "none", "memory": "1g", "workdir": "/w"}
    d = json.loads(out.read_text())
    assert d["end_reason"] == "finished" and d["reward"] is None and len(d["steps"]) == 2 and "chunks" in d
    assert d["steps"][0]["observation"] == "hi-there\n[exit code: 0]"
    shown = runner.invoke(cli.traj_app, ["show", str(out)])
    assert shown.exit_code == 0 and "say hi" in shown.output and "hi-there" in shown.output
    assert "end: finished" in shown.output


def test_run_exits_nonzero_when_not_finished(monkeypatch, tmp_path):
    use_fake_env(monkeypatch, tmp_path)
    monkeypatch.chdir(tmp_path)  # the trajectory goes to runs/agent-TIME/ under the working directory
    f = script(tmp_path, [{"content": "no tool"}] * 5)
    r = runner.invoke(cli.agent_app, ["run", "x", "--model", f"scripted:{f}", "--max-steps", "2"])
    assert r.exit_code == 1 and "end: step_limit" in r.output


def test_bad_model_spec_and_bad_file(tmp_path):
    r = runner.invoke(cli.agent_app, ["run", "x", "--model", "nonsense"])
    assert r.exit_code == 2 and "bad model spec" in r.output
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema_version": 99}')
    r = runner.invoke(cli.traj_app, ["show", str(bad)])
    assert r.exit_code == 2 and "schema_version" in r.output


def test_chat_keeps_one_sandbox_and_context_across_messages(monkeypatch, tmp_path):
    created = use_fake_env(monkeypatch, tmp_path)
    f = script(tmp_path, [{"tool_calls": [{"function": {"name": "bash", "arguments": '{"command": "cd /tmp && echo made > chat.txt"}'}}]},
                          {"content": "I wrote chat.txt"},
                          {"tool_calls": [{"function": {"name": "bash", "arguments": '{"command": "pwd; cat chat.txt"}'}}]},
                          {"content": "it says made"}])
    out = tmp_path / "chat.json"
    r = runner.invoke(cli.agent_app, ["chat", "--model", f"scripted:{f}", "--image", "img", "--out", str(out)],
                      input="write chat.txt\n\nwhat is in it?\n/exit\nnever read\n")
    assert r.exit_code == 0, r.output
    assert created["image"] == "img"
    assert "I wrote chat.txt" in r.output and "it says made" in r.output
    d = json.loads(out.read_text())
    assert [m["content"] for m in d["messages"] if m["role"] == "user"][1:] == ["what is in it?"]
    assert d["steps"][1]["observation"] == "/tmp\nmade\n[exit code: 0]"  # the same shell, cwd kept
    assert d["end_reason"] == "finished" and len(d["turns"]) == 4


def test_chat_ends_at_end_of_input(monkeypatch, tmp_path):
    use_fake_env(monkeypatch, tmp_path)
    f = script(tmp_path, [{"content": "hello"}])
    r = runner.invoke(cli.agent_app, ["chat", "--model", f"scripted:{f}"], input="hi\n")
    assert r.exit_code == 0 and "hello" in r.output and "end: finished" in r.output
