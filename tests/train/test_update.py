"""The algorithm-blind update step: batch collation, recomputed log pi_old, gradient clipping."""
from __future__ import annotations

import math

import pytest

import torch

from ale.train.algorithms import AlgoConfig, PolicyBatch, policy_loss
from ale.train.update import collate, token_logprobs, update_step


def _rows(tok, reply="hi there"):
    p1 = tok.encode("<|im_start|>user\nsay hi<|im_end|>\n<|im_start|>assistant\n", add_special_tokens=False)
    r1 = tok.encode(reply, add_special_tokens=False) + [tok.eos_token_id]
    obs = tok.encode("\n<|im_start|>user\nok<|im_end|>\n<|im_start|>assistant\n", add_special_tokens=False)
    r2 = tok.encode("bye", add_special_tokens=False) + [tok.eos_token_id]
    ids = p1 + r1 + obs + r2
    c1, c2 = (len(p1), len(p1) + len(r1)), (len(p1) + len(r1) + len(obs), len(ids))
    mask = [0] * len(ids)
    lps = [0.0] * len(ids)
    for s, e in (c1, c2):
        for t in range(s, e):
            mask[t], lps[t] = 1, -1.5
    good = {"input_ids": ids, "loss_mask": mask, "logprobs": lps, "chunks": [list(c1), list(c2)], "chunk_errors": [False, True],
            "reward": 1.0, "group": 0, "version": 3}
    short = dict(good, input_ids=p1 + r1, loss_mask=mask[:c1[1]], logprobs=lps[:c1[1]], chunks=[list(c1)],
                 chunk_errors=[False], reward=0.0, expert_chunks=1, version=2)
    return good, short, (c1, c2)


def test_collate_pads_and_marks_chunks_prefix_and_unknown_mu(tiny_policy):
    _, tok = tiny_policy
    good, short, (c1, c2) = _rows(tok)
    b = collate([good, short], tok.pad_token_id)
    assert b.input_ids.shape == (2, len(good["input_ids"]))
    assert b.attention_mask[1].sum() == len(short["input_ids"])
    assert b.chunk_ids[0, c1[0]:c1[1]].eq(0).all() and b.chunk_ids[0, c2[0]:c2[1]].eq(1).all()
    assert int((b.chunk_ids[0] >= 0).sum()) == sum(good["loss_mask"])
    # row 1's single chunk was replayed from an expert: prefix, and mu unknown (NaN)
    assert b.expert_prefix[1].sum() == c1[1] - c1[0] and torch.isnan(b.infer_logp[1]).all()
    assert torch.equal(b.infer_logp[0, c1[0]:c1[1]], torch.full((c1[1] - c1[0],), -1.5))
    assert b.chunk_error[0].tolist() == [False, True] and b.versions.tolist() == [3, 2]
    assert b.rewards.tolist() == [1.0, 0.0]


def test_update_step_recomputes_old_logp_and_raises_a_positive_rows_likelihood(tiny_policy):
    model, tok = tiny_policy
    good, _, _ = _rows(tok)
    other = dict(_rows(tok, reply="qq zz")[0], reward=0.0)  # same group, another reply: A = +0.5 / -0.5
    batch = collate([good, other], tok.pad_token_id)
    cfg = AlgoConfig(name="ipa", baseline="group_mean", mismatch_mask="none")
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    seen = {}

    def loss_fn(logp, b):  # any algorithm: the step does not know which
        seen["old"] = b.old_logp.clone()
        seen["logp"] = logp.detach().clone()
        return policy_loss(logp, PolicyBatch(b.response_mask, b.old_logp, b.rewards, b.group_ids, chunk_ids=b.chunk_ids), cfg)

    stats = update_step(model, opt, None, batch, loss_fn, max_grad_norm=0.0)
    assert torch.allclose(seen["old"], seen["logp"])  # pi_old is the trainer's own forward pass
    assert stats["grad_norm"] > 0 and math.isfinite(stats["loss"])
    with torch.no_grad():
        after = token_logprobs(model, batch.input_ids, batch.attention_mask, 8)
    resp = batch.response_mask[0]
    assert after[0][resp].sum() > seen["old"][0][resp].sum()  # A > 0: more likely
    assert after[1][resp].sum() < seen["old"][1][resp].sum()  # A < 0: less likely


def test_gradient_is_clipped_but_the_logged_norm_is_the_raw_one(tiny_policy):
    model, tok = tiny_policy
    good, _, _ = _rows(tok)
    batch = collate([good], tok.pad_token_id)
    before = [p.detach().clone() for p in model.parameters()]
    opt = torch.optim.SGD(model.parameters(), lr=1.0)

    def nll(logp, b):
        return -(logp * b.response_mask).sum(), {}

    stats = update_step(model, opt, None, batch, nll, max_grad_norm=1e-3)
    moved = torch.sqrt(sum(((p.detach() - q) ** 2).sum() for p, q in zip(model.parameters(), before)))
    assert stats["grad_norm"] > 1.0
    assert abs(float(moved) - 1e-3) < 1e-5  # SGD with lr 1 moves exactly the clipped norm


def test_one_rl_step_on_given_prompts_without_the_agent(tiny_policy):
    """The agent-free path (what benchmarks/train.py times): 8 completions of exactly 16 tokens, one IPA step."""
    from ale.train.engine import HFEngine, SamplingParams
    from ale.train.update import completion_rows

    model, tok = tiny_policy
    engine = HFEngine(model, tok.eos_token_id, tok.pad_token_id)
    prompt = tok.encode("<|im_start|>user\ncount<|im_end|>\n<|im_start|>assistant\n", add_special_tokens=False)
    outs = engine.generate([prompt] * 8, SamplingParams(max_new_tokens=16, min_new_tokens=16), seed=0)
    assert all(len(o.ids) == 16 for o in outs)
    rewards = [float(i % 2) for i in range(8)]
    batch = collate(completion_rows(outs, rewards), tok.pad_token_id)
    cfg = AlgoConfig(name="ipa")
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)

    def loss_fn(logp, b):
        return policy_loss(logp, PolicyBatch(b.response_mask, b.old_logp, b.rewards, b.group_ids, b.infer_logp,
                                             b.chunk_ids), cfg)

    stats = update_step(model, opt, None, batch, loss_fn, max_grad_norm=1.0)
    assert stats["grad_norm"] > 0 and stats["mask_kept_frac"] == 1.0  # engine mu and trainer pi_old agree here
    assert stats["loss_tokens"] == 8 * 16


def test_lora_policy_trains_adapters_and_the_engine_gets_merged_weights():
    from ale.train.engine import HFEngine
    from ale.train.policy import LoraConfig, PolicyConfig, engine_base, engine_state_dict, load_policy

    model, tok = load_policy(PolicyConfig(model="tiny", context_window=512, lora=LoraConfig(r=4, alpha=8)))
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    engine = HFEngine(engine_base(model), tok.eos_token_id, tok.pad_token_id)
    good, _, _ = _rows(tok)
    batch = collate([good], tok.pad_token_id)
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=1.0)
    update_step(model, opt, None, batch, lambda logp, b: (-(logp * b.response_mask).sum(), {}), max_grad_norm=0.0)
    merged = engine_state_dict(model)
    assert set(merged) == set(engine.model.state_dict())  # plain names: the engine's copy takes them as they are
    before = engine.model.state_dict()["model.layers.0.self_attn.q_proj.weight"].clone()
    engine.load_weights(merged, 1)
    assert not torch.equal(engine.model.state_dict()["model.layers.0.self_attn.q_proj.weight"], before)


def test_token_logprobs_of_the_needed_tokens_only_equal_the_full_vocabulary_forward(tiny_policy):
    model, tok = tiny_policy
    good, short, (c1, _) = _rows(tok)
    batch = collate([good, short], tok.pad_token_id)
    with torch.no_grad():
        full = token_logprobs(model, batch.input_ids, batch.attention_mask, 8)
        part = token_logprobs(model, batch.input_ids, batch.attention_mask, 8, needed=batch.response_mask)
        one_by_one = token_logprobs(model, batch.input_ids, batch.attention_mask, 1, needed=batch.response_mask)
    need = batch.response_mask
    assert torch.allclose(part[need], full[need], atol=1e-5) and torch.allclose(one_by_one[need], full[need], atol=1e-5)
    assert part[:, :c1[0]].eq(0).all() and full[:, 1:c1[0]].ne(0).any()  # prompt columns were never computed


