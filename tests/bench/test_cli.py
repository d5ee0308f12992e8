"""`ale bench` as a user meets it: one clear line on stderr for bad input and for tasks that could not be
evaluated (non-zero exit), invalid tasks skipped and reported, resume only on an identical configuration,
default output in a fresh run folder, Ctrl-C saves finished tasks and exits 130. Real sandboxes."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from typer.testing import CliRunner

from ale.bench.cli import app
from .bench_testkit import bash_call, needs_root, scripted, write_task

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]
FINISH = {"tool_calls": [{"function": {"name": "finish", "arguments": "{}"}}]}



def _sigint_default() -> None:
    """The child takes Ctrl-C as a user's shell gives it (a background job of a script starts with it ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def error_lines(r) -> list[str]:
    assert "Traceback" not in r.output, r.output
    return [ln for ln in r.stderr.splitlines() if ln.strip()]


def bench(*args):
    return runner.invoke(app, list(args))


def test_generate_into_a_file_is_one_line(tmp_path):
    r = bench("generate", "write-word", "--n", "1", "--out", "/etc/passwd")
    assert r.exit_code == 2 and error_lines(r) == ["error: --out /etc/passwd: /etc/passwd is not a folder"]


def test_generate_unknown_param_names_the_known_ones(tmp_path):
    r = bench("generate", "write-word", "--n", "1", "--out", str(tmp_path), "-p", "nosuchparam=3")
    assert r.exit_code == 2
    assert error_lines(r) == ["error: --param nosuchparam: write-word has no such parameter (it takes: hint)"]
    assert not list(tmp_path.iterdir())


@needs_root
def test_errored_tasks_are_reported_with_their_first_message_and_exit_1(tmp_path):
    tasks = tmp_path / "tasks"
    write_task(tasks, "ok")
    write_task(tasks, "nosolution", solution=None)
    (tasks / "broken").mkdir()
    (tasks / "broken" / "task.yaml").write_text("instruction: [unclosed\n")
    r = runner.invoke(app, ["run", "--tasks", str(tasks), "--agent", "oracle", "--out", str(tmp_path / "r" / "results.json")],
                      env={"TTY_COMPATIBLE": "1", "COLUMNS": "200"})  # a terminal: the progress bar is drawn
    lines = error_lines(r)
    assert r.exit_code == 1, r.output
    assert " eta " in r.stdout  # the bar's time remaining
    assert lines[0].startswith(f"skipped invalid task {tasks / 'broken'}: ")
    assert lines[1] == f"error: 1 attempt(s) with task_error; first: nosolution: {tasks / 'nosolution'}: no solution.sh or solution/solve.sh"
    assert len(lines) == 2 and "{'task_error'" not in r.output  # no Python dict
    res = json.loads((tmp_path / "r" / "results.json").read_text())
    assert [t["task_id"] for t in res["tasks"]] == ["nosolution", "ok"] and res["tasks"][1]["passed"]
    # the report links each row to its trajectory page and shows tests passed/total and the output's tail
    report = (tmp_path / "r" / "results.html").read_text()
    assert '<a href="results.view/t/0.html">ok</a>' in report and '<td class="tests">1/1</td>' in report
    assert "no solution.sh" in report.split("nosolution")[-1]
    assert "ok" in (tmp_path / "r" / "results.view" / "t" / "0.html").read_text()


@needs_root
def test_unreachable_endpoint_fails_once_before_any_episode(tmp_path):
    write_task(tmp_path / "tasks", "ok")
    t0 = time.time()
    r = bench("run", "--tasks", str(tmp_path / "tasks"), "--agent", "openai:m@http://127.0.0.1:9/v1",
              "--out", str(tmp_path / "results.json"))
    assert r.exit_code == 2 and time.time() - t0 < 15
    assert error_lines(r) == ["error: cannot reach the model endpoint http://127.0.0.1:9/v1/models: "
                              "ConnectError: [Errno 111] Connection refused"]


@needs_root
def test_resume_only_on_an_identical_configuration(tmp_path, monkeypatch):
    write_task(tmp_path / "tasks", "a")
    write_task(tmp_path / "tasks", "b")
    agent = scripted(tmp_path / "s.jsonl", bash_call("echo hi > /workspace/answer.txt"), FINISH)
    out = str(tmp_path / "results.json")
    common = ["run", "--tasks", str(tmp_path / "tasks"), "--agent", agent, "--out", out]
    assert bench(*common, "--max-steps", "1").exit_code == 0  # the finish turn is cut: both fail
    r = bench(*common, "--max-steps", "5")
    assert r.exit_code == 2
    assert error_lines(r) == [f"error: {out} holds results of another configuration (max_steps 1 there, 5 now): "
                              "use another --out, or --no-resume to replace them"]
    r = bench(*common, "--max-steps", "5", "--no-resume")
    assert r.exit_code == 0 and "(2/2 tasks)" in r.output
    r = bench(*common, "--max-steps", "5")
    assert r.exit_code == 0 and error_lines(r) == [f"resumed 2 of 2 tasks from {tmp_path / 'results.tasks'}"]
    # a changed script is another model: not reused either
    scripted(tmp_path / "s.jsonl", FINISH)
    r = bench(*common, "--max-steps", "5")
    assert r.exit_code == 2 and "model " in error_lines(r)[0]
    # without --out: a fresh run folder each time, never the working directory
    monkeypatch.chdir(tmp_path)
    assert bench("run", "--tasks", str(tmp_path / "tasks"), "--agent", "oracle").exit_code == 0
    assert bench("run", "--tasks", str(tmp_path / "tasks"), "--agent", "oracle").exit_code == 0
    assert len(list(tmp_path.glob("runs/bench-oracle-*/results.json"))) == 2


@needs_root
def test_ctrl_c_saves_finished_tasks_and_exits_130(tmp_path):
    write_task(tmp_path / "tasks", "a")
    write_task(tmp_path / "tasks", "b")
    agent = scripted(tmp_path / "s.jsonl", bash_call("sleep 4; echo hi > /workspace/answer.txt"), FINISH)
    out = tmp_path / "res" / "results.json"
    cmd = [sys.executable, "-m", "ale.cli", "bench", "run", "--tasks", str(tmp_path / "tasks"), "--agent", agent,
           "--concurrency", "1", "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.Popen(preexec_fn=_sigint_default, args=cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.time() + 120
    while not (tmp_path / "res" / "results.tasks" / "a.json").exists():
        assert p.poll() is None and time.time() < deadline, p.stderr.read()
        time.sleep(0.2)
    time.sleep(1.0)  # task b is in its sleep now
    t0 = time.time()
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 130 and time.time() - t0 < 8, err
    assert err.strip().splitlines()[-1] == f"interrupted; 1 of 2 tasks saved in {out.parent}; re-run to resume"
    again = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env, timeout=120)
    assert again.returncode == 0 and f"resumed 1 of 2 tasks" in again.stderr
