"""Algorithm functions against hand-computed values (2 trajectories x 6 tokens unless said).

The shared example, per row (x = not a model token):
  response   row0: [0,1,1,0,1,1]   chunks [-1,0,0,-1,1,1]  K=2   spans (1,3),(4,6)
             row1: [1,1,0,1,0,1]   chunks [0,0,-1,1,-1,2]  K=3   spans (0,2),(3,4),(5,6)
  logp - old row0: [x, .2, .4, x, -.2, 0]    chunk means .3, -.1    sequence mean .1
             row1: [.1, -.3, x, .6, x, -.8]  chunk means -.1, .6, -.8  sequence mean -.1
  old - mu   row0: [x, 0, .2, x, 1.0, .2]    token pi_old/mu: 1, e^.2, e^1 (>2), e^.2; chunk e^.1, e^.6
             row1: [-.8, 0, x, .3, x, -1.0]  token: e^-.8, 1, e^.3, e^-1; chunk e^-.4, e^.3, e^-1
old_logp is -1 on every token, so logp = -1 + (logp - old).
"""

from __future__ import annotations

import math

import pytest
import torch
from pydantic import ValidationError

from ale.train.algorithms import (
    AlgoConfig,
    PolicyBatch,
    aggregate,
    advantage_terms,
    chunks_from_response_mask,
    chunks_from_spans,
    crucial_chunks,
    group_advantages,
    imitation_loss,
    mismatch_mask,
    policy_loss,
    sft_loss,
)

NAN = float("nan")
RESPONSE = torch.tensor([[0, 1, 1, 0, 1, 1], [1, 1, 0, 1, 0, 1]], dtype=torch.bool)
SPANS = [[(1, 3), (4, 6)], [(0, 2), (3, 4), (5, 6)]]
CHUNKS = torch.tensor([[-1, 0, 0, -1, 1, 1], [0, 0, -1, 1, -1, 2]])
# NaN on non-model tokens: they must never reach a loss or a gradient.
DELTA = torch.tensor([[NAN, 0.2, 0.4, NAN, -0.2, 0.0], [0.1, -0.3, NAN, 0.6, NAN, -0.8]], dtype=torch.float64)
OLD_MINUS_MU = torch.tensor([[NAN, 0.0, 0.2, NAN, 1.0, 0.2], [-0.8, 0.0, NAN, 0.3, NAN, -1.0]], dtype=torch.float64)
E = math.exp


def make_batch(rewards, groups=(0, 0), **overrides) -> PolicyBatch:
    old = torch.full((2, 6), -1.0, dtype=torch.float64)
    fields = dict(
        response_mask=RESPONSE,
        old_logp=old,
        infer_logp=old - OLD_MINUS_MU,
        rewards=torch.tensor(rewards, dtype=torch.float64),
        group_ids=torch.tensor(groups),
    )
    fields.update(overrides)
    return PolicyBatch(**fields)


def current_logp() -> torch.Tensor:
    return (-1.0 + DELTA).clone().requires_grad_(True)


def grad_of(loss: torch.Tensor, logp: torch.Tensor) -> torch.Tensor:
    loss.backward()
    assert logp.grad is not None
    return logp.grad


def expected(rows: list[list[float]]) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.float64)


# ---------------------------------------------------------------- chunks


def test_chunks_from_response_mask_numbers_runs():
    assert torch.equal(chunks_from_response_mask(RESPONSE), CHUNKS)
    ints = torch.tensor([[1, 1, 1, 0, 0, 1], [0, 0, 0, 0, 0, 0]])
    assert chunks_from_response_mask(ints).tolist() == [[0, 0, 0, -1, -1, 1], [-1] * 6]


def test_chunks_from_spans_agrees_with_mask_segmentation():
    from_spans = chunks_from_spans(SPANS, 6)
    assert torch.equal(from_spans, CHUNKS)
    assert torch.equal(from_spans, chunks_from_response_mask(RESPONSE))