def _counting_forwards(model):
    calls = []
    handle = model.register_forward_pre_hook(lambda *a: calls.append(1))
    return calls, handle


def test_auto_skips_the_pi_old_forward_only_when_the_batch_is_provably_on_policy(tiny_policy):
    import copy

    model, tok = tiny_policy
    good, _, _ = _rows(tok)  # sampled by policy version 3
    other = dict(_rows(tok, reply="qq zz")[0], reward=0.0)
    cfg = AlgoConfig(name="ipa", baseline="group_mean")
    results = {}
    for mode, version in (("always", 3), ("auto", 3), ("auto", 4), ("auto", None)):
        m = copy.deepcopy(model)
        opt = torch.optim.SGD(m.parameters(), lr=0.5)
        batch = collate([good, other], tok.pad_token_id)
        calls, handle = _counting_forwards(m)
        seen = {}

        def loss_fn(logp, b):
            seen["old"] = b.old_logp.clone()
            return policy_loss(logp, PolicyBatch(b.response_mask, b.old_logp, b.rewards, b.group_ids, b.infer_logp,
                                                 b.chunk_ids), cfg)

        stats = update_step(m, opt, None, batch, loss_fn, max_grad_norm=0.0, recompute_old_logp=mode,
                            policy_version=version)
        handle.remove()
        results[(mode, version)] = (len(calls), stats, seen["old"], [p.detach() for p in m.parameters()])
    assert results[("always", 3)][0] == 2 and results[("always", 3)][1]["old_logp_recomputed"] == 1.0
    assert results[("auto", 3)][0] == 1 and results[("auto", 3)][1]["old_logp_recomputed"] == 0.0
    for stale in (("auto", 4), ("auto", None)):  # not sampled by these weights, or unknown: recompute
        assert results[stale][0] == 2 and results[stale][1]["old_logp_recomputed"] == 1.0
    # skipping changes no number: same pi_old (so the same mu masks), same loss, same step
    ref, fast = results[("always", 3)], results[("auto", 3)]
    resp = collate([good, other], tok.pad_token_id).response_mask
    assert torch.allclose(ref[2][resp], fast[2][resp], atol=1e-5)
    assert abs(ref[1]["loss"] - fast[1]["loss"]) < 1e-5 and ref[1]["mask_kept_frac"] == fast[1]["mask_kept_frac"]
    assert all(torch.allclose(p, q, atol=1e-6) for p, q in zip(ref[3], fast[3]))


def test_auto_recomputes_when_dropout_is_active_and_rejects_unknown_modes(tiny_policy):
    import copy

    import pytest

    model, tok = tiny_policy
    m = copy.deepcopy(model)
    m.config.attention_dropout = 0.1  # train-mode forward is random: logp.detach() is not the eval pi_old
    batch = collate([_rows(tok)[0]], tok.pad_token_id)
    opt = torch.optim.SGD(m.parameters(), lr=0.0)
    nll = lambda logp, b: (-(logp * b.response_mask).sum(), {})  # noqa: E731
    stats = update_step(m, opt, None, batch, nll, max_grad_norm=0.0, recompute_old_logp="auto", policy_version=3)
    assert stats["old_logp_recomputed"] == 1.0
    with pytest.raises(ValueError, match="recompute_old_logp"):
        update_step(m, opt, None, batch, nll, max_grad_norm=0.0, recompute_old_logp="never", policy_version=3)


def test_adamw_uses_the_fused_kernel_on_cpu_and_matches_the_loop():
    from ale.train.update import adamw

    torch.manual_seed(0)
    a = torch.nn.Parameter(torch.randn(5, 3))
    b = torch.nn.Parameter(a.detach().clone())
    fused, loop = adamw([a], lr=0.1, weight_decay=0.01), torch.optim.AdamW([b], lr=0.1, weight_decay=0.01, foreach=False)
    assert fused.defaults["fused"] is True
    for _ in range(3):
        g = torch.randn(5, 3)
        a.grad, b.grad = g.clone(), g.clone()
        fused.step()
        loop.step()
    assert torch.allclose(a, b, atol=1e-6)


