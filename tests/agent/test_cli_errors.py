"""`ale agent run` as a user meets it: bad input gives one line on stderr (no traceback) before any
expensive work, and Ctrl-C saves the steps so far and exits 130. Real sandboxes, real subprocesses."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ale.agent import cli

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]
HELLO = ROOT / "examples/agent/hello.jsonl"
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="real sandboxes need root")



def _sigint_default() -> None:
    """The child takes Ctrl-C as a user's shell gives it (a background job of a script starts with it ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def one_error_line(r) -> str:
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in r.output, (r.output, r.stderr)
    return lines[0]


def agent_run(*args):
    return runner.invoke(cli.agent_app, ["run", "x", *args])


@needs_root
def test_no_such_image_is_one_line():
    r = agent_run("--model", f"scripted:{HELLO}", "--image", "nosuch")
    assert r.exit_code == 2 and one_error_line(r) == "error: no such image: nosuch (see `ale sandbox image ls`)"


@needs_root
def test_bad_memory_is_one_line_without_pydantic_noise():
    r = agent_run("--model", f"scripted:{HELLO}", "--memory", "lots")
    assert r.exit_code == 2
    assert one_error_line(r) == "error: bad sandbox option: memory: not a size: 'lots' (use e.g. 512m, 1g, 65536)"


@pytest.mark.parametrize("command", ["run", "chat"])
@pytest.mark.parametrize("option", ["--network", "--tool-format"])
def test_choices_are_typed_and_listed_in_help(command, option):
    r = runner.invoke(cli.agent_app, [command, *(["x"] if command == "run" else []), "--model", f"scripted:{HELLO}",
                                      option, "bogus"])
    assert r.exit_code == 2 and "is not one of" in r.stderr and "Traceback" not in r.output
    help_text = runner.invoke(cli.agent_app, [command, "--help"], env={"COLUMNS": "200"}).output
    assert "[default: none]" in help_text and "none|host" in help_text and "auto|native|text" in help_text


def test_unwritable_out_fails_before_the_model_loads(tmp_path):
    # the model spec would fail too, but later: the --out check must come first
    r = agent_run("--model", "hf:/nonexistent", "--out", "/etc/passwd/t.json")
    assert r.exit_code == 2 and one_error_line(r) == "error: --out /etc/passwd/t.json: /etc/passwd is not a folder"
    r = agent_run("--model", "hf:/nonexistent", "--out", str(tmp_path))
    assert r.exit_code == 2 and one_error_line(r) == f"error: --out {tmp_path}: is a folder, not a file"


def test_missing_out_folders_are_created_before_the_episode(tmp_path):
    out = tmp_path / "new" / "dir" / "t.json"
    r = agent_run("--model", f"scripted:{HELLO}", "--out", str(out), "--image", "nosuch")
    assert r.exit_code == 2 and out.parent.is_dir()


@needs_root
def test_unreachable_endpoint_is_checked_once_before_the_episode():
    t0 = time.time()
    r = agent_run("--model", "openai:m@http://127.0.0.1:9/v1")  # port 9 (discard): nothing listens on loopback
    line = one_error_line(r)
    assert r.exit_code == 2 and "cannot reach the model endpoint http://127.0.0.1:9/v1/models" in line
    assert time.time() - t0 < 15  # no per-turn retries


@needs_root
def test_default_output_is_a_fresh_run_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for _ in range(2):
        r = agent_run("--model", f"scripted:{HELLO}", "--quiet")
        assert r.exit_code == 0, r.output
    trajs = sorted(tmp_path.glob("runs/agent-*/traj.json"))
    assert len(trajs) == 2 and all(json.loads(t.read_text())["end_reason"] == "finished" for t in trajs)