def test_chunks_from_spans_and_mask_agree_on_random_trajectories():
    generator = torch.Generator().manual_seed(0)
    for _ in range(50):
        mask = torch.rand(3, 17, generator=generator) < 0.6
        spans = []
        for row in mask.tolist():  # run-length by hand: an independent segmentation
            row_spans, start = [], None
            for t, bit in enumerate(row + [False]):
                if bit and start is None:
                    start = t
                if not bit and start is not None:
                    row_spans.append((start, t))
                    start = None
            spans.append(row_spans)
        assert torch.equal(chunks_from_spans(spans, 17), chunks_from_response_mask(mask))


@pytest.mark.parametrize("bad", [[[(2, 2)]], [[(3, 5), (1, 2)]], [[(1, 4), (3, 5)]], [[(4, 7)]]])
def test_chunks_from_spans_rejects_bad_spans(bad):
    with pytest.raises(ValueError, match="span"):
        chunks_from_spans(bad, 6)


def test_mask_rejects_non_binary():
    with pytest.raises(ValueError, match="only 0 and 1"):
        chunks_from_response_mask(torch.tensor([[0, 2, 1]]))


# ---------------------------------------------------------------- baselines and masks


def test_group_advantages_by_hand():
    rewards = torch.tensor([1.0, 0.0, 1.0, 1.0, 0.25])
    groups = torch.tensor([7, 7, 3, 3, 9])
    assert group_advantages(rewards, groups, "none").tolist() == [1.0, 0.0, 1.0, 1.0, 0.25]
    assert group_advantages(rewards, groups, "group_mean").tolist() == [0.5, -0.5, 0.0, 0.0, 0.0]
    # group 7: population std 0.5 -> +-1; group 3: std 0 -> 0; singleton group 9 -> 0
    normed = group_advantages(rewards, groups, "group_mean_std", std_eps=1e-9)
    assert normed.tolist() == pytest.approx([1.0, -1.0, 0.0, 0.0, 0.0], abs=1e-6)


def test_token_and_chunk_mismatch_masks_by_hand():
    old = torch.full((2, 6), -1.0, dtype=torch.float64)
    mu = old - OLD_MINUS_MU
    token_spans = torch.where(RESPONSE, torch.arange(6).expand(2, 6), -1)
    assert mismatch_mask(old, mu, token_spans, 0.0, 2.0).int().tolist() == [[0, 1, 1, 0, 0, 1], [1, 1, 0, 1, 0, 1]]
    # chunk (0,1) has geometric mean e^.6 <= 2: kept whole, although its token e^1 is not
    assert mismatch_mask(old, mu, CHUNKS, 0.0, 2.0).int().tolist() == [[0, 1, 1, 0, 1, 1], [1, 1, 0, 1, 0, 1]]
    # lower bound L = 0.4 drops chunk (1,2) (e^-1 = 0.37) but keeps chunk (1,0) (e^-.4 = 0.67)
    assert mismatch_mask(old, mu, CHUNKS, 0.4, 2.0).int().tolist() == [[0, 1, 1, 0, 1, 1], [1, 1, 0, 1, 0, 0]]
    # H = 1.5 drops chunk (0,1) (e^.6 = 1.82)
    assert mismatch_mask(old, mu, CHUNKS, 0.0, 1.5).int().tolist() == [[0, 1, 1, 0, 0, 0], [1, 1, 0, 1, 0, 1]]


def test_ipa_chunk_returns_by_hand():
    cfg = AlgoConfig(name="ipa", gamma=0.5, baseline="none")
    terms = advantage_terms(make_batch([1.0, 0.0]), cfg)
    # row0: K=2, chunk k=1 gets 0.5^(2-1), the last chunk gets R; row1 has R=0
    assert terms.advantages.tolist() == [[0, 0.5, 0.5, 0, 1, 1], [0] * 6]
    cfg = AlgoConfig(name="ipa", gamma=0.5, baseline="group_mean")
    terms = advantage_terms(make_batch([1.0, 0.0]), cfg)
    # A = [0.5, -0.5]; row1: K=3, gammas 0.25, 0.5, 1
    assert terms.advantages.tolist() == [[0, 0.25, 0.25, 0, 0.5, 0.5], [-0.125, -0.125, 0, -0.25, 0, -0.5]]
    assert terms.stats["chunks_per_traj"] == 2.5
    assert terms.stats["positive_frac"] == 0.5
    assert terms.truncate.int().tolist() == [[0] * 6, [1, 1, 0, 1, 0, 1]]


def test_ipa_chunk_ids_may_skip_earlier_chunks():
    # a row holding only chunk 2 of 3 (an expert prefix left out) still has K = 3: its return is R
    batch = make_batch(
        [1.0, 1.0],
        response_mask=torch.tensor([[0, 0, 0, 0, 1, 1], [1, 0, 0, 0, 0, 0]]),
        chunk_ids=torch.tensor([[-1, -1, -1, -1, 2, 2], [0, -1, -1, -1, -1, -1]]),
    )
    cfg = AlgoConfig(name="ipa", gamma=0.5, baseline="none", mismatch_mask="none")
    assert advantage_terms(batch, cfg).advantages.tolist() == [[0, 0, 0, 0, 1, 1], [1, 0, 0, 0, 0, 0]]


# ---------------------------------------------------------------- IPA loss


def test_ipa_loss_value_and_gradient_by_hand():
    cfg = AlgoConfig(name="ipa", gamma=0.5, baseline="group_mean", mask_high=2.0)
    logp = current_logp()
    loss, stats = policy_loss(logp, make_batch([1.0, 0.0]), cfg)
    # kept tokens (chunk mask): row0 all 4, row1 all 4 -> N = 8.
    # row0 positive: weight exactly 1 although its chunk ratios are e^.3 and e^-.1.
    # row1 non-positive: weights [rho_c]_0^1 = e^-.1, min(e^.6, 1) = 1, e^-.8.
    g = expected([
        [0, -0.25 / 8, -0.25 / 8, 0, -0.5 / 8, -0.5 / 8],
        [0.125 * E(-0.1) / 8, 0.125 * E(-0.1) / 8, 0, 0.25 / 8, 0, 0.5 * E(-0.8) / 8],
    ])
    value = (
        -0.25 * (-0.8) - 0.25 * (-0.6) - 0.5 * (-1.2) - 0.5 * (-1.0)
        + 0.125 * E(-0.1) * (-0.9) + 0.125 * E(-0.1) * (-1.3) + 0.25 * (-0.4) + 0.5 * E(-0.8) * (-1.8)
    ) / 8
    assert loss.item() == pytest.approx(value, abs=1e-12)
    assert torch.allclose(grad_of(loss, logp), g, atol=1e-12)
    assert stats["mask_kept_frac"] == 1.0
    assert stats["loss_tokens"] == 8
    # one kept truncated-side token group has rho > 1: chunk (1,1), 1 token of 8
    assert stats["ratio_truncated_frac"] == pytest.approx(1 / 8)


def test_ipa_chunk_mask_bounds_change_the_kept_tokens():
    cfg = AlgoConfig(name="ipa", gamma=0.5, baseline="group_mean", mask_low=0.4, mask_high=1.5)
    logp = current_logp()
    loss, stats = policy_loss(logp, make_batch([1.0, 0.0]), cfg)
    # H = 1.5 drops chunk (0,1); L = 0.4 drops chunk (1,2) -> N = 5
    g = expected([
        [0, -0.25 / 5, -0.25 / 5, 0, 0, 0],
        [0.125 * E(-0.1) / 5, 0.125 * E(-0.1) / 5, 0, 0.25 / 5, 0, 0],
    ])
    assert torch.allclose(grad_of(loss, logp), g, atol=1e-12)
    assert stats["mask_kept_frac"] == pytest.approx(5 / 8)


def test_ipa_gradient_does_not_flow_through_truncated_ratio():
    # a single non-positive one-chunk trajectory: if rho kept its gradient, d/dlogp would gain
    # -A * logp * d rho/d logp terms; detached, it is exactly -rho * A / N on each token.
    mask = torch.tensor([[1, 1]], dtype=torch.bool)
    old = torch.tensor([[-1.0, -2.0]], dtype=torch.float64)
    rewards = torch.tensor([-1.0], dtype=torch.float64)
    batch = PolicyBatch(response_mask=mask, old_logp=old, infer_logp=old, rewards=rewards, group_ids=torch.tensor([0]))
    cfg = AlgoConfig(name="ipa", baseline="none")
    logp = torch.tensor([[-1.2, -2.4]], dtype=torch.float64, requires_grad=True)
    loss, _ = policy_loss(logp, batch, cfg)
    rho = E((-0.2 - 0.4) / 2)
    assert loss.item() == pytest.approx(rho * (-1.2 - 2.4) / 2, abs=1e-12)
    assert torch.allclose(grad_of(loss, logp), expected([[rho / 2, rho / 2]]), atol=1e-12)


# ---------------------------------------------------------------- TOPR (the report's baseline)


def test_topr_positive_no_ratio_negative_sequence_ratio_and_token_mask():
    cfg = AlgoConfig(name="topr", baseline="none")
    logp = current_logp()
    loss, stats = policy_loss(logp, make_batch([1.0, -1.0]), cfg)
    # token mask drops (0,4) only -> N = 7; row1 sequence ratio e^-.1 (< 1, kept as is)
    g = expected([
        [0, -1 / 7, -1 / 7, 0, 0, -1 / 7],
        [E(-0.1) / 7, E(-0.1) / 7, 0, E(-0.1) / 7, 0, E(-0.1) / 7],
    ])
    assert torch.allclose(grad_of(loss, logp), g, atol=1e-12)
    assert stats["mask_kept_frac"] == pytest.approx(7 / 8)


def test_topr_truncates_a_sequence_ratio_above_one():
    cfg = AlgoConfig(name="topr", baseline="none")
    logp = current_logp()
    loss, _ = policy_loss(logp, make_batch([-1.0, 1.0]), cfg)
    # row0 is now the negative one; its sequence ratio e^.1 > 1 is truncated to 1
    g = expected([[0, 1 / 7, 1 / 7, 0, 0, 1 / 7], [-1 / 7, -1 / 7, 0, -1 / 7, 0, -1 / 7]])
    assert torch.allclose(grad_of(loss, logp), g, atol=1e-12)


def test_split_on_advantage_vs_reward():
    # R = [0.6, 0.2] with a group-mean baseline: A = [0.2, -0.2]; row1 has R > 0 but A < 0
    batch = make_batch([0.6, 0.2])
    by_advantage = AlgoConfig(name="topr", baseline="group_mean", split_on="advantage")
    by_reward = AlgoConfig(name="topr", baseline="group_mean", split_on="reward")
    logp = current_logp()
    grad_advantage = grad_of(policy_loss(logp, batch, by_advantage)[0], logp)[1]
    logp = current_logp()
    grad_reward = grad_of(policy_loss(logp, batch, by_reward)[0], logp)[1]
    # advantage split: row1 takes the truncated ratio e^-.1; reward split: no ratio
    w = 0.2 * E(-0.1) / 7
    assert torch.allclose(grad_advantage, expected([[w, w, 0, w, 0, w]])[0])
    assert torch.allclose(grad_reward, expected([[0.2 / 7, 0.2 / 7, 0, 0.2 / 7, 0, 0.2 / 7]])[0])


# ---------------------------------------------------------------- GRPO and PPO


def test_grpo_clip_and_seq_mean_token_mean_by_hand():
    cfg = AlgoConfig(name="grpo", std_eps=1e-12)
    assert (cfg.baseline, cfg.aggregation, cfg.mismatch_mask) == ("group_mean_std", "seq_mean_token_mean", "none")
    logp = current_logp()
    loss, stats = policy_loss(logp, make_batch([1.0, 0.0]), cfg)
    # A = [1, -1]; r = e^delta; clip to [0.8, 1.2]
    # row0: e^.2, e^.4 clipped at 1.2 (no gradient); e^-.2 and 1 unclipped
    # row1: e^.1 unclipped; e^-.3 -> 0.8 clipped; e^.6 unclipped (A < 0 takes the larger ratio); e^-.8 -> 0.8
    row0 = [-1.2, -1.2, -E(-0.2), -1.0]
    row1 = [E(0.1), 0.8, E(0.6), 0.8]
    assert loss.item() == pytest.approx((sum(row0) / 4 + sum(row1) / 4) / 2, abs=1e-9)
    g = expected([[0, 0, 0, 0, -E(-0.2) / 8, -1 / 8], [E(0.1) / 8, 0, 0, E(0.6) / 8, 0, 0]])
    assert torch.allclose(grad_of(loss, logp), g, atol=1e-9)
    assert stats["clip_frac"] == pytest.approx(4 / 8)


def test_ppo_asymmetric_clip_token_mean():
    cfg = AlgoConfig(name="ppo", baseline="none", clip_eps_high=0.5)
    logp = current_logp()
    loss, stats = policy_loss(logp, make_batch([1.0, 0.0]), cfg)
    # A = [1, 0]: only row0 has gradient; clip range [0.8, 1.5] leaves e^.2, e^.4 unclipped; N = 8
    g = expected([[0, -E(0.2) / 8, -E(0.4) / 8, 0, -E(-0.2) / 8, -1 / 8], [0] * 6])
    assert torch.allclose(grad_of(loss, logp), g, atol=1e-12)
    assert stats["clip_frac"] == 0.0


def test_ppo_kl_term_by_hand():
    ref = torch.full((2, 6), -1.0, dtype=torch.float64)
    cfg = AlgoConfig(name="ppo", baseline="group_mean", kl_coef=0.1)
    logp = current_logp()
    # equal rewards: A = 0, only the k3 KL term remains: d/dlogp = 0.1 * (1 - e^(ref - logp)) / N
    loss, stats = policy_loss(logp, make_batch([1.0, 1.0], ref_logp=ref), cfg)
    d = DELTA.nan_to_num(0.0)
    g = torch.where(RESPONSE, 0.1 * (1 - torch.exp(-d)) / 8, torch.zeros(()))
    assert torch.allclose(grad_of(loss, logp), g, atol=1e-12)
    hand = [E(-x) + x - 1 for x in (0.2, 0.4, -0.2, 0.0, 0.1, -0.3, 0.6, -0.8)]
    assert loss.item() == pytest.approx(0.1 * sum(hand) / 8, abs=1e-12)
    assert stats["kl_mean"] == pytest.approx(sum(hand) / 8)


def test_ppo_kl_needs_reference():
    with pytest.raises(ValueError, match="ref_logp"):
        policy_loss(current_logp(), make_batch([1.0, 0.0]), AlgoConfig(name="ppo", kl_coef=0.1))


# ---------------------------------------------------------------- aggregation


def test_aggregation_modes_by_hand():
    per_token = torch.tensor([[1.0, 2.0, 3.0, NAN], [4.0, NAN, 0.0, 0.0], [5.0, 5.0, 5.0, 5.0]])
    mask = torch.tensor([[1, 1, 1, 0], [1, 0, 0, 0], [0, 0, 0, 0]], dtype=torch.bool)
    assert aggregate(per_token, mask, "token_mean").item() == pytest.approx(10 / 4)
    assert aggregate(per_token, mask, "seq_mean_token_mean").item() == pytest.approx((2 + 4 + 0) / 3)
    assert aggregate(per_token, mask, "seq_mean_token_sum").item() == pytest.approx((6 + 4 + 0) / 3)
    assert aggregate(per_token, torch.zeros_like(mask), "token_mean").item() == 0.0


# ---------------------------------------------------------------- SFT (Eq. 1-2)


def test_sft_loss_drops_errored_chunks():
    logp = current_logp()
    chunk_error = torch.tensor([[False, True, False], [False, False, True]])
    loss, stats = sft_loss(logp, RESPONSE, chunk_error=chunk_error)
    # kept: row0 chunk0 (tokens 1,2), row1 chunks 0,1 (tokens 0,1,3): N = 5
    kept_logp = [-0.8, -0.6, -0.9, -1.3, -0.4]
    assert loss.item() == pytest.approx(-sum(kept_logp) / 5, abs=1e-12)
    g = expected([[0, -0.2, -0.2, 0, 0, 0], [-0.2, -0.2, 0, -0.2, 0, 0]])
    assert torch.allclose(grad_of(loss, logp), g, atol=1e-12)
    assert stats == {"sft_tokens": 5.0, "sft_dropped_tokens": 3.0}


def test_sft_per_token_error_flag_drops_the_whole_chunk():
    token_error = torch.zeros(2, 6, dtype=torch.bool)
    token_error[0, 5] = True  # one token of chunk (0,1)
    token_error[1, 5] = True  # chunk (1,2)
    token_error[1, 2] = True  # a tool-output token: not in any chunk, ignored
    loss, _ = sft_loss(current_logp(), RESPONSE, token_error=token_error)
    assert loss.item() == pytest.approx((0.8 + 0.6 + 0.9 + 1.3 + 0.4) / 5, abs=1e-12)


def test_sft_without_errors_is_plain_token_mean_nll():
    loss, _ = sft_loss(current_logp(), RESPONSE)
    assert loss.item() == pytest.approx((0.8 + 0.6 + 1.2 + 1.0 + 0.9 + 1.3 + 0.4 + 1.8) / 8, abs=1e-12)


def test_sft_rejects_short_chunk_error():
    with pytest.raises(ValueError, match="chunk_error"):
        sft_loss(current_logp(), RESPONSE, chunk_error=torch.zeros(2, 2, dtype=torch.bool))


# ---------------------------------------------------------------- imitation (Eq. 10) and crucial chunks


def test_imitation_loss_by_hand():
    # row0: expert prefix = prompt + chunk 0; row1: prefix = chunks 0 and 1. mu is unknown (NaN)
    # on prefilled tokens.
    prefix = torch.tensor([[1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 0, 0]], dtype=torch.bool)
    old = torch.full((2, 6), -1.0, dtype=torch.float64)
    mu = torch.where(prefix, torch.tensor(NAN, dtype=torch.float64), old - OLD_MINUS_MU)
    batch = make_batch([1.0, 0.0], infer_logp=mu)
    cfg = AlgoConfig(name="ipa", gamma=0.5, baseline="group_mean", lambda_il=2.0, lambda_rl=1.0)
    logp = current_logp()
    loss, stats = imitation_loss(logp, batch, prefix, cfg)
    # IL weights (expert R* = 1, K* = row's K): row0 chunk0 0.5; row1 chunks 0,1: 0.25, 0.5. N_il = 5
    # RL: A = [.5, -.5]; row0 chunk1 G = .5 (positive); row1 chunk2 G = -.5, rho e^-.8. N_rl = 3
    il = expected([[0, -0.5 / 5, -0.5 / 5, 0, 0, 0], [-0.25 / 5, -0.25 / 5, 0, -0.5 / 5, 0, 0]])
    rl = expected([[0, 0, 0, 0, -0.5 / 3, -0.5 / 3], [0, 0, 0, 0, 0, 0.5 * E(-0.8) / 3]])
    assert torch.allclose(grad_of(loss, logp), 2.0 * il + rl, atol=1e-12)
    il_value = (0.5 * 0.8 + 0.5 * 0.6 + 0.25 * 0.9 + 0.25 * 1.3 + 0.5 * 0.4) / 5
    assert stats["il_loss"] == pytest.approx(il_value, abs=1e-12)
    assert stats["il_tokens"] == 5 and stats["rl_loss_tokens"] == 3


def test_imitation_uses_expert_return_and_length():
    prefix = torch.tensor([[1, 1, 1, 0, 0, 0], [0, 0, 0, 0, 0, 0]], dtype=torch.bool)
    cfg = AlgoConfig(name="ipa", gamma=0.5, baseline="none", lambda_il=1.0, lambda_rl=0.0)
    logp = current_logp()
    loss, _ = imitation_loss(logp, make_batch([0.0, 0.0]), prefix, cfg,
                             expert_reward=torch.tensor([2.0, 1.0]), expert_num_chunks=torch.tensor([4, 3]))
    # row0 chunk0 of an expert with K* = 4 and R* = 2: weight 2 * 0.5^3 = 0.25; N_il = 2
    g = expected([[0, -0.125, -0.125, 0, 0, 0], [0] * 6])
    assert torch.allclose(grad_of(loss, logp), g, atol=1e-12)


def test_imitation_rejects_a_split_chunk():
    prefix = torch.tensor([[1, 1, 0, 0, 0, 0], [0] * 6], dtype=torch.bool)  # half of chunk (0,0)
    with pytest.raises(ValueError, match="whole chunks"):
        imitation_loss(current_logp(), make_batch([1.0, 0.0]), prefix, AlgoConfig())


def test_crucial_chunks_by_hand():
    found = crucial_chunks([0.1, 0.1, 0.8, 0.9], final_success=1.0)
    assert [c.chunk for c in found] == [1, 2, 3]  # chunk 0: no drop; ties keep the earlier chunk first
    assert found[0].drop == pytest.approx(0.7)
    assert (found[0].success_before, found[0].success_after) == (0.1, 0.8)
    assert [c.chunk for c in crucial_chunks([0.1, 0.1, 0.8, 0.9], top_k=1)] == [1]
    assert [c.chunk for c in crucial_chunks([0.1, 0.1, 0.8, 0.9], min_drop=0.5)] == [1]
    with pytest.raises(ValueError, match=r"success_by_anchor\[1\]"):
        crucial_chunks([0.5, 1.5])


# ---------------------------------------------------------------- config and input checks


def test_config_defaults_per_algorithm():
    ipa = AlgoConfig()
    assert (ipa.name, ipa.gamma, ipa.mask_low, ipa.mask_high) == ("ipa", 0.95, 0.0, 2.0)
    assert (ipa.baseline, ipa.aggregation, ipa.mismatch_mask) == ("group_mean", "token_mean", "chunk")
    assert AlgoConfig(name="topr").mismatch_mask == "token"
    assert AlgoConfig(name="grpo", baseline="none").baseline == "none"  # explicit value wins
    assert AlgoConfig.model_validate(ipa.model_dump()) == ipa


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"gama": 0.9}, "gama"),
        ({"name": "dpo"}, "name"),
        ({"gamma": 0.0}, "gamma"),
        ({"mask_low": 2.0, "mask_high": 2.0}, "mask_low"),
        ({"name": "ipa", "kl_coef": 0.1}, "kl_coef"),
        ({"aggregation": "mean"}, "aggregation"),
    ],
)
def test_config_rejects_bad_values_by_name(fields, message):
    with pytest.raises(ValidationError, match=message):
        AlgoConfig(**fields)


def test_batch_rejects_inconsistent_inputs():
    with pytest.raises(ValueError, match="old_logp has shape"):
        make_batch([1.0, 0.0], old_logp=torch.zeros(2, 5))
    with pytest.raises(ValueError, match="rewards must have shape"):
        make_batch([1.0, 0.0, 1.0])
    with pytest.raises(ValueError, match="chunk_ids"):
        make_batch([1.0, 0.0], chunk_ids=torch.zeros(2, 6, dtype=torch.long))
    with pytest.raises(ValueError, match="infer_logp must be finite"):
        policy_loss(current_logp(), make_batch([1.0, 0.0], infer_logp=torch.full((2, 6), NAN)), AlgoConfig())
    with pytest.raises(ValueError, match="needs infer_logp"):
        policy_loss(current_logp(), make_batch([1.0, 0.0], infer_logp=None), AlgoConfig())


def test_nan_outside_the_response_never_leaks():
    for name in ("ipa", "topr", "grpo", "ppo"):
        logp = current_logp()
        loss, stats = policy_loss(logp, make_batch([1.0, 0.0]), AlgoConfig(name=name))
        assert math.isfinite(loss.item()), name
        grad = grad_of(loss, logp)
        assert torch.isfinite(grad).all(), name
        assert (grad[~RESPONSE] == 0).all(), name
        assert all(math.isfinite(v) for v in stats.values()), name


def test_row_without_model_tokens_gets_no_loss():
    # row1 has no model token (e.g. the prompt filled the context): K = 0, nothing to learn from it
    response = torch.tensor([[0, 1, 1, 0, 1, 1], [0, 0, 0, 0, 0, 0]], dtype=torch.bool)
    batch = make_batch([1.0, 0.0], response_mask=response)
    cfg = AlgoConfig(name="ipa", gamma=0.5, baseline="group_mean")
    logp = current_logp()
    loss, stats = policy_loss(logp, batch, cfg)
    # A = [.5, -.5]; only row0's 4 tokens count: G = .25, .25, .5, .5
    g = expected([[0, -0.25 / 4, -0.25 / 4, 0, -0.5 / 4, -0.5 / 4], [0] * 6])
    assert torch.allclose(grad_of(loss, logp), g, atol=1e-12)
    assert stats["chunks_per_traj"] == 1.0
    empty, _ = sft_loss(current_logp(), torch.zeros(2, 6, dtype=torch.bool), chunk_error=torch.zeros(2, 0))
    assert empty.item() == 0.0


def test_ratio_truncation_and_mask_stats_by_hand():
    # rewards (0, 1), baseline none: row0 is non-positive (its chunk ratios e^.3, e^-.1 are truncated to
    # [0, 1]), row1 positive. H = 1.5 drops row0's chunk 1 (pi_old/mu = e^.6 = 1.82); row1's e^-.4, e^.3, e^-1 stay.
    cfg = AlgoConfig(name="ipa", baseline="none", mask_high=1.5)
    _, stats = policy_loss(current_logp(), make_batch((0.0, 1.0), chunk_ids=CHUNKS), cfg)
    assert stats["chunks"] == 5
    assert stats["chunks_masked_frac"] == pytest.approx(1 / 5)
    assert stats["chunks_truncated_frac"] == pytest.approx(1 / 5)  # row0 chunk 0: e^.3 cut to 1
    assert stats["chunks_below_one_frac"] == 0.0  # row0 chunk 1 (e^-.1) is masked
    kept = [E(0.3)] * 2 + [E(-0.1)] * 2 + [E(0.6), E(-0.8)]
    assert stats["ratio_mean"] == pytest.approx(sum(kept) / 6)
    assert stats["ratio_min"] == pytest.approx(E(-0.8)) and stats["ratio_max"] == pytest.approx(E(0.6))
    # H = 2 keeps every chunk: row0 chunk 1 now counts as weighted below one
    _, stats = policy_loss(current_logp(), make_batch((0.0, 1.0), chunk_ids=CHUNKS), AlgoConfig(name="ipa", baseline="none"))
    assert stats["chunks_masked_frac"] == 0.0 and stats["chunks_truncated_frac"] == pytest.approx(1 / 5)
    assert stats["chunks_below_one_frac"] == pytest.approx(1 / 5)
    # topr: one ratio for row0's whole sequence (e^.1 > 1): both its chunks are truncated
    _, stats = policy_loss(current_logp(), make_batch((0.0, 1.0), chunk_ids=CHUNKS),
                           AlgoConfig(name="topr", baseline="none", mismatch_mask="none"))
    assert stats["chunks_truncated_frac"] == pytest.approx(2 / 5) and stats["ratio_max"] == pytest.approx(E(0.1))


def test_group_baseline_counts_an_episode_once_and_k_is_the_episodes():
    rewards, groups = torch.tensor([1.0, 1.0, 0.0, 0.0]), torch.tensor([0, 0, 0, 0])
    episodes = torch.tensor([7, 7, 8, 9])  # rows 0 and 1: one episode split in two
    # episodes' rewards 1, 0, 0: mean 1/3 (per row it would be 1/2)
    assert torch.allclose(group_advantages(rewards, groups, "group_mean", episode_ids=episodes),
                          torch.tensor([2 / 3, 2 / 3, -1 / 3, -1 / 3]))
    std = math.sqrt(((2 / 3) ** 2 + 2 * (1 / 3) ** 2) / 3)
    assert torch.allclose(group_advantages(rewards, groups, "group_mean_std", 0.0, episode_ids=episodes),
                          torch.tensor([2 / 3, 2 / 3, -1 / 3, -1 / 3]) / std)
    with pytest.raises(ValueError, match="share reward and group"):
        group_advantages(torch.tensor([1.0, 0.0]), torch.tensor([0, 0]), "group_mean", episode_ids=torch.tensor([3, 3]))
    # num_chunks: K of the episode, not of the row (row 0 holds chunks 0-1 of a 4-chunk episode)
    batch = make_batch((1.0, 1.0), chunk_ids=CHUNKS, num_chunks=torch.tensor([4, 3]))
    terms = advantage_terms(batch, AlgoConfig(name="ipa", gamma=0.5, baseline="none", mismatch_mask="none"))
    assert terms.advantages[0].tolist() == [0.0, 0.125, 0.125, 0.0, 0.25, 0.25]
    with pytest.raises(ValueError, match="num_chunks"):
        make_batch((1.0, 1.0), chunk_ids=CHUNKS, num_chunks=torch.tensor([1, 3]))