def _ipa_loss(cfg):
    def loss_fn(logp, b):
        return policy_loss(logp, PolicyBatch(b.response_mask, b.old_logp, b.rewards, b.group_ids, b.infer_logp,
                                             b.chunk_ids), cfg)
    return loss_fn


def test_epochs_move_the_ratio_off_one_and_make_the_truncation_act(tiny_policy):
    """A success and a failure that share their first reply: training on the success raises that reply's
    probability in the failure too, so on epoch 2 the failure's first chunk has rho_c > 1, cut to 1 (Eq. 9)."""
    import copy

    model, tok = tiny_policy
    good, _, _ = _rows(tok)  # reward 1
    bad = dict(good, reward=0.0)  # same tokens, reward 0: non-positive, A = 0 with baseline none
    cfg = AlgoConfig(name="ipa", baseline="none", mismatch_mask="none")
    results = {}
    for epochs in (1, 3):
        m = copy.deepcopy(model)
        opt = torch.optim.SGD(m.parameters(), lr=0.5)
        batch = collate([good, bad], tok.pad_token_id)
        results[epochs] = update_step(m, opt, None, batch, _ipa_loss(cfg), max_grad_norm=0.0, epochs=epochs,
                                      policy_version=3)
    one, three = results[1], results[3]
    assert one["optimizer_steps"] == 1 and three["optimizer_steps"] == 3
    assert one["ratio_min"] == one["ratio_max"] == 1.0 and one["chunks_truncated_frac"] == 0.0
    assert three["old_logp_recomputed"] == 1.0  # several steps: pi_old is its own forward, fixed before epoch 1
    assert abs(three["epoch1_ratio_max"] - 1.0) < 1e-5 and three["epoch1_chunks_truncated_frac"] == 0.0
    for e in (2, 3):
        assert three[f"epoch{e}_ratio_max"] > 1.01  # pi moved away from pi_old
        assert three[f"epoch{e}_chunks_truncated_frac"] > 0  # the failure's chunks: rho_c > 1, cut to 1
    assert three["ratio_max"] == max(three[f"epoch{e}_ratio_max"] for e in (1, 2, 3))
    assert three["chunks_truncated_frac"] == pytest.approx(sum(three[f"epoch{e}_chunks_truncated_frac"] for e in (1, 2, 3)) / 3)


def test_minibatches_split_whole_groups_and_pi_old_is_fixed_once(tiny_policy):
    import copy

    model, tok = tiny_policy
    good, _, _ = _rows(tok)
    other = dict(_rows(tok, reply="qq zz")[0], reward=0.0)
    rows = [dict(good, group=0), dict(other, group=0), dict(good, group=1), dict(other, group=1), dict(good, group=2)]
    cfg = AlgoConfig(name="ipa", baseline="group_mean", mismatch_mask="none")
    m = copy.deepcopy(model)
    opt = torch.optim.SGD(m.parameters(), lr=0.5)
    batch = collate(rows, tok.pad_token_id)
    seen = []

    def loss_fn(logp, b):
        seen.append((b.group_ids.tolist(), b.old_logp.clone()))
        return _ipa_loss(cfg)(logp, b)

    stats = update_step(m, opt, None, batch, loss_fn, max_grad_norm=0.0, epochs=2, minibatches=2)
    assert stats["optimizer_steps"] == 4 and stats["minibatches"] == 2
    assert [groups for groups, _ in seen] == [[0, 0], [1, 1, 2], [0, 0], [1, 1, 2]]
    assert torch.equal(seen[0][1], seen[2][1]) and torch.equal(seen[1][1], seen[3][1])  # epoch 2: same pi_old
    stats = update_step(m, opt, None, collate(rows[:2], tok.pad_token_id), _ipa_loss(cfg), max_grad_norm=0.0,
                        minibatches=4)
    assert stats["minibatches"] == 1  # one group: one minibatch at most


