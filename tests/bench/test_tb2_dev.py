"""The "Done when" of issue #14 on the 12 official TB2.1 development tasks (slow tier; skipped when the
shared tb2-dev folder is absent). The tasks are copied to a temporary folder; ALE's own solutions in
tests/fixtures/tb2-solutions are added to a second copy by `--solutions`. Needs the package registries once
(`ale bench prepare`: stand-ins, uv, wheels, Debian packages); the verifiers then run with no network."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .bench_testkit import needs_root

REPO = Path(__file__).resolve().parents[2]
SOLUTIONS = REPO / "tests" / "fixtures" / "tb2-solutions"


def _dev_set() -> Path | None:
    for p in (os.environ.get("ALE_TB2_DEV"), REPO.parent / "shared" / "tb2-dev", "/work/shared/tb2-dev"):
        if p and (Path(p) / "SHA256SUMS").exists():
            return Path(p)
    return None


DEV = _dev_set()
pytestmark = [pytest.mark.slow, needs_root,
              pytest.mark.skipif(DEV is None, reason="the shared tb2-dev task folders are absent")]


def _ale(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ale.cli", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)})


def test_every_dev_task_has_an_own_solution():
    assert sorted(p.name for p in SOLUTIONS.iterdir()) == sorted(p.name for p in DEV.iterdir() if p.is_dir())


def test_tb2_dev_oracle_passes_all_and_null_none(tmp_path):
    import json

    tasks = tmp_path / "tb2-dev"
    shutil.copytree(DEV, tasks)
    r = _ale("bench", "prepare", "--tasks", str(tasks), cwd=tmp_path)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    oracle = _ale("bench", "run", "--tasks", str(tasks), "--agent", "oracle", "--solutions", str(SOLUTIONS),
                  "--concurrency", "3", "--out", str(tmp_path / "oracle" / "results.json"), cwd=tmp_path)
    null = _ale("bench", "run", "--tasks", str(tasks), "--agent", "null", "--concurrency", "3",
                "--out", str(tmp_path / "null" / "results.json"), cwd=tmp_path)
    so = json.loads((tmp_path / "oracle" / "results.json").read_text())["summary"]
    sn = json.loads((tmp_path / "null" / "results.json").read_text())["summary"]
    assert (so["n_passed"], so["n_errors"]) == (12, 0), oracle.stdout[-4000:] + oracle.stderr[-4000:]
    assert oracle.returncode == 0
    assert (sn["n_passed"], sn["n_errors"], sn["n_tasks"]) == (0, 0, 12), null.stdout[-4000:]
    # no task file changed (the dataset's own digests)
    check = subprocess.run(["sha256sum", "--quiet", "-c", "SHA256SUMS"], cwd=tasks, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout
