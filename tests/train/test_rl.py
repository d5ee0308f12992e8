"""RL runs in real sandboxes with a tiny model: the CLI contract, weight sync, dynamic filtering,
expert-prefix resampling, plots."""
from __future__ import annotations

import copy
import json
import math

import pytest
import torch
from typer.testing import CliRunner

from ale.train.cli import app
from ale.train.rollout import ExpertStore, update_rollback
from ale.train.trainer import RLTrainer

from conftest import TEST_OVERRIDES, TINY_RL, assert_engine_samples_from_trainer_weights, tiny_rl_config


def test_cli_two_ipa_steps_write_metrics(tmp_path):
    out = tmp_path / "run"
    overrides = [o for o in TEST_OVERRIDES if not o.startswith("tensorboard")]
    r = CliRunner().invoke(app, ["rl", str(TINY_RL), *overrides, "--steps", "2", "--out", str(out)])
    assert r.exit_code == 0, r.output
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [rec["step"] for rec in records] == [1, 2]
    for rec in records:
        for key in ("reward_mean", "loss", "grad_norm", "tokens_per_s", "time_generation_s", "time_env_s",
                    "time_train_s", "mask_kept_frac" if "mask_kept_frac" in rec else "rl_mask_kept_frac",
                    "dropped_broken", "dropped_stale", "response_len_mean"):
            assert isinstance(rec[key], (int, float)) and math.isfinite(rec[key]), key
        assert rec["episodes"] == 2 and rec["grad_norm"] > 0 and rec["tokens_per_s"] > 0
        assert rec["old_logp_recomputed"] == 0.0  # sync, one update per batch: pi_old = logp.detach() (optim.recompute_old_logp=auto)
    assert [rec["policy_version"] for rec in records] == [1, 2]
    assert (out / "checkpoints" / "step-2" / "model.pt").exists()
    assert list((out / "tb").glob("events.*"))  # TensorBoard
    r = CliRunner().invoke(app, ["plot", str(out)])
    assert r.exit_code == 0 and (out / "curves.png").stat().st_size > 10_000


def test_engine_gets_the_trained_weights_and_episodes_record_versions(tmp_path):
    # one anchored episode per group (the replayed expert call solves the task: R = 1) and one plain (R = 0):
    # the RL and imitation terms both have a gradient; two epochs, so the ratio leaves 1 on the second
    cfg = tiny_rl_config(tmp_path / "run", "resample.enabled=true", "resample.fraction=0.5", "rollout.n_samples=2",
                         "optim.epochs=2")
    trainer = RLTrainer(cfg)
    try:
        start = copy.deepcopy(trainer.model)
        episodes, roll = trainer.collect(1)
        assert len(episodes) == 2 and roll["dropped_broken"] == 0
        assert sorted(ep.reward for ep in episodes) == [0.0, 1.0]
        for ep in episodes:
            assert ep.versions and set(ep.versions) == {0}  # every sampled turn says which weights sampled it
            rows = ep.rows()
            assert rows and all(r["version"] == 0 and r["group"] == episodes[0].spec.group for r in rows)
        stats = trainer.train_on(episodes)
        assert stats["grad_norm"] > 0 and stats["optimizer_steps"] == 2
        assert stats["epoch1_ratio_max"] == pytest.approx(1.0, abs=1e-5) and stats["epoch2_ratio_max"] != pytest.approx(1.0, abs=1e-5)
        assert any(not torch.equal(p, q) for p, q in zip(start.parameters(), trainer.model.parameters()))  # moved
        assert trainer.engine.version == 1
        engine_sd = trainer.engine.model.state_dict()
        assert all(torch.equal(engine_sd[k], v) for k, v in trainer.model.state_dict().items())
        episodes, _ = trainer.collect(2)
        assert all(set(ep.versions) == {1} for ep in episodes if ep.versions)
        assert_engine_samples_from_trainer_weights(trainer, episodes, start)
    finally:
        trainer.close()


