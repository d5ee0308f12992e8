"""Async mode: step t+1's rollouts run while step t trains, by default in a rollout worker process
(own interpreter, own torch threads, weights shipped after each update); samples more than
``rollout.max_policy_lag`` versions old are dropped and counted."""
from __future__ import annotations

import copy
import json
import math
import os

from ale.train.distributed import ProcessRollouts
from ale.train.rollout import Episode
from ale.train.trainer import RLTrainer, split_stale

from conftest import assert_engine_samples_from_trainer_weights, tiny_rl_config


def _ep(*versions: int) -> Episode:
    return Episode(spec=None, trajectory=None, reward=0.0, versions=list(versions))


def test_split_stale_judges_an_episode_by_its_oldest_turn():
    eps = [_ep(3), _ep(2, 3), _ep(1, 2), _ep()]  # _ep(): no sampled turn, start version 0
    fresh, stale = split_stale(eps, version=3, max_lag=1)
    assert fresh == eps[:2] and stale == eps[2:]
    fresh, stale = split_stale(eps, version=3, max_lag=0)
    assert fresh == eps[:1] and stale == eps[1:]


def _wait_for_lookahead_before_training(trainer: RLTrainer) -> None:
    """Make staleness certain: each update starts only once the next step's rollout has finished, so
    that rollout was sampled entirely by the weights before the update."""
    real = trainer.train_on

    def train_on(episodes):
        if trainer._producer is not None and trainer._producer.pending is not None:
            trainer._producer.pending[1].result()
        return real(episodes)

    trainer.train_on = train_on


def test_async_process_worker_runs_steps_and_drops_stale_samples(tmp_path):
    out = tmp_path / "run"
    # resampling on (the example's default): per group one anchored episode (R = 1) and one plain: a gradient
    cfg = tiny_rl_config(out, "rollout.async_mode=true", "rollout.max_policy_lag=1")
    assert cfg.rollout.async_worker == "process" and cfg.resample.enabled
    trainer = RLTrainer(cfg)
    start = copy.deepcopy(trainer.model)
    try:
        assert isinstance(trainer.remote, ProcessRollouts) and trainer.remote.pid != os.getpid()
        records = trainer.train(2)  # real sandboxes, driven by the worker process
        assert [r["step"] for r in records] == [1, 2]
        assert [r["policy_version"] for r in records] == [1, 2]
        for r in records:
            assert r["episodes"] == 2 and r["dropped_stale"] == 0 and r["dropped_broken"] == 0
            assert r["generated_tokens"] > 0 and math.isfinite(r["loss"]) and r["grad_norm"] > 0
            assert 0 <= r["policy_lag_mean"] <= 1
        assert records[0]["policy_lag_mean"] == 0  # step 1 is sampled before any update
        assert trainer.remote.wait_loaded(2, timeout=60)  # the worker got the newest weights
        # ... and samples from them: its log mu is the trainer's version-2 model's, not the start model's
        episodes, _ = trainer.collect(3)
        assert_engine_samples_from_trainer_weights(trainer, episodes, start)
        # the checkpoint records the data position of its own step, not of the prefetched next one
        ckpt = json.loads((out / "checkpoints" / "step-1" / "trainer.json").read_text())
        assert ckpt["sampler"]["epoch"] * len(trainer.tasks) + ckpt["sampler"]["cursor"] == 1

        # lag 0 and an update that waits for the next rollout: that rollout is one version behind
        trainer.cfg.rollout.max_policy_lag = 0
        _wait_for_lookahead_before_training(trainer)
        records = trainer.train(4)
        assert [r["step"] for r in records] == [3, 4]
        assert records[0]["dropped_stale"] == 0 and records[0]["episodes"] == 2  # sampled after step 2's update
        assert records[1]["dropped_stale"] == 2 and records[1]["episodes"] == 0  # sampled while step 3 trained
        assert math.isnan(records[1]["loss"]) and records[1]["policy_version"] == 3  # nothing left to train on
        assert records[1]["total_dropped_stale"] == 2
    finally:
        trainer.close()
    assert trainer.remote.proc.poll() is not None  # the worker process is gone


def test_async_thread_worker_drops_stale_samples(tmp_path):
    cfg = tiny_rl_config(tmp_path / "run", "rollout.async_mode=true",
                         "rollout.async_worker=thread", "rollout.max_policy_lag=0")
    trainer = RLTrainer(cfg)
    assert trainer.remote is None
    start = copy.deepcopy(trainer.model)
    _wait_for_lookahead_before_training(trainer)
    try:
        records = trainer.train(3)
        assert all(r["grad_norm"] > 0 for r in records if r["episodes"] > 0)
        episodes, _ = trainer.collect(4)
        assert_engine_samples_from_trainer_weights(trainer, episodes, start)  # the shared engine has the new weights
    finally:
        trainer.close()
    assert [r["step"] for r in records] == [1, 2, 3]
    # step 2 sampled while step 1 trained: stale at lag 0; step 3 sampled after step 2 (no update): fresh
    assert [r["dropped_stale"] for r in records] == [0, 2, 0]
    assert records[-1]["total_dropped_stale"] == 2
    assert all(r["policy_lag_mean"] == 0 for r in records if r["episodes"] > 0)
