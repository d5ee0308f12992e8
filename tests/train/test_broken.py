"""Episodes broken by infrastructure: dropped with their reason, and a step (or an evaluation) where every
episode broke stops with that reason instead of training on nothing."""
from __future__ import annotations

import os

import pytest

from conftest import tiny_rl_config

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="sandboxes need root")


def _break_sandboxes(pool):
    def create(task):
        raise RuntimeError("image gone")
    pool.create = create


def test_a_step_whose_episodes_all_broke_stops_with_the_reason(tmp_path):
    from ale.train.trainer import RLTrainer

    trainer = RLTrainer(tiny_rl_config(tmp_path / "run", "steps=2", "rollout.max_resamples=1"), resume=False)
    try:
        _break_sandboxes(trainer.pool)
        with pytest.raises(RuntimeError, match="step 1: all 2 episodes broke on infrastructure .* image gone"):
            trainer.train()
        assert trainer.step == 0 and trainer.version == 0  # nothing was trained or logged as a step
    finally:
        trainer.close()


def test_evaluation_whose_episodes_all_broke_says_so(tmp_path):
    from ale.bench.task import load_tasks
    from ale.train.evaluate import evaluate
    from ale.train.trainer import RLTrainer

    trainer = RLTrainer(tiny_rl_config(tmp_path / "run", "rollout.max_resamples=0"), resume=False)
    try:
        _break_sandboxes(trainer.pool)
        with pytest.raises(RuntimeError, match="held-out evaluation: all 4 episodes broke .* image gone"):
            evaluate(trainer.model, trainer.tok, trainer.cfg, trainer.tasks, trainer.pool)
    finally:
        trainer.close()