def test_async_rows_take_pi_old_from_the_sampling_policy(tiny_policy):
    """Rows sampled by an older version: pi_old = the engine's log mu (stale_old_logp=engine), not the
    current weights' forward (recompute)."""
    import copy

    model, tok = tiny_policy
    good, _, _ = _rows(tok)  # version 3, mu = -1.5 on every sampled token
    fresh = dict(_rows(tok, reply="qq zz")[0], reward=0.0, version=4)
    cfg = AlgoConfig(name="ipa", baseline="group_mean", mismatch_mask="chunk")
    seen = {}
    for mode in ("engine", "recompute"):
        batch = collate([good, fresh], tok.pad_token_id)

        def loss_fn(logp, b):
            seen[mode] = b.old_logp.clone()
            return _ipa_loss(cfg)(logp, b)

        stats = update_step(copy.deepcopy(model), torch.optim.SGD(model.parameters(), lr=0.0), None, batch, loss_fn,
                            max_grad_norm=0.0, policy_version=4, stale_old_logp=mode)
        seen[mode + "_stats"] = stats
    resp = batch.response_mask
    assert torch.equal(seen["engine"][0][resp[0]], torch.full((int(resp[0].sum()),), -1.5))
    assert not torch.allclose(seen["recompute"][0][resp[0]], seen["engine"][0][resp[0]])
    assert torch.equal(seen["engine"][1], seen["recompute"][1])  # the current version's row: the trainer's own pass
    with torch.no_grad():
        current = token_logprobs(model, batch.input_ids, batch.attention_mask, 8)
    assert torch.allclose(seen["recompute"][0][resp[0]], current[0][resp[0]], atol=1e-5)


def _split_episode_rows(reward, episode, group=0):
    """Rows of one 4-turn episode whose third prompt does not extend the sequence (as after a compaction):
    two training rows of two chunks each."""
    from ale.agent.trajectory import ModelTurn, Trajectory, training_data

    turns = [ModelTurn(0, [1, 2], [3], [-0.1]), ModelTurn(1, [1, 2, 3, 4], [5], [-0.2]),
             ModelTurn(2, [9, 9], [6], [-0.3]), ModelTurn(3, [9, 9, 6, 7], [8], [-0.4])]
    traj = Trajectory(task="t", turns=turns, reward=reward)
    traj.finalize_tokens()
    rows = training_data(traj)
    for row in rows:  # what Episode.rows adds
        row.update(group=group, reward=reward, episode=episode, version=0)
    return rows


def test_chunk_discount_and_group_baseline_are_per_episode_not_per_row():
    """C1: an episode split into two rows keeps its 4 chunks' discount gamma^(K-k) = [.125, .25 | .5, 1] and
    counts once in its group's mean."""
    from ale.train.algorithms import advantage_terms

    split = _split_episode_rows(1.0, episode=0)
    assert len(split) == 2 and [r["sequence_reason"] for r in split] == ["start", "prefix_mismatch"]
    other = [dict(r, episode_chunks=2) for r in _split_episode_rows(0.0, episode=1)[:1]]  # a 2-chunk episode, R = 0
    batch = collate(split + other, pad_id=0)
    batch.old_logp = torch.zeros(batch.input_ids.shape)
    terms = advantage_terms(batch.policy_batch(), AlgoConfig(name="ipa", gamma=0.5, baseline="group_mean",
                                                             mismatch_mask="none"))
    # group mean over the two episodes = 0.5: A = +0.5 for the split episode, -0.5 for the other
    resp = batch.response_mask
    assert terms.advantages[0][resp[0]].tolist() == [0.5 * 0.125, 0.5 * 0.25]
    assert terms.advantages[1][resp[1]].tolist() == [0.5 * 0.5, 0.5 * 1.0]
    assert terms.advantages[2][resp[2]].tolist() == [-0.5 * 0.5, -0.5 * 1.0]
    assert batch.chunk_ids[1][resp[1]].tolist() == [2, 3] and batch.num_chunks.tolist() == [4, 4, 2]
