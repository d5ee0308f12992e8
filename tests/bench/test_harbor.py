"""ALE as a Harbor environment (ale.bench.harbor_env), through Harbor's own CLI, agents and verifier (slow
tier; skipped without the Harbor virtualenv of scripts/setup-harbor.sh, ALE_HARBOR_PYTHON to point at
another). Harbor runs under tests/bench/harbor_offline.py, which refuses any connection of its process.
The class needs Harbor (Python >= 3.12), so no default-tier test imports it."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .bench_testkit import needs_root
from .test_tb2_dev import DEV, SOLUTIONS

REPO = Path(__file__).resolve().parents[2]
HARBOR_PY = Path(os.environ.get("ALE_HARBOR_PYTHON") or REPO / ".venv-harbor" / "bin" / "python")
ENV = "ale.bench.harbor_env:ALEEnvironment"


def _has_harbor() -> bool:
    return HARBOR_PY.exists() and subprocess.run([str(HARBOR_PY), "-c", "import harbor"], capture_output=True).returncode == 0


pytestmark = [pytest.mark.slow, needs_root,
              pytest.mark.skipif(not _has_harbor(), reason="no Harbor virtualenv (scripts/setup-harbor.sh)")]


def harbor_run(tasks: Path, agent: str, jobs: Path, *extra: str) -> tuple[dict[str, dict], subprocess.CompletedProcess, float]:
    """`harbor run` on a task (or a folder of tasks) with ALE's environment; returns each trial's result by
    task folder name, the process and its wall time."""
    t0 = time.time()
    p = subprocess.run([str(HARBOR_PY), str(REPO / "tests" / "bench" / "harbor_offline.py"), "run", "-p", str(tasks),
                        "-a", agent, "--env", ENV, "-o", str(jobs), "--job-name", agent, "-y", "-q", *extra],
                       capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    wall = time.time() - t0
    assert "harbor_offline: refused" not in p.stderr, p.stderr[-3000:]
    trials = {}
    for f in (jobs / agent).glob("*/result.json"):
        r = json.loads(f.read_text())
        trials[r["task_name"].rsplit("/", 1)[-1]] = r
    return trials, p, wall


def _reward(r: dict) -> float | None:
    return ((r.get("verifier_result") or {}).get("rewards") or {}).get("reward")


def _small_task(root: Path, name: str, toml: str, solve: str, test: str) -> None:
    d = root / name
    for sub in ("environment", "solution", "tests"):
        (d / sub).mkdir(parents=True)
    (d / "instruction.md").write_text("Run the solution.\n")
    (d / "task.toml").write_text(f'schema_version = "1.1"\n[task]\nname = "ale-test/{name}"\n{toml}')
    (d / "environment" / "Dockerfile").write_text("FROM base\nRUN useradd -m alice\nWORKDIR /app\nRUN chmod 777 /app\n")
    (d / "solution" / "solve.sh").write_text(f"#!/bin/bash\n{solve}\n")
    (d / "tests" / "test.sh").write_text(f"#!/bin/bash\n{test}\n")


def test_harbor_runs_its_oracle_as_the_task_user_offline_and_refuses_gpus(tmp_path):
    """Harbor's oracle runs solve.sh as [agent] user (exec's user switch) with the task's env, in a sandbox
    with no network (network_mode no-network); Harbor's verifier runs test.sh as root and reads its reward.
    A task asking for a GPU is refused with Harbor's message, before any sandbox starts."""
    tasks = tmp_path / "tasks"
    _small_task(tasks, "as-alice", '[agent]\ntimeout_sec = 120\nuser = "alice"\n[verifier]\ntimeout_sec = 120\n'
                '[environment]\nnetwork_mode = "no-network"\nmemory_mb = 512\nstorage_mb = 1024\n'
                '[environment.env]\nGREETING = "hello"\n',
                'id -un > /app/who; echo "$GREETING" > /app/greeting; echo "$HOME" > /app/home\n'
                "awk -F: 'NR>2 {gsub(/ /, \"\", $1); print $1}' /proc/net/dev > /app/links",
                'ok=1\nfor f in who:alice greeting:hello home:/home/alice links:lo verifier:root; do\n'
                '  want=${f#*:}; got=$(cat /app/${f%%:*} 2>/dev/null || id -un)\n'
                '  [ "$got" = "$want" ] || { echo "${f%%:*}: $got, not $want"; ok=0; }\ndone\n'
                'echo $ok > /logs/verifier/reward.txt')
    _small_task(tasks, "wants-gpu", "[environment]\ngpus = 1\n", "true", "echo 1 > /logs/verifier/reward.txt")
    trials, p, _ = harbor_run(tasks / "as-alice", "oracle", tmp_path / "jobs")
    alice = trials.get("as-alice")
    assert alice, p.stdout[-3000:] + p.stderr[-3000:]
    out = next((tmp_path / "jobs").glob("oracle/as-alice*/verifier/test-stdout.txt"), None)
    assert alice["exception_info"] is None and _reward(alice) == 1.0, (alice["exception_info"], out and out.read_text())
    # Harbor checks every environment before queueing trials: the GPU task stops the job with its message
    trials, p, _ = harbor_run(tasks / "wants-gpu", "oracle", tmp_path / "jobs-gpu")
    assert p.returncode != 0 and not trials
    assert "Task requires 1 GPU(s) but ale environment does not support GPU allocation" in re.sub(r"[│\s]+", " ", p.stdout + p.stderr), \
        p.stderr[-3000:]


def test_harbor_oracle_passes_the_tb2_dev_set_and_nop_none(tmp_path):
    """Issue #14 item 8: `harbor run -a oracle --env ale...` on the 12 official TB2.1 dev tasks (with ALE's
    own solutions in their solution/ folders), after `ale bench prepare`: 12 rewards of 1; Harbor's nop agent:
    12 rewards of 0, no trial erroring either way; no task file changed."""
    if DEV is None:
        pytest.skip("the shared tb2-dev task folders are absent")
    tasks = tmp_path / "tb2-dev"
    shutil.copytree(DEV, tasks)
    for sol in SOLUTIONS.iterdir():
        (tasks / sol.name / "solution").mkdir()
        shutil.copy(sol / "solve.sh", tasks / sol.name / "solution" / "solve.sh")
    r = subprocess.run([sys.executable, "-m", "ale.cli", "bench", "prepare", "--tasks", str(tasks)], capture_output=True,
                       text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    oracle, po, wall_o = harbor_run(tasks, "oracle", tmp_path / "jobs", "-n", "3")
    nop, pn, wall_n = harbor_run(tasks, "nop", tmp_path / "jobs", "-n", "3")
    print(f"harbor oracle: {wall_o:.0f}s, nop: {wall_n:.0f}s (wall, 12 tasks, -n 3)")
    assert len(oracle) == 12, po.stdout[-3000:] + po.stderr[-3000:]
    bad = {t: (_reward(r), r["exception_info"]) for t, r in oracle.items() if _reward(r) != 1.0 or r["exception_info"]}
    assert not bad, bad
    assert len(nop) == 12 and {t: (_reward(r), r["exception_info"]) for t, r in nop.items()} == \
        {t: (0.0, None) for t in nop}
    check = subprocess.run(["sha256sum", "--quiet", "-c", "SHA256SUMS"], cwd=tasks, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout
