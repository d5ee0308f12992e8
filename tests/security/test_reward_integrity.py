"""Reward integrity: what an agent leaves behind in its sandbox must not decide its grade or fake the
results the host reports (issue #12, items 1-3).

Each test plays an agent that cheats and checks the host-side outcome: the grade (from a real task
folder graded by `ale.bench.task.grade` in a real sandbox) or the session results the host returns.
"""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import pytest

from ale.bench.task import grade, load_task
from ale.sandbox import SandboxSpec

from attack_kit import ATTACKS, SPEC


def _task(tmp_path: Path, test_sh: str | None = None, test_py: str | None = None, timeout: float = 20) -> object:
    d = tmp_path / "task"
    (d / "tests").mkdir(parents=True)
    (d / "task.yaml").write_text(f"instruction: cheat\ncategory: security\nmax_test_timeout_sec: {timeout}\n")
    if test_sh is not None:
        (d / "tests" / "test.sh").write_text(test_sh)
    if test_py is not None:
        (d / "tests" / "test_outputs.py").write_text(test_py)
    return load_task(d)


def _grade(client, sb, task):
    return client.run_with_manager(lambda m: grade(m, sb.id, task))


def test_planted_reward_file_is_not_read(client, sandbox, tmp_path):
    """The verifier fails without writing a reward: the agent's planted reward.txt must not count."""
    task = _task(tmp_path, test_sh="echo 'verifier: the solution is wrong'; exit 1\n")
    sandbox.exec(["bash", "-c", "mkdir -p /logs/verifier && echo 1 > /logs/verifier/reward.txt"])
    g = _grade(client, sandbox, task)
    assert g.reward == 0.0 and not g.passed, g


def test_planted_reward_with_a_verifier_timeout(client, sandbox, tmp_path):
    task = _task(tmp_path, test_sh="sleep 30\n", timeout=1)
    sandbox.exec(["bash", "-c", "mkdir -p /logs/verifier && echo 1 > /logs/verifier/reward.txt"])
    g = _grade(client, sandbox, task)
    assert g.timed_out and g.reward == 0.0, g


def test_daemon_left_by_the_agent_cannot_rewrite_tests(client, sandbox, tmp_path):
    """A detached daemon (setsid, double fork) keeps replacing the tests and planting a reward: the
    verifier must run with nothing of the agent's left alive."""
    failing = "def test_solution():\n    assert open('/workspace/answer').read() == '42'\n"
    task = _task(tmp_path, test_py=failing)
    daemon = textwrap.dedent("""\
        while :; do
          mkdir -p /tests /logs/verifier 2>/dev/null
          printf 'def test_solution():\\n    pass\\n' > /tests/test_outputs.py 2>/dev/null
          echo 1 > /logs/verifier/reward.txt 2>/dev/null
          sleep 0.005
        done""")
    sandbox.write_file("/tmp/daemon.sh", daemon)
    r = sandbox.exec(["bash", "-c", "(setsid bash /tmp/daemon.sh </dev/null >/dev/null 2>&1 &) ; sleep 0.2; "
                                    "pgrep -f daemon.sh >/dev/null && echo running"])
    assert "running" in r.stdout
    g = _grade(client, sandbox, task)
    assert g.reward == 0.0 and g.n_tests == 1 and g.n_passed == 0, g.output[-2000:]
    # and the grade is still right for a real solution (the kill did not break grading itself)
    sandbox.write_file("/workspace/answer", "42")
    assert _grade(client, sandbox, task).reward == 1.0


def test_daemon_cannot_plant_a_reward_for_test_sh(client, sandbox, tmp_path):
    task = _task(tmp_path, test_sh="sleep 0.5; echo 'verifier: wrong'; exit 1\n")
    sandbox.write_file("/tmp/d.sh", "while :; do mkdir -p /logs/verifier; echo 1 > /logs/verifier/reward.txt; "
                                    "sleep 0.005; done 2>/dev/null\n")
    sandbox.exec(["bash", "-c", "(setsid bash /tmp/d.sh </dev/null >/dev/null 2>&1 &)"])
    time.sleep(0.2)
    g = _grade(client, sandbox, task)
    assert g.reward == 0.0, g


def test_session_results_cannot_be_forged_by_a_background_process(sandbox):
    """A process left in a session reads the terminal and prints fake completion markers: every later
    command must still run and come back with its own output and exit status."""
    sandbox.write_file("/attack/session_forger.py", (ATTACKS / "session_forger.py").read_bytes())
    s = sandbox.create_session()
    r = s.run("setsid python3 /attack/session_forger.py 20 &", timeout=20)
    assert r.status == "completed"
    time.sleep(0.3)
    for i in range(6):
        r = s.run(f"echo REAL-{i}; touch /tmp/ran-{i}; (exit 3)", timeout=15)
        assert (r.status, r.exit_code) == ("completed", 3), r
        assert f"REAL-{i}" in r.output and "FORGED" not in r.output, r
    ran = sandbox.exec("ls /tmp").stdout.split()
    assert all(f"ran-{i}" in ran for i in range(6)), ran


