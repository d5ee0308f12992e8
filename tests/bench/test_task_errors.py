"""Broken task folders and SWE instances give errors that name the file and the problem (no sandbox)."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from ale.bench.cli import app
from ale.bench.swe import REQUIRED
from ale.bench.task import TaskError, load_task, load_tasks
from .bench_testkit import write_task


@pytest.mark.parametrize("breakage, file, message", [
    (lambda d: (d / "task.yaml").unlink(), "", "no task.yaml or task.toml"),
    (lambda d: (d / "task.yaml").write_text("instruction: [unclosed\n"), "task.yaml", "invalid YAML"),
    (lambda d: (d / "task.yaml").write_text("category: games\n"), "task.yaml", "missing `instruction`"),
    (lambda d: (d / "task.yaml").write_text("instruction: x\ndifficulty: extreme\n"), "task.yaml", "difficulty must be"),
    (lambda d: (d / "task.yaml").write_text("instruction: x\nmax_agent_timeout_sec: soon\n"), "task.yaml", "timeouts must be numbers"),
    (lambda d: (d / "task.yaml").write_text("instruction: x\ntags: linux\n"), "task.yaml", "tags must be a list"),
    (lambda d: (d / "Dockerfile").write_text("FROM base\nEXPOSE 80\nONBUILD RUN true\n"), "Dockerfile", "ONBUILD"),
    (lambda d: (d / "Dockerfile").write_text("FROM base\nCOPY missing.txt /x\n"), "Dockerfile", "COPY source not found"),
    (lambda d: (d / "tests" / "test_outputs.py").unlink(), "", "no run-tests.sh, tests/test.sh or tests/test_outputs.py"),
])
def test_broken_folder_names_file_and_problem(tmp_path, breakage, file, message):
    d = write_task(tmp_path, "t")
    breakage(d)
    with pytest.raises(TaskError) as e:
        load_task(d)
    assert str(d / file).rstrip("/") in str(e.value) and message in str(e.value)


def test_load_tasks_collects_errors_and_keeps_good_tasks(tmp_path):
    write_task(tmp_path, "good")
    (write_task(tmp_path, "bad") / "task.yaml").write_text("category: games\n")
    with pytest.raises(TaskError, match="bad/task.yaml: missing"):
        load_tasks(tmp_path)
    errors: list[TaskError] = []
    tasks = load_tasks(tmp_path, errors)
    assert [t.id for t in tasks] == ["good"] and len(errors) == 1 and errors[0].path.name == "bad"


def test_validate_cli_reports_broken_folder_and_fails(tmp_path):
    (write_task(tmp_path, "bad") / "task.yaml").write_text("instruction: x\ndifficulty: extreme\n")
    r = CliRunner().invoke(app, ["validate", str(tmp_path)])
    assert r.exit_code == 1
    assert "broken" in r.output and "difficulty must be" in r.output and "bad" in r.output


def test_unknown_tasks_folder_is_a_clear_error(tmp_path):
    r = CliRunner().invoke(app, ["run", "--tasks", str(tmp_path / "nope"), "--out", str(tmp_path / "r.json")])
    assert r.exit_code == 2 and "no such folder" in r.output


def _instance(tmp_path, **over):
    (tmp_path / "repo").mkdir(exist_ok=True)
    inst = {"instance_id": "x-1", "problem_statement": "p", "repo": "repo", "FAIL_TO_PASS": ["t.py::test_a"],
            "PASS_TO_PASS": [], "patch": "--- a/f\n+++ b/f\n", **over}
    p = tmp_path / "x-1.json"
    p.write_text(json.dumps(inst))
    return p


@pytest.mark.parametrize("field", REQUIRED)
def test_swe_instance_missing_field(tmp_path, field):
    p = _instance(tmp_path, **{field: None})
    with pytest.raises(TaskError, match=f"{p}: missing {field}"):
        load_tasks(p)


def test_swe_instance_bad_repo_and_node_ids(tmp_path):
    with pytest.raises(TaskError, match="repo folder .* does not exist"):
        load_tasks(_instance(tmp_path, repo="elsewhere"))
    with pytest.raises(TaskError, match="FAIL_TO_PASS must be a list of pytest node ids"):
        load_tasks(_instance(tmp_path, FAIL_TO_PASS="t.py::test_a"))


def test_bad_agent_spec_is_a_clear_error(tmp_path):
    write_task(tmp_path, "t")
    r = CliRunner().invoke(app, ["run", "--tasks", str(tmp_path), "--agent", "gpt-nope", "--out", str(tmp_path / "r.json")])
    assert r.exit_code == 2 and "bad model spec 'gpt-nope'" in r.output
    r = CliRunner().invoke(app, ["run", "--tasks", str(tmp_path), "--agent", "scripted:/nonexistent.jsonl",
                                 "--out", str(tmp_path / "r.json")])
    assert r.exit_code == 2 and "nonexistent.jsonl" in r.output
