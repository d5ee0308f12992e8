"""Policy-optimisation algorithms as small pure functions on padded, batch-first tensors.

IPA (the report's chunk-level method), TOPR-style off-policy REINFORCE (the report's baseline),
GRPO and critic-free PPO-clip (further baselines), the report's SFT loss (Eq. 1-2) and the
imitation term of chunk-level initialised resampling (Eq. 10). docs/algorithms.md has the formulas
as implemented and says what was kept from the report, dropped, or chosen by us.

Conventions
- Per-token tensors are [B, T], per-trajectory tensors [B]. ``logp[b, t]`` is log pi(token t |
  tokens before t): the trainer shifts the logits before calling.
- ``response_mask`` marks the model-generated tokens; prompts, tool outputs and padding are 0.
- A chunk is one contiguous run of model tokens (one model turn). Chunk ids number an episode's
  chunks 0..K-1 in order and are -1 outside chunks. K of a row is ``num_chunks`` (the episode's K)
  when given, else its largest chunk id + 1, so a row may leave out earlier chunks (an expert prefix,
  or the part of an episode before a compaction, which then is another row) and they still count for
  the discount. Rows with equal ``episode_ids`` are pieces of one episode; baselines count it once.

How the trainer uses it (it never branches on the algorithm)::

    batch = PolicyBatch(response_mask=..., old_logp=..., infer_logp=..., rewards=..., group_ids=...)
    loss, stats = policy_loss(logp, batch, cfg)      # cfg: AlgoConfig
    loss.backward()

``advantage_terms`` is the pure, gradient-free part (advantages, masks, which tokens share an
importance ratio); ``reinforce_loss`` and ``clipped_loss`` are the two shared losses.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Literal, Sequence

import torch
from pydantic import BaseModel, ConfigDict, Field, model_validator
from torch import Tensor

AlgoName = Literal["ipa", "topr", "grpo", "ppo"]
Baseline = Literal["none", "group_mean", "group_mean_std"]
Aggregation = Literal["token_mean", "seq_mean_token_mean", "seq_mean_token_sum"]
MismatchMask = Literal["token", "chunk", "none"]

# Values of the settings left unset (None), per algorithm. The report gives none of them.
ALGO_DEFAULTS: dict[str, dict[str, str]] = {
    "ipa": {"baseline": "group_mean", "aggregation": "token_mean", "mismatch_mask": "chunk"},
    "topr": {"baseline": "group_mean", "aggregation": "token_mean", "mismatch_mask": "token"},
    "grpo": {"baseline": "group_mean_std", "aggregation": "seq_mean_token_mean", "mismatch_mask": "none"},
    "ppo": {"baseline": "group_mean", "aggregation": "token_mean", "mismatch_mask": "none"},
}


class AlgoConfig(BaseModel):
    """Settings of the policy loss. Unset (None) settings take the per-algorithm value of
    ``ALGO_DEFAULTS`` when the config is built, so a dumped config shows what actually ran.

    - name: ipa | topr | grpo | ppo.
    - gamma: per-chunk discount of IPA's return G_k = gamma^(K-k) * A (Eq. 7). The report does
      not give it; 0.95 is common in this family. Used by ipa and by the imitation weights only.
    - mask_low (L), mask_high (H): train/inference mask keeps a token/chunk when
      L <= pi_old/mu <= H (geometric mean over the chunk for the chunk mask). The report has only
      the upper bound and no value for H; L = 0 (the default) is the report's one-sided mask.
    - mismatch_mask: token (the report's baseline), chunk (IPA) or none (plain GRPO/PPO).
    - baseline: none (the report's equations literally: A = R), group_mean (A = R - mean of R over
      the rows with the same group id), group_mean_std (that, divided by the group's population
      std + std_eps; a group of one gets A = 0). The report is silent; with binary R and no
      baseline, failed trajectories carry zero weight.
    - split_on: which sign decides the TOPR split (positive: no ratio; non-positive: ratio
      truncated to [0, 1]). "advantage" (default): the sign of A, so every trajectory whose
      weight is negative gets the truncated ratio; "reward": the sign of R, as the report writes
      it. They agree whenever baseline is none.
    - aggregation: token_mean (sum over kept tokens / their count in the batch),
      seq_mean_token_mean (per-row token mean, then mean over all B rows; a row with no kept
      token counts 0), seq_mean_token_sum (per-row token sum, then mean over B rows).
    - clip_eps_low / clip_eps_high: PPO/GRPO ratio clip to [1 - low, 1 + high].
    - kl_coef: PPO/GRPO only; k3 estimator against ``PolicyBatch.ref_logp``. The report's
      methods have no KL term, so it is refused for ipa/topr.
    - lambda_il, lambda_rl: weights of Eq. 10 (imitation on the expert prefix, RL on the
      suffix); the report gives no values.
    """

    model_config = ConfigDict(extra="forbid")

    name: AlgoName = "ipa"
    gamma: float = Field(0.95, gt=0.0, le=1.0)
    mask_low: float = Field(0.0, ge=0.0)
    mask_high: float = Field(2.0, gt=0.0)
    mismatch_mask: MismatchMask | None = None
    baseline: Baseline | None = None
    split_on: Literal["advantage", "reward"] = "advantage"
    aggregation: Aggregation | None = None
    std_eps: float = Field(1e-6, gt=0.0)
    clip_eps_low: float = Field(0.2, gt=0.0, lt=1.0)
    clip_eps_high: float = Field(0.2, gt=0.0)
    kl_coef: float = Field(0.0, ge=0.0)
    lambda_il: float = Field(1.0, ge=0.0)
    lambda_rl: float = Field(1.0, ge=0.0)

    @model_validator(mode="after")
    def _resolve(self) -> "AlgoConfig":
        if self.mask_low >= self.mask_high:
            raise ValueError(f"mask_low ({self.mask_low}) must be below mask_high ({self.mask_high})")
        if self.kl_coef > 0 and self.name in ("ipa", "topr"):
            raise ValueError(f"kl_coef: {self.name} has no KL term in the report; use it with grpo or ppo")
        for key, value in ALGO_DEFAULTS[self.name].items():
            if getattr(self, key) is None:
                setattr(self, key, value)
        return self


@dataclass
class PolicyBatch:
    """The tensors every algorithm reads. Shapes: [B, T] per token, [B] per trajectory.

    response_mask: model-generated tokens (bool or 0/1). old_logp: log pi_old recomputed by the
    trainer. infer_logp: log mu from the inference engine (needed by the train/inference mask;
    may be NaN outside the rows' response tokens, e.g. on prefilled expert tokens). rewards: final
    trajectory rewards R. group_ids: rows with equal id are samples of the same task. chunk_ids:
    optional, derived from response_mask when absent; they are episode-level (the chunk's index in its
    episode). ref_logp: reference policy, for kl_coef. num_chunks [B]: K of each row's episode (default:
    the row's largest chunk id + 1). episode_ids [B]: rows with equal id are pieces of one episode (a
    compaction or prefix mismatch splits an episode into rows); they must share reward and group, and
    the group baseline counts the episode once (default: every row its own episode).
    """

    response_mask: Tensor
    old_logp: Tensor
    rewards: Tensor
    group_ids: Tensor
    infer_logp: Tensor | None = None
    chunk_ids: Tensor | None = None
    ref_logp: Tensor | None = None
    num_chunks: Tensor | None = None
    episode_ids: Tensor | None = None

    def __post_init__(self) -> None:
        self.response_mask = _as_bool_mask(self.response_mask, "response_mask")
        shape = self.response_mask.shape
        for name in ("old_logp", "infer_logp", "chunk_ids", "ref_logp"):
            value = getattr(self, name)
            if value is not None and value.shape != shape:
                raise ValueError(f"{name} has shape {tuple(value.shape)}, response_mask has {tuple(shape)}")
        for name in ("rewards", "group_ids", "num_chunks", "episode_ids"):
            value = getattr(self, name)
            if value is not None and value.shape != (shape[0],):
                raise ValueError(f"{name} must have shape ({shape[0]},), got {tuple(value.shape)}")
        if not torch.isfinite(self.rewards).all():
            raise ValueError("rewards must be finite")
        if self.chunk_ids is not None and not torch.equal(self.chunk_ids >= 0, self.response_mask):
            raise ValueError("chunk_ids must be >= 0 exactly on the response_mask tokens and -1 elsewhere")
        if self.num_chunks is not None:
            ids = self.chunk_ids if self.chunk_ids is not None else chunks_from_response_mask(self.response_mask)
            if bool((self.num_chunks < ids.max(dim=1).values + 1).any()):
                raise ValueError("num_chunks must exceed every chunk id of its row")


@dataclass
class TokenTerms:
    """Gradient-free output of ``advantage_terms``.

    advantages: per-token A (IPA: the chunk return G_k), 0 outside the response.
    mask: tokens that receive loss (response tokens kept by the train/inference mask).
    ratio_spans: ids of the token groups sharing one importance ratio (token, chunk or sequence).
    truncate: tokens of non-positive trajectories (TOPR/IPA take the ratio truncated to [0, 1]).
    chunk_ids: the chunk of each token (-1 outside chunks), for chunk-level statistics.
    stats: floats for logging.
    """

    advantages: Tensor
    mask: Tensor
    ratio_spans: Tensor
    truncate: Tensor
    chunk_ids: Tensor
    stats: dict[str, float]


@dataclass(frozen=True)
class CrucialChunk:
    """chunk: 0-based index. success_before: success rate when the policy starts at this chunk
    (expert prefix = chunks before it); success_after: when it starts after it; drop = after - before."""

    chunk: int
    success_before: float
    success_after: float
    drop: float


# ---------------------------------------------------------------- chunks


def chunks_from_response_mask(response_mask: Tensor) -> Tensor:
    """Chunk ids [B, T]: each contiguous run of 1s is one chunk, numbered 0..K-1 per row, -1 elsewhere."""
    mask = _as_bool_mask(response_mask, "response_mask")
    previous = torch.zeros_like(mask)
    previous[:, 1:] = mask[:, :-1]
    starts = mask & ~previous
    ids = torch.cumsum(starts.long(), dim=1) - 1
    return torch.where(mask, ids, torch.full_like(ids, -1))


def chunks_from_spans(spans: Sequence[Sequence[tuple[int, int]]], seq_len: int) -> Tensor:
    """Chunk ids [B, T] from turn records: per row, the [start, end) token span of each model turn.

    Spans must be non-empty, sorted and non-overlapping. Two touching spans stay two chunks here,
    while the response mask would merge them: keep a tool output between turns.
    """
    ids = torch.full((len(spans), seq_len), -1, dtype=torch.long)
    for row, row_spans in enumerate(spans):
        previous_end = 0
        for k, (start, end) in enumerate(row_spans):
            if not 0 <= previous_end <= start < end <= seq_len:
                raise ValueError(
                    f"row {row} span {k} = ({start}, {end}): spans must be non-empty, sorted, "
                    f"non-overlapping and inside [0, {seq_len}]"
                )
            ids[row, start:end] = k
            previous_end = end
    return ids


def span_mean(values: Tensor, span_ids: Tensor) -> Tensor:
    """Mean of ``values`` over each span (equal id within a row), broadcast back to its tokens; 0 where id < 0."""
    batch, length = values.shape
    inside = span_ids >= 0
    width = int(span_ids.max().item()) + 1 if bool(inside.any()) else 1
    flat = (torch.arange(batch, device=values.device).unsqueeze(1) * width + span_ids.clamp(min=0)).flatten()
    zero = torch.zeros((), dtype=values.dtype, device=values.device)
    sums = torch.zeros(batch * width, dtype=values.dtype, device=values.device)
    sums = sums.index_add(0, flat, torch.where(inside, values, zero).flatten())
    counts = torch.zeros_like(sums).index_add(0, flat, inside.flatten().to(values.dtype))
    means = (sums / counts.clamp(min=1))[flat].view(batch, length)
    return torch.where(inside, means, zero)


# ---------------------------------------------------------------- advantages and masks


def group_advantages(rewards: Tensor, group_ids: Tensor, baseline: Baseline, std_eps: float = 1e-6,
                     episode_ids: Tensor | None = None) -> Tensor:
    """Per-trajectory advantage A [B]: R, R - group mean, or (R - group mean) / (group std + eps).

    The std is the population std (a group of one gives A = 0, not NaN; TRL uses the sample std).
    episode_ids: rows with equal id are one episode, counted once in its group's mean and std.
    """
    if episode_ids is not None:
        _, episode = torch.unique(episode_ids, return_inverse=True)
        rows = torch.arange(len(rewards), device=rewards.device)
        first = torch.full((int(episode.max().item()) + 1,), len(rewards), device=rewards.device)
        first = first.scatter_reduce(0, episode, rows, reduce="amin")  # one row per episode
        if not (torch.equal(rewards, rewards[first][episode]) and torch.equal(group_ids, group_ids[first][episode])):
            raise ValueError("rows of one episode (episode_ids) must share reward and group")
        return group_advantages(rewards[first], group_ids[first], baseline, std_eps)[episode]
    if baseline == "none":
        return rewards.clone()
    _, group = torch.unique(group_ids, return_inverse=True)
    n_groups = int(group.max().item()) + 1
    counts = torch.zeros(n_groups, dtype=rewards.dtype, device=rewards.device)
    counts = counts.index_add(0, group, torch.ones_like(rewards))
    means = torch.zeros_like(counts).index_add(0, group, rewards) / counts
    advantages = rewards - means[group]
    if baseline == "group_mean_std":
        variances = torch.zeros_like(counts).index_add(0, group, advantages**2) / counts
        advantages = advantages / (variances.sqrt()[group] + std_eps)
    return advantages


def mismatch_mask(old_logp: Tensor, infer_logp: Tensor, span_ids: Tensor, low: float, high: float) -> Tensor:
    """Train/inference mask [B, T]: 1[low <= exp(mean over the span of (log pi_old - log mu)) <= high].

    Token spans give the report's token mask 1[pi_old/mu <= H]; chunk spans give IPA's chunk mask.
    """
    ratio = torch.exp(span_mean(old_logp - infer_logp, span_ids))
    return (span_ids >= 0) & (ratio >= low) & (ratio <= high)


def advantage_terms(batch: PolicyBatch, cfg: AlgoConfig) -> TokenTerms:
    """Per-token advantages, loss mask and ratio grouping of ``cfg.name``; no gradients.

    ipa:  A_t = gamma^(K-k) * A for token t in chunk k (k = 1..K; the last chunk gets A), the
          ratio shared by the chunk, IPA's chunk mask by default.
    topr: A_t = A on every response token, one ratio per sequence, the token mask by default.
    grpo, ppo: A_t = A, a ratio per token (clipped later), no mismatch mask by default.
    A is the trajectory advantage of ``group_advantages``; "non-positive" (ratio truncated) is
    decided by cfg.split_on.
    """
    response = batch.response_mask
    _check_finite(batch.old_logp, response, "old_logp")
    length = response.shape[1]
    chunk_ids = batch.chunk_ids if batch.chunk_ids is not None else chunks_from_response_mask(response)
    minus_one = torch.full_like(chunk_ids, -1)
    token_spans = torch.where(response, torch.arange(length, device=response.device).expand_as(chunk_ids), minus_one)
    sequence_spans = torch.where(response, torch.zeros_like(chunk_ids), minus_one)

    advantage = group_advantages(batch.rewards.to(batch.old_logp.dtype), batch.group_ids, cfg.baseline, cfg.std_eps,
                                 batch.episode_ids)
    split_source = advantage if cfg.split_on == "advantage" else batch.rewards
    positive = split_source > 0
    num_chunks = _num_chunks(batch, chunk_ids)

    per_token = advantage.unsqueeze(1).expand_as(batch.old_logp)
    if cfg.name == "ipa":
        chunks_to_go = (num_chunks.unsqueeze(1) - 1 - chunk_ids).clamp(min=0)  # K - k with 1-based k
        per_token = per_token * torch.full_like(batch.old_logp, cfg.gamma).pow(chunks_to_go)
    zero = torch.zeros((), dtype=batch.old_logp.dtype, device=batch.old_logp.device)
    advantages = torch.where(response, per_token, zero)
    ratio_spans = {"ipa": chunk_ids, "topr": sequence_spans}.get(cfg.name, token_spans)

    stats = {
        "response_tokens": float(response.sum().item()),
        "chunks_per_traj": float(num_chunks.float().mean().item()),
        "adv_mean": float(advantage.mean().item()),
        "positive_frac": float(positive.float().mean().item()),
    }
    mask = response
    if batch.infer_logp is not None:
        _check_finite(batch.infer_logp, response, "infer_logp")
        token_mismatch = torch.exp(batch.old_logp - batch.infer_logp)[response]
        stats["mismatch_ratio_mean"] = float(token_mismatch.mean().item()) if token_mismatch.numel() else 1.0
    if cfg.mismatch_mask != "none":
        if batch.infer_logp is None:
            raise ValueError(f"mismatch_mask={cfg.mismatch_mask} needs infer_logp (the inference engine's log-probs)")
        spans = chunk_ids if cfg.mismatch_mask == "chunk" else token_spans
        mask = mismatch_mask(batch.old_logp, batch.infer_logp, spans, cfg.mask_low, cfg.mask_high)
    stats["mask_kept_frac"] = float(mask.sum().item()) / max(stats["response_tokens"], 1.0)
    stats["chunks"] = float(_chunk_starts(chunk_ids).sum().item())
    stats["chunks_masked_frac"] = _chunk_frac(response & ~mask, chunk_ids, every_token=True)
    truncate = response & ~positive.unsqueeze(1)
    return TokenTerms(advantages=advantages, mask=mask, ratio_spans=ratio_spans, truncate=truncate,
                      chunk_ids=chunk_ids, stats=stats)


def _num_chunks(batch: PolicyBatch, chunk_ids: Tensor) -> Tensor:
    """K per row: its episode's (``batch.num_chunks``) or its largest chunk id + 1 (0 without chunks)."""
    if batch.num_chunks is not None:
        return batch.num_chunks.to(chunk_ids.device)
    return chunk_ids.max(dim=1).values + 1


def _chunk_starts(chunk_ids: Tensor) -> Tensor:
    """[B, T] bool: the first token of each chunk."""
    previous = torch.full_like(chunk_ids, -1)
    previous[:, 1:] = chunk_ids[:, :-1]
    return (chunk_ids >= 0) & (chunk_ids != previous)


def _chunk_frac(flags: Tensor, chunk_ids: Tensor, every_token: bool = False) -> float:
    """Fraction of the batch's chunks with a flagged token (every_token: with all their tokens flagged)."""
    share = span_mean(flags.to(torch.float64), chunk_ids)
    hit = share >= 1.0 if every_token else share > 0
    starts = _chunk_starts(chunk_ids)
    return float((starts & hit).sum().item()) / max(float(starts.sum().item()), 1.0)


# ---------------------------------------------------------------- losses


def aggregate(per_token: Tensor, mask: Tensor, mode: Aggregation) -> Tensor:
    """Reduce a [B, T] per-token loss over the tokens in ``mask`` (an empty mask gives 0)."""
    zero = torch.zeros((), dtype=per_token.dtype, device=per_token.device)
    kept = torch.where(mask, per_token, zero)  # where, not multiply: masked NaN/inf must not leak
    counts = mask.to(per_token.dtype)
    if mode == "token_mean":
        return kept.sum() / counts.sum().clamp(min=1)
    if mode == "seq_mean_token_mean":
        return (kept.sum(dim=1) / counts.sum(dim=1).clamp(min=1)).mean()
    if mode == "seq_mean_token_sum":
        return kept.sum(dim=1).mean()
    raise ValueError(f"unknown aggregation {mode!r}")


def reinforce_loss(logp: Tensor, advantages: Tensor, weights: Tensor, mask: Tensor, aggregation: Aggregation) -> Tensor:
    """Shared REINFORCE loss: aggregate of -(weight * A) * log pi; weights and A carry no gradient,
    so d loss / d log pi_t = -(weight_t * A_t) / normaliser. Used by TOPR, IPA, SFT and imitation."""
    safe_logp = torch.where(mask, logp, torch.zeros((), dtype=logp.dtype, device=logp.device))
    return aggregate(-(weights.detach() * advantages.detach()) * safe_logp, mask, aggregation)


def clipped_loss(
    logp: Tensor, old_logp: Tensor, advantages: Tensor, mask: Tensor,
    eps_low: float, eps_high: float, aggregation: Aggregation,
) -> tuple[Tensor, Tensor]:
    """PPO-clip per token: -min(r A, clip(r, 1 - eps_low, 1 + eps_high) A), r = pi/pi_old.

    Returns the aggregated loss and the per-token bool "the clipped term was taken" (zero gradient).
    """
    zero = torch.zeros((), dtype=logp.dtype, device=logp.device)
    log_ratio = torch.where(mask, logp - old_logp, zero)
    ratio = torch.exp(log_ratio)
    unclipped = ratio * advantages
    clipped = ratio.clamp(1.0 - eps_low, 1.0 + eps_high) * advantages
    was_clipped = mask & (clipped < unclipped)
    return aggregate(-torch.minimum(unclipped, clipped), mask, aggregation), was_clipped


def policy_loss(logp: Tensor, batch: PolicyBatch, cfg: AlgoConfig) -> tuple[Tensor, dict[str, float]]:
    """The loss of ``cfg.name`` for current log-probs ``logp`` [B, T] (with gradient).

    ipa / topr (Eq. 9 / Eq. 3-6): weight 1 on positive trajectories; on non-positive ones the
    span ratio rho = exp(mean over the chunk (ipa) or sequence (topr) of log pi - log pi_old),
    truncated to [0, 1] and detached; loss = reinforce_loss(weight, A).
    grpo / ppo: token ratio with the epsilon-clip, plus kl_coef * k3(ref || pi) per token.

    Stats (besides those of ``advantage_terms``): ratio_mean/min/max over the kept tokens (pi/pi_old:
    1 on the first optimiser step of a batch, departing from 1 on later epochs/minibatches);
    ipa/topr: chunks_truncated_frac (chunks of non-positive trajectories whose ratio exceeded 1 and
    was cut to 1, i.e. the [.]_0^1 of Eq. 9 acted), chunks_below_one_frac (such chunks weighted by a
    ratio below 1), ratio_truncated_frac (the same as the first, in kept tokens); grpo/ppo: clip_frac.
    Chunk fractions are over all the batch's chunks; chunks_masked_frac (advantage_terms) counts the
    chunks the train/inference mask dropped entirely.
    """
    if logp.shape != batch.response_mask.shape:
        raise ValueError(f"logp has shape {tuple(logp.shape)}, response_mask has {tuple(batch.response_mask.shape)}")
    terms = advantage_terms(batch, cfg)
    stats = dict(terms.stats)
    kept = terms.mask
    n_kept = max(int(kept.sum().item()), 1)
    if cfg.name in ("ipa", "topr"):
        log_ratio = torch.where(batch.response_mask, logp.detach() - batch.old_logp, torch.zeros_like(logp))
        rho = torch.exp(span_mean(log_ratio, terms.ratio_spans))
        weights = torch.where(terms.truncate, rho.clamp(max=1.0), torch.ones_like(rho))  # rho >= 0 already
        loss = reinforce_loss(logp, terms.advantages, weights, kept, cfg.aggregation)
        _ratio_stats(stats, rho, kept, n_kept)
        clipped = kept & terms.truncate & (rho > 1.0)
        stats["ratio_truncated_frac"] = float(clipped.sum().item()) / n_kept
        stats["chunks_truncated_frac"] = _chunk_frac(clipped, terms.chunk_ids)
        stats["chunks_below_one_frac"] = _chunk_frac(kept & terms.truncate & (rho < 1.0), terms.chunk_ids)
    else:
        loss, was_clipped = clipped_loss(
            logp, batch.old_logp, terms.advantages, kept, cfg.clip_eps_low, cfg.clip_eps_high, cfg.aggregation
        )
        ratio = torch.exp(logp.detach() - batch.old_logp)
        _ratio_stats(stats, ratio, kept, n_kept)
        stats["clip_frac"] = float(was_clipped.sum().item()) / n_kept
        if cfg.kl_coef > 0:
            if batch.ref_logp is None:
                raise ValueError("kl_coef > 0 needs PolicyBatch.ref_logp")
            zero = torch.zeros((), dtype=logp.dtype, device=logp.device)
            log_ref_ratio = torch.where(kept, batch.ref_logp - logp, zero)
            kl = torch.exp(log_ref_ratio) - log_ref_ratio - 1.0  # k3 estimator of KL(pi || ref), >= 0
            loss = loss + cfg.kl_coef * aggregate(kl, kept, cfg.aggregation)
            stats["kl_mean"] = float(kl.detach()[kept].sum().item()) / n_kept
    stats["loss_tokens"] = float(kept.sum().item())
    return loss, stats


def _ratio_stats(stats: dict[str, float], ratio: Tensor, kept: Tensor, n_kept: int) -> None:
    """ratio_mean (over kept tokens), ratio_min, ratio_max (1.0 when no token is kept)."""
    values = ratio[kept]
    stats["ratio_mean"] = float(values.sum().item()) / n_kept if values.numel() else 1.0
    stats["ratio_min"] = float(values.min().item()) if values.numel() else 1.0
    stats["ratio_max"] = float(values.max().item()) if values.numel() else 1.0


def sft_loss(
    logp: Tensor,
    response_mask: Tensor,
    *,
    chunk_ids: Tensor | None = None,
    chunk_error: Tensor | None = None,
    token_error: Tensor | None = None,
    aggregation: Aggregation = "token_mean",
) -> tuple[Tensor, dict[str, float]]:
    """The report's SFT loss (Eq. 1-2): token-averaged NLL over model chunks, dropping chunks whose
    tool call errored (m_k = 1[no error]).

    chunk_error: [B, K_max] bool per chunk (padded). token_error: [B, T] bool read on the chunk's own
    tokens; one flagged token drops its whole chunk. The report's second factor, 1[turn relevant],
    is left to the caller: flag irrelevant turns as errored.
    """
    response = _as_bool_mask(response_mask, "response_mask")
    if logp.shape != response.shape:
        raise ValueError(f"logp has shape {tuple(logp.shape)}, response_mask has {tuple(response.shape)}")
    if chunk_ids is None:
        chunk_ids = chunks_from_response_mask(response)
    elif not torch.equal(chunk_ids >= 0, response):
        raise ValueError("chunk_ids must be >= 0 exactly on the response_mask tokens and -1 elsewhere")
    dropped = torch.zeros_like(response)
    if chunk_error is not None:
        num_chunks = int(chunk_ids.max().item()) + 1 if bool(response.any()) else 0
        shape = tuple(chunk_error.shape)
        if len(shape) != 2 or shape[0] != response.shape[0] or shape[1] < num_chunks:
            raise ValueError(f"chunk_error must have shape ({response.shape[0]}, >= {num_chunks}), got {shape}")
        if num_chunks > 0:
            dropped |= response & torch.gather(chunk_error.bool(), 1, chunk_ids.clamp(min=0))
    if token_error is not None:
        if token_error.shape != response.shape:
            raise ValueError(
                f"token_error has shape {tuple(token_error.shape)}, response_mask has {tuple(response.shape)}"
            )
        dropped |= span_mean(token_error.to(logp.dtype), chunk_ids) > 0
    kept = response & ~dropped
    ones = torch.ones_like(logp)
    loss = reinforce_loss(logp, ones, ones, kept, aggregation)
    stats = {
        "sft_tokens": float(kept.sum().item()),
        "sft_dropped_tokens": float(dropped.sum().item()),
    }
    return loss, stats


def imitation_loss(
    logp: Tensor,
    batch: PolicyBatch,
    is_expert_prefix: Tensor,
    cfg: AlgoConfig,
    *,
    expert_reward: Tensor | None = None,
    expert_num_chunks: Tensor | None = None,
) -> tuple[Tensor, dict[str, float]]:
    """Eq. 10 for chunk-level initialised resampling:
    L = lambda_IL * (return-weighted NLL on the expert prefix chunks) + lambda_RL * (RL loss of
    cfg.name, IPA in the report, on the resampled suffix).

    is_expert_prefix [B, T]: the prefilled part of each row (prompt and tool outputs may be
    included; only model chunks count). A chunk may not be half prefix, half suffix.
    The weight of expert chunk k is its return in the expert trajectory (our reading of "weighted by
    their return"): gamma^(K* - k) * R*, with R* = expert_reward [B] (default 1: a successful
    expert) and K* = expert_num_chunks [B] (default: the row's K). The rollout's own reward would
    be 0 exactly when imitation is needed, so it is not used.
    The suffix keeps its chunk positions in the whole row, so its returns are gamma^(K-k) * A.
    """
    response = batch.response_mask
    prefix_tokens = response & _as_bool_mask(is_expert_prefix, "is_expert_prefix")
    chunk_ids = batch.chunk_ids if batch.chunk_ids is not None else chunks_from_response_mask(response)
    mixed = span_mean(prefix_tokens.to(logp.dtype), chunk_ids)
    if bool(((mixed > 0) & (mixed < 1)).any()):
        raise ValueError("is_expert_prefix must cover whole chunks: a chunk is partly prefix and partly suffix")

    num_chunks = _num_chunks(batch, chunk_ids)
    if expert_num_chunks is not None:
        prefix_chunks = torch.where(prefix_tokens, chunk_ids + 1, torch.zeros_like(chunk_ids)).max(dim=1).values
        if bool((expert_num_chunks < prefix_chunks).any()):
            raise ValueError("expert_num_chunks is smaller than the number of prefix chunks in some row")
        num_chunks = expert_num_chunks
    reward = expert_reward if expert_reward is not None else torch.ones(response.shape[0], device=logp.device)
    chunks_to_go = (num_chunks.unsqueeze(1) - 1 - chunk_ids).clamp(min=0)
    reward = reward.to(device=logp.device, dtype=logp.dtype)
    returns = reward.unsqueeze(1) * torch.full_like(logp, cfg.gamma).pow(chunks_to_go)
    il = reinforce_loss(logp, returns, torch.ones_like(logp), prefix_tokens, cfg.aggregation)

    suffix = dataclasses.replace(
        batch, response_mask=response & ~prefix_tokens, chunk_ids=torch.where(prefix_tokens, -1, chunk_ids)
    )
    rl, rl_stats = policy_loss(logp, suffix, cfg)
    stats = {f"rl_{key}": value for key, value in rl_stats.items()}
    stats["il_loss"] = float(il.item())
    stats["rl_loss"] = float(rl.item())
    stats["il_tokens"] = float(prefix_tokens.sum().item())
    return cfg.lambda_il * il + cfg.lambda_rl * rl, stats


def crucial_chunks(
    success_by_anchor: Sequence[float],
    final_success: float = 1.0,
    *,
    min_drop: float = 0.0,
    top_k: int | None = None,
) -> list[CrucialChunk]:
    """Chunks where success drops most when the policy has to produce them itself.

    success_by_anchor[k]: success rate of rollouts that start at chunk k (0-based; the expert's
    chunks 0..k-1 replayed). final_success: rate after the last chunk (the expert itself, 1 for a
    successful expert). Chunk k's drop is success_by_anchor[k+1] - success_by_anchor[k]; chunks with
    drop > min_drop are returned, largest drop first (ties: earlier chunk first), at most top_k.
    """
    rates = [float(rate) for rate in success_by_anchor] + [float(final_success)]
    for k, rate in enumerate(rates):
        if not (0.0 <= rate <= 1.0) or math.isnan(rate):
            where = "final_success" if k == len(rates) - 1 else f"success_by_anchor[{k}]"
            raise ValueError(f"{where} = {rate} is not a success rate in [0, 1]")
    found = [
        CrucialChunk(chunk=k, success_before=rates[k], success_after=rates[k + 1], drop=rates[k + 1] - rates[k])
        for k in range(len(rates) - 1)
        if rates[k + 1] - rates[k] > min_drop
    ]
    found.sort(key=lambda item: (-item.drop, item.chunk))
    return found if top_k is None else found[:top_k]


# ---------------------------------------------------------------- input checks


def _as_bool_mask(mask: Tensor, name: str) -> Tensor:
    if not isinstance(mask, Tensor) or mask.dim() != 2:
        raise ValueError(f"{name} must be a 2-D [B, T] tensor")
    if mask.dtype == torch.bool:
        return mask
    if not bool(((mask == 0) | (mask == 1)).all()):
        raise ValueError(f"{name} must hold only 0 and 1")
    return mask.bool()


def _check_finite(values: Tensor, mask: Tensor, name: str) -> None:
    if not bool(torch.isfinite(values[mask]).all()):
        raise ValueError(f"{name} must be finite on response tokens")