def test_broken_episodes_are_resampled_from_the_same_state_and_counted(tmp_path):
    cfg = tiny_rl_config(tmp_path / "run", "resample.enabled=false", "rollout.max_resamples=1")
    trainer = RLTrainer(cfg)
    real_create = trainer.pool.create
    calls = []

    def flaky_create(task):  # FAULT INJECTION: the first sandbox of each task fails to start
        calls.append(task.id)
        if calls.count(task.id) == 1:
            raise RuntimeError("injected sandbox start failure")
        return real_create(task)

    trainer.pool.create = flaky_create
    try:
        episodes, roll = trainer.collect(1)
        assert roll["resampled"] == 1 and roll["dropped_broken"] == 0 and len(episodes) == 2
        assert any(ep.attempts == 2 and "injected" in ep.broken_reasons[0] for ep in episodes)
        assert len(set(calls)) == 1 and len(calls) == 3  # the retry was the same task
        trainer.pool.create = lambda task: (_ for _ in ()).throw(RuntimeError("always down"))
        episodes, roll = trainer.collect(2)
        assert episodes == [] and roll["dropped_broken"] == 2
    finally:
        trainer.close()


def test_expert_prefix_is_replayed_in_a_fresh_sandbox(tmp_path):
    cfg = tiny_rl_config(tmp_path / "run", "rollout.n_samples=2", "resample.fraction=1.0")
    trainer = RLTrainer(cfg)
    try:
        episodes, _ = trainer.collect(1)
        for ep in episodes:
            assert ep.spec.anchor == 1  # the solution expert has 2 chunks: replay the bash call, sample the rest
            # the replayed call wrote the answer in this episode's own fresh sandbox: the task's tests pass
            assert ep.reward == 1.0
            first = ep.trajectory.turns[0]
            assert first.response_ids == ep.spec.expert.chunks[0]
            rows = ep.rows()
            assert rows[0]["expert_chunks"] == 1
        stats = trainer.train_on(episodes)
        assert stats["il_tokens"] > 0 and stats["il_loss"] > 0  # Eq. 10's imitation term on the prefix
        trainer._after_episodes(episodes)
        trainer.write_crucial_report()
        report = json.loads((tmp_path / "run" / "crucial_chunks.json").read_text())
        expert = episodes[0].spec.expert
        assert report[episodes[0].spec.task.id][expert.key]["success_by_anchor"][1] == 1.0
    finally:
        trainer.close()


def test_sequential_rollback_moves_the_anchor_back_when_the_suffix_is_mastered():
    store = ExpertStore()
    store.anchor["t"] = 3
    for r in (1.0, 0.0, 1.0, 1.0):
        store.record("t", 3, r)
        update_rollback(store, "t", threshold=0.7, window=3)
    assert store.anchor["t"] == 3  # the last three are 0, 1, 1: not mastered yet
    store.record("t", 3, 1.0)
    update_rollback(store, "t", threshold=0.7, window=3)
    assert store.anchor["t"] == 2  # 1, 1, 1: start one chunk earlier
    for r in (1.0, 1.0):
        store.record("t", 2, r)
        update_rollback(store, "t", threshold=0.7, window=3)
    assert store.anchor["t"] == 2  # a full window is needed before the next move
    store.record("t", 0, 0.0)
    assert store.success_by_anchor("t") == [0.0, 1.0, 1.0, 0.8]  # anchor 1 unseen: copies anchor 2


def test_sequential_anchors_are_per_expert_and_never_replay_a_whole_expert():
    """C2: one anchor per task, set by whichever expert came first, exceeded a shorter expert's chunk count
    (it was then replayed entirely and its success polluted the rollback and crucial-chunk statistics)."""
    import random
    from types import SimpleNamespace

    from ale.train.config import ResampleConfig
    from ale.train.rollout import Expert, make_specs

    store = ExpertStore()
    long, short = Expert([[1], [2], [3], [4], [5]]), Expert([[6], [7]])
    store.add("t", long)
    store.add("t", short)
    rcfg = ResampleConfig(enabled=True, mode="sequential", fraction=1.0)
    task = SimpleNamespace(id="t")
    specs = make_specs([task], 40, 1, store, rcfg, random.Random(0))
    assert {id(s.expert) for s in specs} == {id(long), id(short)}  # both experts were drawn
    for s in specs:
        assert 1 <= s.anchor < len(s.expert.chunks)  # the policy always samples at least the last chunk
        assert s.anchor == len(s.expert.chunks) - 1  # each expert's curriculum starts at its own last chunk
    # mastering the long expert's suffix moves only its anchor back
    track = store.track("t", long)
    for _ in range(4):
        store.record(track, 4, 1.0)
        update_rollback(store, track, threshold=0.5, window=4)
    assert store.anchor[track] == 3 and store.anchor[store.track("t", short)] == 1


def test_imitation_weights_use_the_expert_trajectorys_length_and_return():
    """C4: the trainer weighted the replayed expert chunks by the rollout row's K and R* = 1, not by the
    expert trajectory's own K* and return R* (as docs/algorithms.md says)."""
    from types import SimpleNamespace

    from ale.agent.trajectory import ModelTurn, Trajectory
    from ale.train.algorithms import AlgoConfig
    from ale.train.rollout import Episode, EpisodeSpec, Expert
    from ale.train.update import collate

    # episode: expert chunk 0 replayed, then the policy's chunks 1 and 2 (3 chunks); expert: 2 chunks, R* = 0.5
    turns = [ModelTurn(0, [10, 11], [1], [float("nan")]), ModelTurn(1, [10, 11, 1, 12], [20], [-0.5]),
             ModelTurn(2, [10, 11, 1, 12, 20, 13], [21], [-0.5])]
    traj = Trajectory(task="t", turns=turns, reward=0.0)
    traj.finalize_tokens()
    expert = Expert([[1], [2]], reward=0.5, source="teacher")
    spec = EpisodeSpec(task=SimpleNamespace(id="t"), group=0, client_id=0, expert=expert, anchor=1)
    batch = collate(Episode(spec, traj, 0.0, versions=[0, 0]).rows(), pad_id=0)
    batch.old_logp = torch.zeros(batch.input_ids.shape)
    fake = SimpleNamespace(cfg=SimpleNamespace(algo=AlgoConfig(name="ipa", gamma=0.9)))  # what loss_fn reads
    _, stats = RLTrainer.loss_fn(fake, torch.full(batch.input_ids.shape, -1.0), batch)
    # weight of expert chunk k=0 (1-based 1) of K* = 2: gamma^(2-1) * R* = 0.45 (the row's K = 3, R* = 1: 0.81)
    assert stats["il_tokens"] == 1 and abs(stats["il_loss"] - 0.45) < 1e-6


def test_parallel_anchors_are_explicit_when_an_expert_has_fewer_than_asked():
    """C5: anchors_per_task 2 silently became 1 with a 2-chunk expert, and with one anchored sample per
    step only the last anchor was ever used."""
    import random
    import warnings
    from types import SimpleNamespace

    import pytest

    from ale.train.config import ResampleConfig
    from ale.train.rollout import Expert, make_specs, parallel_anchors

    assert parallel_anchors(5, 2) == [4, 1] and parallel_anchors(5, 4) == [4, 3, 2, 1] and parallel_anchors(7, 3) == [6, 4, 1]
    with pytest.warns(UserWarning, match=r"only 1 anchor\(s\) exist \(1..1\)"):
        assert parallel_anchors(2, 2, "t") == [1]  # 2 chunks: anchor 1 only (0 = plain, 2 = the whole expert)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert parallel_anchors(5, 4) == [4, 3, 2, 1]  # enough anchors: no warning
    store = ExpertStore()
    store.add("t", Expert([[1], [2], [3], [4], [5]]))
    rcfg = ResampleConfig(enabled=True, mode="parallel", anchors_per_task=2, fraction=0.5)
    used = {s.anchor for step in range(1, 5) for s in make_specs([SimpleNamespace(id="t")], 2, step, store, rcfg,
                                                                  random.Random(step)) if s.expert is not None}
    assert used == {4, 1}  # one anchored sample per step: the two anchors alternate over steps


def test_a_teachers_ids_are_re_encoded_unless_it_used_the_policys_tokenizer(tiny_policy):
    """C3: expert_from_trajectory kept a teacher's token ids whatever tokenizer made them (ids of another
    vocabulary reached the tiny policy)."""
    from ale.agent.trajectory import tokenizer_fingerprint
    from ale.train.rollout import expert_from_trajectory

    from conftest import teacher_tokenizer, teacher_trajectory

    _, tok = tiny_policy
    teacher = teacher_tokenizer()
    assert tokenizer_fingerprint(teacher) != tokenizer_fingerprint(tok)
    traj = teacher_trajectory(teacher)
    assert max(max(t.response_ids) for t in traj.turns) >= len(tok)  # the teacher's ids: outside the policy's vocabulary
    expert = expert_from_trajectory(traj, tok)
    texts = [m["content"] for m in traj.messages if m["role"] == "assistant"]
    assert [c[:-1] for c in expert.chunks] == [tok.encode(t, add_special_tokens=False) for t in texts]
    assert all(c[-1] == tok.eos_token_id for c in expert.chunks) and expert.reward == 1.0
    # the policy's own tokenizer recorded: its exact ids are kept, even where re-encoding would differ
    own = teacher_trajectory(tok)
    own.turns[0].response_ids = own.turns[0].response_ids[:-1] + [7, tok.eos_token_id]
    own.turns[0].logprobs = own.turns[0].logprobs + [-0.5]
    own.finalize_tokens()
    assert expert_from_trajectory(own, tok).chunks[0] == own.turns[0].response_ids
    own.config.pop("tokenizer")  # no record of the tokenizer: re-encoded, to be safe
    assert expert_from_trajectory(own, tok).chunks == expert.chunks


def test_training_batch_holds_exactly_the_engines_tokens_and_log_mu(tmp_path):
    """Token exactness over a multi-turn RL step in real sandboxes: every completion the engine sampled
    (its prompt ids, sampled ids and log mu) is in the training batch at the same positions, unchanged,
    and nothing else is trained on; the trainer's pi_old of those tokens equals mu (same weights)."""
    cfg = tiny_rl_config(tmp_path / "run", "resample.enabled=false", "rollout.n_samples=2", "agent.max_steps=3",
                         "optim.recompute_old_logp=always")
    trainer = RLTrainer(cfg)
    sampled = []
    real_generate = trainer.engine.generate

    def recording_generate(prompts, params, seed=None, max_new_tokens=None):
        outs = real_generate(prompts, params, seed=seed, max_new_tokens=max_new_tokens)
        sampled.extend(outs)
        return outs

    trainer.engine.generate = recording_generate
    seen = {}
    real_loss = trainer.loss_fn

    def loss_fn(logp, b):
        seen["batch"] = b
        return real_loss(logp, b)

    trainer.loss_fn = loss_fn
    try:
        episodes, _ = trainer.collect(1)
        assert max(len(ep.versions) for ep in episodes) >= 2  # multi-turn: several engine calls per episode
        stats = trainer.train_on(episodes)
    finally:
        trainer.close()
    b = seen["batch"]
    from_engine = sorted((tuple(c.prompt_ids), tuple(c.ids), tuple(c.logprobs)) for c in sampled)
    in_batch = []
    for row in range(b.size):
        ids, mu, chunks = b.input_ids[row].tolist(), b.infer_logp[row].tolist(), b.chunk_ids[row]
        for k in sorted(set(chunks[chunks >= 0].tolist())):
            where = (chunks == k).nonzero().squeeze(1)
            s, e = int(where[0]), int(where[-1]) + 1
            assert e - s == len(where)  # a chunk is one contiguous run
            in_batch.append((tuple(ids[:s]), tuple(ids[s:e]), tuple(mu[s:e])))
    assert len(from_engine) == len(in_batch) >= 3
    assert sorted(in_batch) == from_engine  # the same ids at the same positions, the same log mu, bit for bit
    assert stats["mask_kept_frac"] == 1.0 and abs(stats["mismatch_ratio_mean"] - 1.0) < 1e-3
    known = b.response_mask
    assert float((b.old_logp - b.infer_logp)[known].abs().max()) < 1e-4  # trainer pi_old == engine mu
