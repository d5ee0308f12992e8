"""validate: the built-in suite (a sample by default, all of it in the slow tier), and its verdicts on
tasks that are broken in known ways."""
from __future__ import annotations

import pytest

from ale.bench.evaluate import EvalConfig, run_eval
from ale.bench.task import load_task, load_tasks
from ale.bench.validate import judge, validate
from .bench_testkit import builtin_sample, needs_root, write_task


def _rec(passed: bool, failure: str | None = None) -> dict:
    """FAKE attempt record (unit tests of judge only)."""
    return {"passed": passed, "failure": failure or (None if passed else "tests_failed"), "wall_s": 1.0,
            "n_tests": 2, "n_tests_passed": 2 if passed else 0, "end_reason": "finished", "error": None}


def test_judge_verdicts():
    assert judge("t", [_rec(True)] * 3, [_rec(False)] * 3).status == "ok"
    v = judge("t", [_rec(True), _rec(False), _rec(True)], [_rec(False)] * 3)
    assert v.status == "nondeterministic" and "passed 2 of 3" in v.reasons[0]
    v = judge("t", [_rec(True)] * 3, [_rec(False), _rec(True), _rec(False)])
    assert v.status == "nondeterministic" and "empty agent passed 1 of 3" in v.reasons[0]
    v = judge("t", [_rec(False)] * 3, [_rec(True)] * 3)
    assert v.status == "broken" and len(v.reasons) == 2
    err = {**_rec(False, "task_error"), "error": "image build failed: boom"}
    assert judge("t", [err] * 3, [err] * 3).reasons == ["image build failed: boom"]


@needs_root
def test_builtin_sample_validates():
    # the evaluator tests run oracle and null on builtin_sample(2); this one takes the next task
    verdicts = validate(builtin_sample(3)[2:], repeat=2, concurrency=4)
    assert [(v.task_id, v.status, v.reasons) for v in verdicts if v.status != "ok"] == []
    assert all(v.oracle_passes == 2 and v.null_passes == 0 for v in verdicts)


@needs_root
def test_broken_tasks_are_reported_with_reasons(tmp_path):
    wrong = load_task(write_task(tmp_path, "wrong-solution", solution="echo bye > /workspace/answer.txt"))
    trivial = load_task(write_task(tmp_path, "passes-empty", test="def test_nothing():\n    assert True\n"))
    (write_task(tmp_path / "bad", "no-instruction") / "task.yaml").write_text("category: games\n")
    errors: list = []
    assert load_tasks(tmp_path / "bad", errors) == []
    verdicts = {v.task_id: v for v in validate([wrong, trivial], errors, repeat=1)}
    assert verdicts["wrong-solution"].status == "broken"
    assert "reference solution fails: 0/1 tests pass" in verdicts["wrong-solution"].reasons[0]
    assert verdicts["passes-empty"].status == "broken"
    assert "tests pass with no work done" in verdicts["passes-empty"].reasons[0]
    assert verdicts["no-instruction"].status == "broken" and "task.yaml: missing `instruction`" in verdicts["no-instruction"].reasons[0]


@pytest.mark.slow
@pytest.mark.timeout(900)  # 80 tasks x 3 repeats x (oracle + null) is 4-6 minutes on 2 cores
@needs_root
def test_whole_builtin_suite_validates():
    verdicts = validate(load_tasks("builtin"), repeat=3, concurrency=4)
    assert [(v.task_id, v.status, v.reasons) for v in verdicts if v.status != "ok"] == []


@pytest.mark.slow
@needs_root
def test_whole_builtin_suite_oracle_100_null_0(tmp_path):
    tasks = load_tasks("builtin")
    oracle = run_eval(tasks, EvalConfig(agent="oracle", concurrency=4), out=tmp_path / "o.json", progress=False)
    null = run_eval(tasks, EvalConfig(agent="null", concurrency=4), out=tmp_path / "n.json", progress=False)
    assert oracle["summary"]["pass_rate"] == 1.0, [t["task_id"] for t in oracle["tasks"] if not t["passed"]]
    assert null["summary"]["pass_rate"] == 0.0, [t["task_id"] for t in null["tasks"] if t["passed"]]
    assert oracle["summary"]["n_tasks"] == len(tasks) and len(oracle["summary"]["by_domain"]) == 8
