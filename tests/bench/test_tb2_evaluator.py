"""task.toml settings the evaluator acts on, in real sandboxes: GPUs refused, healthcheck, resources and
env reaching the agent's sandbox, the oracle's [solution.env]."""
from __future__ import annotations

import asyncio
from pathlib import Path

from ale.bench.evaluate import EvalConfig, Evaluator
from ale.bench.task import load_task
from .bench_testkit import needs_root

pytestmark = needs_root


def _task(root: Path, name: str, environment: str = "", extra: str = "") -> Path:
    d = root / name
    (d / "tests").mkdir(parents=True)
    (d / "environment").mkdir()
    (d / "solution").mkdir()
    (d / "environment" / "Dockerfile").write_text("FROM base\nWORKDIR /app\n")
    (d / "instruction.md").write_text("Write the environment to /app/env.txt.\n")
    (d / "solution" / "solve.sh").write_text("#!/bin/bash\nenv > /app/env.txt\nnproc >> /app/env.txt\n"
                                             "cat /sys/fs/cgroup/memory.max 2>/dev/null >> /app/env.txt || true\n")
    (d / "tests" / "test.sh").write_text(
        "cd /tests && python3 -m pytest -rA -p no:cacheprovider test_outputs.py\n"
        "if [ $? -eq 0 ]; then echo 1 > /logs/verifier/reward.txt; else echo 0 > /logs/verifier/reward.txt; fi\n")
    (d / "tests" / "test_outputs.py").write_text(
        "def test_env():\n    text = open('/app/env.txt').read()\n"
        "    assert 'FROM_TASK=hello' in text and 'FROM_SOLUTION=42' in text\n")
    (d / "task.toml").write_text(f'[verifier]\ntimeout_sec = 60.0\n[agent]\ntimeout_sec = 60.0\n'
                                 f'[environment]\nmemory_mb = 512\n{environment}\n'
                                 f'[environment.env]\nFROM_TASK = "hello"\n[solution.env]\nFROM_SOLUTION = "42"\n{extra}')
    return d


def test_gpus_healthcheck_env_through_the_evaluator(tmp_path):
    ok = load_task(_task(tmp_path, "ok", extra='[environment.healthcheck]\ncommand = "test -d /app"\n'))
    gpu = load_task(_task(tmp_path, "gpu", "gpus = 1\n"))
    sick = load_task(_task(tmp_path, "sick", extra='[environment.healthcheck]\ncommand = "false"\n'
                                                   'retries = 2\ninterval_sec = 0.1\n'))

    async def go():
        async with Evaluator(EvalConfig(concurrency=3, infra_retries=0)) as ev:
            return await asyncio.gather(*(ev.attempt(t, "oracle", 0) for t in (ok, gpu, sick)))

    r_ok, r_gpu, r_sick = asyncio.run(go())
    assert r_ok["passed"] and r_ok["failure"] is None, r_ok
    assert r_gpu["failure"] == "task_error" and "1 GPU" in r_gpu["error"], r_gpu
    assert r_sick["failure"] == "task_error" and r_sick["error"] == "healthcheck failed: false", r_sick
