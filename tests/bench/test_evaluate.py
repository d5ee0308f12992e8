"""The evaluator in real sandboxes: oracle 100% / null 0%, results schema, trajectories, resume, every
failure class, SWE instances, and the HTML report rendered in headless Chromium."""
from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from ale.bench.evaluate import EvalConfig, Evaluator, run_eval, summarize, task_record
from ale.bench.task import load_task, load_tasks
from .bench_testkit import bash_call, builtin_sample, needs_root, scripted, write_task

pytestmark = needs_root


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    tasks = builtin_sample()
    oracle = run_eval(tasks, EvalConfig(agent="oracle", concurrency=4), out=root / "oracle.json", progress=False)
    null = run_eval(tasks, EvalConfig(agent="null", concurrency=4), out=root / "null.json", progress=False)
    return root, tasks, oracle, null


def test_oracle_all_pass_null_all_fail(runs):
    root, tasks, oracle, null = runs
    assert oracle["summary"]["pass_rate"] == 1.0 and oracle["summary"]["n_passed"] == len(tasks)
    assert null["summary"]["pass_rate"] == 0.0 and null["summary"]["n_passed"] == 0
    assert {t["failure"] for t in null["tasks"]} == {"tests_failed"}
    assert oracle["summary"]["n_infrastructure_errors"] == null["summary"]["n_infrastructure_errors"] == 0


def test_results_schema(runs):
    root, tasks, oracle, _ = runs
    on_disk = json.loads((root / "oracle.json").read_text())
    assert on_disk["summary"] == oracle["summary"]
    s = on_disk["summary"]
    assert {"n_tasks", "n_passed", "pass_rate", "by_domain", "by_difficulty", "failures"} <= set(s)
    assert 0.0 <= s["pass_rate"] <= 1.0 and s["n_tasks"] == len(tasks)
    assert set(s["by_domain"]) == {t.domain for t in tasks}
    for rec in on_disk["tasks"]:
        assert {"task_id", "domain", "passed", "reward", "failure"} <= set(rec)
        a = rec["attempts"][0]
        assert a["n_tests"] > 0 and a["n_tests"] == a["n_tests_passed"] and a["wall_s"] > 0
        assert rec["prompt_tokens"] > 0 and rec["completion_tokens"] > 0
        assert (root / "oracle.tasks" / f"{rec['task_id']}.json").exists()


def test_oracle_trajectory_runs_the_solution_through_the_harness(runs):
    root, tasks, oracle, _ = runs
    traj = json.loads(Path(oracle["tasks"][0]["attempts"][0]["trajectory"]).read_text())
    assert traj["reward"] == 1.0 and traj["end_reason"] == "finished"
    assert [s["action"]["tool"] for s in traj["steps"]] == ["write_file", "bash", "finish"]
    assert traj["steps"][0]["action"]["arguments"]["content"] == tasks[0].solution.read_text()
    assert any(e["type"] == "grade" for e in traj["events"])


def test_resume_skips_finished_tasks(runs):
    root, tasks, oracle, _ = runs
    again = run_eval(tasks, EvalConfig(agent="oracle"), out=root / "oracle.json", progress=False)
    assert again["config"]["resumed_tasks"] == sorted(t.id for t in tasks)
    assert again["summary"]["pass_rate"] == 1.0
    # a different agent on the same results file is not a resume
    (root / "oracle.tasks" / f"{tasks[0].id}.json").unlink()
    partial = run_eval(tasks, EvalConfig(agent="oracle"), out=root / "oracle.json", progress=False)
    assert partial["config"]["resumed_tasks"] == sorted(t.id for t in tasks[1:])
    assert (root / "oracle.tasks" / f"{tasks[0].id}.json").exists()