@needs_root
def test_ctrl_c_saves_the_steps_so_far_and_exits_130(tmp_path):
    script = tmp_path / "slow.jsonl"
    calls = [{"function": {"name": "bash", "arguments": json.dumps({"command": c})}} for c in ("echo started", "sleep 120")]
    script.write_text("\n".join(json.dumps({"tool_calls": [c]}) for c in calls))
    out = tmp_path / "t.json"
    p = subprocess.Popen(preexec_fn=_sigint_default, args=[sys.executable, "-m", "ale.cli", "agent", "run", "x", "--model", f"scripted:{script}",
                          "--out", str(out)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"})
    for line in p.stdout:  # step 0 is printed when it is done; step 1 (sleep 120) starts right after
        if "started" in line:
            break
    else:
        pytest.fail(p.stderr.read())
    time.sleep(1.5)
    t0 = time.time()
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=30)
    assert p.returncode == 130 and time.time() - t0 < 10, err
    assert err.strip().splitlines()[-1] == f"interrupted; 1 step(s) saved to {out}"
    d = json.loads(out.read_text())
    assert d["end_reason"] == "interrupted" and d["steps"][0]["observation"].startswith("started")


def test_traj_view_html_writes_static_pages_for_a_folder(tmp_path):
    trajs = tmp_path / "trajs"
    for name in ("a", "b"):  # a folder of trajectories, as bench run and train rl write them
        r = runner.invoke(cli.agent_app, ["run", f"task {name}", "--model", f"scripted:{HELLO}", "--quiet",
                                          "--out", str(trajs / f"{name}.json")])
        if r.exit_code == 2:  # no sandbox here (not root): any trajectory file will do
            pytest.skip(r.stderr)
    out = tmp_path / "site"
    r = runner.invoke(cli.traj_app, ["view", str(trajs), "--html", str(out)])
    assert r.exit_code == 0 and f"wrote 2 trajectory page(s): {out / 'index.html'}" in r.output
    index = (out / "index.html").read_text()
    assert "href='t/0.html'" in index and "href='t/1.html'" in index and "finished" in index
    page = (out / "t" / "1.html").read_text()
    assert "task b" in page and "href='../index.html'" in page and "hello.txt" in page
    r = runner.invoke(cli.traj_app, ["view", str(tmp_path / "site" / "t"), "--html", str(out)])
    assert r.exit_code == 2 and one_error_line(r).startswith("error: no trajectory files in ")


@needs_root
def test_run_on_a_task_folder_uses_its_image_and_grades_it(tmp_path):
    from tests.bench.bench_testkit import bash_call, scripted, write_task

    task = write_task(tmp_path, "hi")  # its Dockerfile sets WORKDIR /workspace; its test wants answer.txt = hi
    agent = scripted(tmp_path / "s.jsonl", bash_call("pwd; echo hi > answer.txt"),
                     {"tool_calls": [{"function": {"name": "finish", "arguments": "{}"}}]})
    out = tmp_path / "t.json"
    r = runner.invoke(cli.agent_app, ["run", "--task", str(task), "--model", agent, "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "graded: 1/1 tests passed, reward 1.0" in r.stdout
    d = json.loads(out.read_text())
    assert d["task"].startswith("Write hi to /workspace/answer.txt") and d["reward"] == 1.0
    assert d["steps"][0]["observation"].startswith("/workspace")
    r = runner.invoke(cli.agent_app, ["run", "--task", "builtin:nosuch", "--model", agent])
    assert r.exit_code == 2 and one_error_line(r) == "error: --task builtin:nosuch: no built-in task 'nosuch' (see ale/bench/tasks/builtin)"
    r = runner.invoke(cli.agent_app, ["run", "text", "--task", str(task), "--model", agent])
    assert r.exit_code == 2 and one_error_line(r) == "error: give the task text or --task DIR|builtin:ID (one of them)"


@needs_root
def test_chat_ctrl_c_saves_the_session_and_exits_130(tmp_path):
    script = tmp_path / "chat.jsonl"
    script.write_text("\n".join(json.dumps(x) for x in [
        {"tool_calls": [{"function": {"name": "bash", "arguments": json.dumps({"command": "echo made"})}}]},
        {"content": "done: made"}]))
    out = tmp_path / "chat.json"
    p = subprocess.Popen(preexec_fn=_sigint_default, args=[sys.executable, "-m", "ale.cli", "agent", "chat", "--model", f"scripted:{script}", "--out", str(out)],
                         cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"})
    p.stdin.write("make it\n")
    p.stdin.flush()
    seen = ""
    while "done: made" not in seen:  # the agent answered; the next prompt waits for input
        line = p.stdout.readline()
        assert line, p.stderr.read()
        seen += line
    time.sleep(1.0)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=30)
    assert p.returncode == 130 and err.strip().splitlines()[-1] == f"interrupted; 1 step(s) saved to {out}", err
    assert json.loads(out.read_text())["steps"][0]["observation"].startswith("made")