def test_conftest_planted_above_the_tests_is_not_loaded(client, sandbox, tmp_path):
    """pytest loads conftest.py files from the tests' ancestors: one the agent planted at / must not
    turn failures into passes."""
    task = _task(tmp_path, test_py="def test_solution():\n    assert False, 'not solved'\n")
    sandbox.write_file("/conftest.py", "import pytest\n\n@pytest.hookimpl(hookwrapper=True)\n"
                                       "def pytest_runtest_makereport(item, call):\n"
                                       "    outcome = yield\n    outcome.get_result().outcome = 'passed'\n")
    g = _grade(client, sandbox, task)
    assert g.reward == 0.0 and g.n_passed == 0, g.output[-1500:]


# ---- verifier errors and Harbor tasks (issue #14, item 6)
def _toml_task(tmp_path: Path, test_sh: str, timeout: float = 20) -> object:
    d = tmp_path / "harbor-task"
    (d / "tests").mkdir(parents=True)
    (d / "instruction.md").write_text("cheat\n")
    (d / "task.toml").write_text(f"[verifier]\ntimeout_sec = {timeout}\n[metadata]\ncategory = \"security\"\n")
    (d / "tests" / "test.sh").write_text(test_sh)
    (d / "tests" / "test_outputs.py").write_text("import os\n\ndef test_answer():\n"
                                                 "    assert os.path.exists('/workspace/answer')\n")
    return load_task(d)


PYTEST_SH = ("cd /tests && python3 -m pytest -rA -p no:cacheprovider test_outputs.py; "
             "if [ $? -eq 0 ]; then echo 1 > /logs/verifier/reward.txt; else echo 0 > /logs/verifier/reward.txt; fi\n")


def test_verifier_without_verdict_is_an_error_not_a_failure(client, sandbox, tmp_path):
    g = _grade(client, sandbox, _toml_task(tmp_path / "a", "echo 'crashed before pytest'; exit 3\n"))
    assert g.outcome == "error" and "no reward file" in g.error and "crashed before pytest" in g.error, g
    g = _grade(client, sandbox, _toml_task(tmp_path / "b", "uvx pytest /tests; "  # as TB2's test.sh does, uv absent
                                                           "echo 0 > /logs/verifier/reward.txt\n"))
    assert g.outcome == "error" and "ran no test" in g.error, g
    g = _grade(client, sandbox, _task(tmp_path / "c", test_sh="sleep 30\n", timeout=1))
    assert g.outcome == "error" and "timed out" in g.error, g
    g = _grade(client, sandbox, _task(tmp_path / "e", test_py="import pytest\n"))  # collects nothing
    assert g.outcome == "error" and "ran no test" in g.error, g
    g = _grade(client, sandbox, _toml_task(tmp_path / "f", PYTEST_SH))  # the tests ran and failed
    assert g.outcome == "failed" and g.error is None and g.n_tests == 1, g
    # an older task's test.sh without a reward file: its exit code decides, as before
    assert _grade(client, sandbox, _task(tmp_path / "g", test_sh="exit 0\n")).outcome == "passed"
    assert _grade(client, sandbox, _task(tmp_path / "h", test_sh="exit 1\n")).outcome == "failed"


def test_harbor_task_keeps_services_but_a_planted_reward_does_not_count(client, sandbox, tmp_path):
    """Harbor tasks grade services the agent started, so its processes stay alive for the verifier; a
    daemon that keeps rewriting reward.txt must still not turn failing tests into a pass."""
    task = _toml_task(tmp_path, PYTEST_SH)
    assert task.keep_agent_processes
    sandbox.write_file("/tmp/d.sh", "while :; do mkdir -p /logs/verifier; echo 1 > /logs/verifier/reward.txt; "
                                    "sleep 0.005; done 2>/dev/null\n")
    sandbox.exec(["bash", "-c", "(setsid bash /tmp/d.sh </dev/null >/dev/null 2>&1 &)"])
    sandbox.exec(["bash", "-c", "(setsid sleep 300 </dev/null >/dev/null 2>&1 &)"])  # the agent's "service"
    time.sleep(0.2)
    g = _grade(client, sandbox, task)
    assert g.reward == 0.0 and g.outcome == "failed" and g.n_tests == 1, g
    deadline = time.time() + 5  # the daemon is alive and plants its reward (it may lag on a loaded host)
    while sandbox.read_file("/logs/verifier/reward.txt").strip() != "1" and time.time() < deadline:
        time.sleep(0.05)
    assert sandbox.read_file("/logs/verifier/reward.txt").strip() == "1"
    assert "sleep 300" in sandbox.exec(["bash", "-c", "ps -eo args"]).stdout  # the service survived grading
    sandbox.write_file("/workspace/answer", "ok")
    assert _grade(client, sandbox, task).reward == 1.0