def test_every_failure_class(tmp_path):
    """Scripted agents that end each way; the evaluator classifies each attempt."""
    ok = load_task(write_task(tmp_path, "ok"))
    slow = load_task(write_task(tmp_path, "slow", extra_yaml="max_agent_timeout_sec: 2\n"))
    unsolved = load_task(write_task(tmp_path, "nosolution", solution=None))
    unbuildable = write_task(tmp_path, "unbuildable")
    (unbuildable / "Dockerfile").write_text("FROM base\nRUN exit 3\n")
    unbuildable = load_task(unbuildable)
    finish = {"tool_calls": [{"function": {"name": "finish", "arguments": "{}"}}]}
    cases = {  # expected failure: (task, agent)
        "step_limit": (ok, scripted(tmp_path / "steps.jsonl", *[bash_call("true")] * 4)),
        "format_errors": (ok, scripted(tmp_path / "fmt.jsonl", *[{"content": "I think I will not call a tool"}] * 3)),
        "agent_timeout": (slow, scripted(tmp_path / "sleep.jsonl", bash_call("sleep 6"), finish)),
        "guard_stop": (ok, scripted(tmp_path / "bomb.jsonl", bash_call("for i in $(seq 2000); do sleep 30 & done"), finish)),
        "infrastructure_error": (ok, scripted(tmp_path / "short.jsonl", bash_call("true"))),  # the model backend dies
        "tests_failed": (ok, "null"),
        "task_error": (unsolved, "oracle"),
        None: (ok, scripted(tmp_path / "solve.jsonl", bash_call("echo hi > /workspace/answer.txt"), finish)),
    }

    async def go():
        async with Evaluator(EvalConfig(max_steps=3, infra_retries=1, concurrency=3)) as ev:
            recs = await asyncio.gather(*(ev.attempt(t, a, 0) for t, a in cases.values()),
                                        ev.attempt(unbuildable, "null", 0))
        return dict(zip([*cases, "build"], recs))

    recs = asyncio.run(go())
    got = {want: rec["failure"] for want, rec in recs.items() if want != "build"}
    assert got == {want: want for want in cases}, {k: (r["failure"], r["end_reason"], r["error"]) for k, r in recs.items()}
    assert recs["build"]["failure"] == "task_error" and "image build failed" in recs["build"]["error"]
    assert "no solution.sh" in recs["task_error"]["error"]
    assert len(recs["infrastructure_error"]["infra_errors"]) == 1  # tried twice, both logged
    assert recs[None]["passed"] and recs[None]["reward"] == 1.0
    # infrastructure errors are reported apart and left out of the pass rate
    records = [task_record(ok, "x", [recs[None]]), task_record(slow, "x", [recs["infrastructure_error"]]),
               task_record(ok, "x", [recs["tests_failed"]])]
    records[2]["task_id"] = "other"
    s = summarize(records, "x", 1, 1.0)
    assert s["n_tasks"] == 2 and s["pass_rate"] == 0.5 and s["n_tasks_infrastructure_failed"] == 1
    assert s["n_infrastructure_errors"] == 2 and s["failures"]["infrastructure_error"] == 1


def test_swe_instance_runs_through_the_evaluator(tmp_path):
    repo = tmp_path / "inst" / "calc"
    repo.mkdir(parents=True)
    (repo / "calc.py").write_text("def add(a, b):\n    return a - b\n\n\ndef neg(a):\n    return -a\n")
    inst = {"instance_id": "calc-1", "problem_statement": "add(2, 3) returns -1 instead of 5.", "repo": "calc",
            "test_files": {"test_calc.py": "from calc import add, neg\n\n\ndef test_add():\n    assert add(2, 3) == 5\n\n\n"
                                           "def test_neg():\n    assert neg(2) == -2\n"},
            "FAIL_TO_PASS": ["test_calc.py::test_add"], "PASS_TO_PASS": ["test_calc.py::test_neg"],
            "patch": "--- a/calc.py\n+++ b/calc.py\n@@ -1,4 +1,4 @@\n def add(a, b):\n-    return a - b\n+    return a + b\n \n \n"}
    (tmp_path / "inst" / "calc-1.json").write_text(json.dumps(inst))
    tasks = load_tasks(tmp_path / "inst")
    assert [t.id for t in tasks] == ["calc-1"] and "add(2, 3)" in tasks[0].instruction
    oracle = run_eval(tasks, EvalConfig(agent="oracle"), progress=False)
    null = run_eval(tasks, EvalConfig(agent="null"), progress=False)
    assert oracle["tasks"][0]["passed"] and oracle["tasks"][0]["attempts"][0]["n_tests"] == 2
    assert not null["tasks"][0]["passed"] and null["tasks"][0]["attempts"][0]["n_tests_passed"] == 1


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(_chromium() is None, reason="chromium is not installed (apt-get install chromium)")
def test_html_report_renders_in_chromium(runs):
    root, tasks, oracle, _ = runs
    html = root / "oracle.html"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run"]
    with tempfile.TemporaryDirectory() as profile:
        dom = subprocess.run([_chromium(), *flags, f"--user-data-dir={profile}", "--dump-dom", f"file://{html}"],
                             capture_output=True, text=True, timeout=60)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert dom.stdout.count('<tr class="task pass">') == len(tasks)
    assert dom.stdout.count('<tr class="domain">') == len(oracle["summary"]["by_domain"])
    assert 'style="width:100.0%"' in dom.stdout and "100.0%" in dom.stdout
    with tempfile.TemporaryDirectory() as profile:
        shot = root / "report.png"
        r = subprocess.run([_chromium(), *flags, f"--user-data-dir={profile}", "--window-size=1000,800",
                            f"--screenshot={shot}", f"file://{html}"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 5000
    assert os.path.getsize(html) > 0


def test_cli_run_writes_results_report_and_trajectories(tmp_path):
    from typer.testing import CliRunner

    from ale.bench.cli import app
    from ale.bench.generators import generate

    generate("write-word", 2, 0, tmp_path / "tasks")
    out = tmp_path / "res" / "results.json"
    r = CliRunner().invoke(app, ["run", "--tasks", str(tmp_path / "tasks"), "--agent", "oracle", "--concurrency", "2",
                                 "--out", str(out)])
    assert r.exit_code == 0, r.output
    res = json.loads(out.read_text())
    assert res["summary"]["n_passed"] == 2 and "100.0%" in r.output
    assert out.with_suffix(".html").exists() and len(list((tmp_path / "res" / "results.trajs").iterdir())) == 2
