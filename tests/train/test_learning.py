"""Slow tier: a short run where reward rises on the easy task family.

The tiny random policy never solves a task by itself at first; chunk-level initialised resampling
(parallel anchors on the reference-solution expert) gives the imitation term of Eq. 10 the expert's
bash chunk and IPA reinforces what works. Checked: the plain rollouts (no expert prefix) go from
never succeeding to succeeding. 8 samples per step, 4 of them plain: with 2 plain samples the run
learns too but swings (last-30 success 0.23 / 0.27 / 0.23 for seeds 0 / 1 / 2 on 2026-12-04). Measured
with 8 (seeds 0 / 1 / 2, the same day): plain success 0 over steps 1-60 in each, 0.40 / 0.50 / 0.68
over steps 121-150.
"""
from __future__ import annotations

import math

import pytest

from ale.train.trainer import RLTrainer

from conftest import tiny_rl_config


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_plain_rollout_success_rises_with_initialised_resampling(tmp_path):
    cfg = tiny_rl_config(tmp_path / "run", "rollout.task_filter=[write-apple]", "rollout.n_samples=8",
                         "resample.fraction=0.5", "sampling.max_new_tokens=80", "sampling.temperature=0.7",
                         "optim.lr=1e-2", "policy.tiny_hidden=128", "checkpoint_every=0", "steps=150")
    trainer = RLTrainer(cfg, resume=False)
    try:
        records = trainer.train()
    finally:
        trainer.close()
    plain = [r["reward_plain_mean"] for r in records]
    assert all(v is not None and not math.isnan(v) for v in plain)
    first, last = plain[:30], plain[-30:]
    assert sum(first) == 0
    assert sum(last) / len(last) >= 0.25, plain
