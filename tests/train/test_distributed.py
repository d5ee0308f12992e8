"""Ray rollout workers: each with its own engine replica and sandboxes; weights reach every worker."""
from __future__ import annotations

import pytest

from ale.train.trainer import RLTrainer

from conftest import tiny_rl_config


@pytest.mark.timeout(600)
@pytest.mark.slow  # starts Ray and two worker processes that each import torch (~30-60 s on 2 cores)
def test_two_ray_rollout_workers_share_a_step_and_get_synced_weights(tmp_path):
    cfg = tiny_rl_config(tmp_path / "run", "resample.enabled=false", "rollout.n_samples=4",
                         "distributed.ray_address=local", "distributed.num_rollout_workers=2")
    trainer = RLTrainer(cfg)
    try:
        episodes, roll = trainer.collect(1)
        assert len(episodes) == 4 and roll["dropped_broken"] == 0 and roll["generated_tokens"] > 0
        assert sorted(ep.spec.client_id for ep in episodes) == [0, 1, 2, 3]
        assert all(ep.versions and set(ep.versions) == {0} for ep in episodes)
        trainer.train_on(episodes)
        episodes, _ = trainer.collect(2)
        assert all(set(ep.versions) == {1} for ep in episodes)  # both workers sample with the new weights
    finally:
        trainer.close()
        import ray

        ray.shutdown()
