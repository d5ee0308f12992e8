"""SWE-style instances (problem statement, repo, FAIL_TO_PASS / PASS_TO_PASS), converted to tasks.

An instance is one JSON file:

    {"instance_id": "packaging-version-3",          # the task id
     "problem_statement": "Version('1.0a1') < ...",  # what the agent is told
     "repo": "repo",                                 # folder next to the JSON (copied to /workspace/<name>)
     "test_files": {"tests/test_gen.py": "..."},     # added to the repo only at grading time
     "FAIL_TO_PASS": ["tests/test_gen.py::test_3"],  # fail before the fix, must pass after
     "PASS_TO_PASS": ["tests/test_gen.py::test_1"],  # pass before, must still pass
     "patch": "--- a/...\\n+++ b/...",                # the gold fix, a unified diff (-p1) applied with git apply
     "domain": "software-engineering", "difficulty": "medium", "tags": [...]}   # optional

Kept from SWE-bench: the instance fields and the FAIL_TO_PASS / PASS_TO_PASS rule (reward 1 iff all of
both pass). Dropped: git history and per-repo docker images (the repo is a plain folder on `base`).
`instance_to_task` writes a regular task folder, so the evaluator and validate treat both alike.
"""
from __future__ import annotations

import hashlib
import json
import shlex
import tempfile
from pathlib import Path
from typing import Any

import yaml

from ale.bench.task import Task, TaskError, load_task

REQUIRED = ("instance_id", "problem_statement", "repo", "FAIL_TO_PASS", "patch")


def read_instance(path: Path) -> dict[str, Any]:
    try:
        inst = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise TaskError(f"{path}: not a readable JSON instance: {e}") from None
    if not isinstance(inst, dict):
        raise TaskError(f"{path}: expected a JSON object")
    missing = [k for k in REQUIRED if not inst.get(k)]
    if missing:
        raise TaskError(f"{path}: missing {', '.join(missing)}")
    for k in ("FAIL_TO_PASS", "PASS_TO_PASS"):
        if not isinstance(inst.get(k, []), list) or not all(isinstance(t, str) for t in inst.get(k, [])):
            raise TaskError(f"{path}: {k} must be a list of pytest node ids")
    repo = path.parent / inst["repo"]
    if not repo.is_dir():
        raise TaskError(f"{path}: repo folder {repo} does not exist")
    if not isinstance(inst.get("test_files", {}), dict):
        raise TaskError(f"{path}: test_files must map paths (inside the repo) to file contents")
    return inst


def instance_to_task(inst: dict[str, Any], repo: Path, out: Path) -> Path:
    """Write a task folder for an instance (repo folder given separately); returns the folder."""
    import shutil

    name = Path(inst["repo"]).name or "repo"
    workdir = f"/workspace/{name}"
    out.mkdir(parents=True, exist_ok=True)
    if (out / "environment").exists():
        shutil.rmtree(out / "environment")
    shutil.copytree(repo, out / "environment" / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (out / "environment" / "Dockerfile").write_text(
        f"FROM base\nCOPY {name} {workdir}\nWORKDIR {workdir}\n")
    meta = {"instruction": inst["problem_statement"].rstrip() + f"\n\nThe repository is in {workdir}. Fix the code so "
            "the described behaviour is correct; do not change or add tests.\n",
            "category": inst.get("domain", "software-engineering"), "difficulty": inst.get("difficulty", "medium"),
            "tags": list(inst.get("tags", ["swe"])), "max_agent_timeout_sec": inst.get("agent_timeout", 900),
            "max_test_timeout_sec": inst.get("test_timeout", 180), "swe_instance": inst["instance_id"]}
    (out / "task.yaml").write_text(yaml.safe_dump(meta, sort_keys=False, width=100))
    tests = out / "tests"
    if tests.exists():
        shutil.rmtree(tests)
    (tests / "files").mkdir(parents=True)
    for rel, content in inst.get("test_files", {}).items():
        if rel.startswith("/") or ".." in Path(rel).parts:
            raise TaskError(f"instance {inst['instance_id']}: test file path {rel!r} must stay inside the repo")
        (tests / "files" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tests / "files" / rel).write_text(content)
    node_ids = " ".join(shlex.quote(t) for t in [*inst["FAIL_TO_PASS"], *inst.get("PASS_TO_PASS", [])])
    (out / "run-tests.sh").write_text(
        "#!/bin/bash\n# FAIL_TO_PASS and PASS_TO_PASS must all pass (SWE-bench rule)\n"
        f"cp -r /tests/files/. {workdir}/\ncd {workdir}\n"
        f"python3 -m pytest -rA -p no:cacheprovider {node_ids}\n")
    (out / "solution.sh").write_text(
        f"#!/bin/bash\nset -e\ncd {workdir}\ngit apply -p1 <<'ALE_PATCH_EOF'\n"
        # not rstrip(): a blank context line of a diff is a lone space
        f"{inst['patch'] if inst['patch'].endswith(chr(10)) else inst['patch'] + chr(10)}ALE_PATCH_EOF\n")
    (out / "instance.json").write_text(json.dumps(inst, indent=1))
    return out


def load_instances(paths: list[Path], errors: list[TaskError] | None = None) -> list[Task]:
    """Convert instance files to task folders (in a cache keyed by content) and load them."""
    tasks = []
    for path in paths:
        try:
            inst = read_instance(path)
            repo = path.parent / inst["repo"]
            h = hashlib.sha256(path.read_bytes())
            for p in sorted(repo.rglob("*")):
                if p.is_file() and "__pycache__" not in p.parts:
                    h.update(str(p.relative_to(repo)).encode() + p.read_bytes())
            out = Path(tempfile.gettempdir()) / "ale-swe" / h.hexdigest()[:16] / inst["instance_id"]
            if not (out / "task.yaml").exists():
                instance_to_task(inst, repo, out)
            tasks.append(load_task(out))
        except TaskError as e:
            if errors is None:
                raise
            e.path = path
            errors.append(e)
    return tasks
