"""Ray rollout workers: each with its own engine replica and sandboxes; weights reach every worker."""
from __future__ import annotations

import copy

import pytest

from ale.train.trainer import RLTrainer

from conftest import assert_engine_samples_from_trainer_weights, tiny_rl_config


@pytest.mark.timeout(600)
@pytest.mark.slow  # starts Ray and two worker processes that each import torch (~30-60 s on 2 cores)
def test_two_ray_rollout_workers_share_a_step_and_get_synced_weights(tmp_path):
    # resampling on: half of each group anchored (R = 1), half plain: a non-zero gradient
    cfg = tiny_rl_config(tmp_path / "run", "rollout.n_samples=4", "resample.fraction=0.5",
                         "distributed.ray_address=local", "distributed.num_rollout_workers=2")
    trainer = RLTrainer(cfg)
    start = copy.deepcopy(trainer.model)
    try:
        episodes, roll = trainer.collect(1)
        assert len(episodes) == 4 and roll["dropped_broken"] == 0 and roll["generated_tokens"] > 0
        assert sorted(ep.spec.client_id for ep in episodes) == [0, 1, 2, 3]
        assert all(ep.versions and set(ep.versions) == {0} for ep in episodes)
        assert trainer.train_on(episodes)["grad_norm"] > 0
        episodes, _ = trainer.collect(2)
        assert all(set(ep.versions) == {1} for ep in episodes if ep.versions)
        assert {ep.spec.client_id // 2 for ep in episodes if ep.versions} == {0, 1}  # episodes of both workers
        # both workers sample with the new weights: their log mu is the trainer's updated model's
        assert_engine_samples_from_trainer_weights(trainer, episodes, start)
    finally:
        trainer.close()
        import ray

        ray.shutdown()
