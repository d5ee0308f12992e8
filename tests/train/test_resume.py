"""Exact resume: a training process killed mid-run (SIGKILL) and restarted from its last checkpoint
logs the same next losses as a run that was never interrupted."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from ale.train.trainer import RLTrainer

from conftest import REPO, TEST_OVERRIDES, TINY_RL, tiny_rl_config

STEPS = 3


def _cmd(out: Path) -> list[str]:
    return [sys.executable, "-m", "ale.train.cli", "rl", str(TINY_RL), *TEST_OVERRIDES,
            "--steps", str(STEPS), "--out", str(out)]


def _records(out: Path) -> list[dict]:
    path = out / "metrics.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def test_killed_run_resumes_with_identical_losses(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    full, killed = tmp_path / "full", tmp_path / "killed"
    reference = RLTrainer(tiny_rl_config(full, f"steps={STEPS}"), resume=False)  # in-process: one import fewer
    try:
        reference.train()
    finally:
        reference.close()

    proc = subprocess.Popen(_cmd(killed), cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 180
    while time.time() < deadline and not (killed / "checkpoints" / "step-1" / "trainer.json").exists():
        assert proc.poll() is None, "the run ended before it could be killed"
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)  # mid-run: step 1 checkpointed, step 2 under way
    proc.wait()
    before = _records(killed)
    assert [r["step"] for r in before] == [1]

    subprocess.run(_cmd(killed), cwd=REPO, env=env, check=True, capture_output=True, timeout=240)
    a, b = _records(full), _records(killed)
    assert [r["step"] for r in b] == list(range(1, STEPS + 1))
    assert b[0] == before[0]  # step 1 was not redone: the run resumed from its checkpoint
    for ra, rb in zip(a, b):
        for key in ("loss", "grad_norm", "reward_mean", "response_len_mean", "policy_version"):
            assert ra[key] == rb[key], (ra["step"], key, ra[key], rb[key])
    assert len({r["loss"] for r in a}) > 1  # the losses move: equality is not trivial
