"""Slow tier: a short run where reward rises on the easy task family.

The tiny random policy never solves a task by itself at first; chunk-level initialised resampling
(parallel anchors on the reference-solution expert) gives the imitation term of Eq. 10 the expert's
bash chunk, and IPA reinforces it. The claim checked is the report's: the plain rollouts (no expert
prefix) go from never succeeding to succeeding.
"""
from __future__ import annotations

import pytest

from ale.train.trainer import RLTrainer

from conftest import tiny_rl_config


@pytest.mark.slow
def test_plain_rollout_success_rises_with_initialised_resampling(tmp_path):
    cfg = tiny_rl_config(tmp_path / "run", "rollout.task_filter=[write-apple]", "rollout.n_samples=4",
                         "resample.fraction=0.5", "sampling.max_new_tokens=80", "optim.lr=3e-3",
                         "checkpoint_every=0", "policy.tiny_hidden=64")
    trainer = RLTrainer(cfg)
    plain = []
    try:
        for step in range(1, 61):
            episodes, _ = trainer.collect(step)
            trainer._after_episodes(episodes)
            plain.append([ep.reward for ep in episodes if ep.spec.anchor == 0])
            trainer.train_on(episodes)
            trainer.step = step
    finally:
        trainer.close()
    first = [r for rs in plain[:10] for r in rs]
    last = [r for rs in plain[-10:] for r in rs]
    assert sum(first) == 0
    assert sum(last) / len(last) >= 0.25, plain
