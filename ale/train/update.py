"""The algorithm-blind update step and the batch it consumes.

``TrainBatch`` holds padded token rows: ids, response (loss) mask, the engine's log-probs mu,
rewards, group ids, chunk ids, the expert-prefix mask and each row's policy version. ``update_step``
fixes log pi_old once from the trainer's own forward pass (a separate no-grad pass, or the gradient
pass's values when the batch is provably on-policy; kept next to the engine's mu, so the
train/inference masks compare two real numbers; in async mode the engine's mu for rows sampled by an
older policy version), then runs epochs x minibatches optimiser steps, each calling a loss function
it knows nothing about, clipping the gradient and stepping the optimiser.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

import torch
from torch import Tensor

from ale.train.algorithms import PolicyBatch, chunks_from_spans

if TYPE_CHECKING:
    from ale.train.parallel import DataParallel

LossFn = Callable[[Tensor, "TrainBatch"], tuple[Tensor, dict[str, float]]]


@dataclass
class TrainBatch:
    input_ids: Tensor  # [B, T] long, right-padded
    attention_mask: Tensor  # [B, T] 1 on real tokens
    response_mask: Tensor  # [B, T] bool: tokens that may receive loss (model chunks)
    infer_logp: Tensor  # [B, T] log mu, NaN where unknown (prompts, prefilled expert tokens)
    chunk_ids: Tensor  # [B, T] the chunk's index in its episode, -1 outside chunks
    rewards: Tensor  # [B]
    group_ids: Tensor  # [B]
    versions: Tensor  # [B] policy version that sampled the row (oldest turn)
    expert_prefix: Tensor  # [B, T] bool: tokens of replayed expert chunks (initialised resampling)
    chunk_error: Tensor  # [B, K_max] bool, by episode chunk index: the chunk's tool call errored (SFT mask)
    num_chunks: Tensor | None = None  # [B] K of the row's episode (IPA's discount)
    episode_ids: Tensor | None = None  # [B] rows of one episode share it (the baseline counts the episode once)
    expert_reward: Tensor | None = None  # [B] R* of the expert whose prefix the row replays (1.0 without one)
    expert_num_chunks: Tensor | None = None  # [B] K* of that expert (the row's episode K without one)
    old_logp: Tensor | None = None  # filled by update_step

    @property
    def size(self) -> int:
        return int(self.input_ids.shape[0])

    def select(self, rows: Tensor) -> "TrainBatch":
        """The batch of the given rows (indices), every per-row tensor indexed alike."""
        picked = {f.name: (None if (v := getattr(self, f.name)) is None else v.index_select(0, rows.to(v.device)))
                  for f in dataclasses.fields(self)}
        return TrainBatch(**picked)

    def policy_batch(self) -> PolicyBatch:
        """The algorithm functions' view of the batch (after ``update_step`` filled ``old_logp``)."""
        return PolicyBatch(response_mask=self.response_mask, old_logp=self.old_logp, rewards=self.rewards,
                           group_ids=self.group_ids, infer_logp=self.infer_logp, chunk_ids=self.chunk_ids,
                           num_chunks=self.num_chunks, episode_ids=self.episode_ids)


def collate(rows: list[dict[str, Any]], pad_id: int) -> TrainBatch:
    """Rows (``ale.agent.training_data`` dicts plus ``group``, ``version``, ``expert_chunks``, ``episode``) -> TrainBatch.

    ``expert_chunks``: how many leading chunks of the row were replayed from an expert (0 if none).
    ``chunk_offset`` / ``episode_chunks`` (from training_data): chunk ids are numbered in the episode
    (offset + j) and K is the episode's (default: the row is a whole episode). ``episode``: rows with
    equal value are one episode (default: each row its own). ``expert_reward`` / ``expert_num_chunks``:
    R* and K* of the expert trajectory a prefix was replayed from (the imitation weights of Eq. 10).
    """
    if not rows:
        raise ValueError("collate: no rows")
    width = max(len(r["input_ids"]) for r in rows)
    b = len(rows)
    ids = torch.full((b, width), pad_id, dtype=torch.long)
    attention = torch.zeros((b, width), dtype=torch.long)
    infer = torch.full((b, width), math.nan)
    prefix = torch.zeros((b, width), dtype=torch.bool)
    offsets = [int(r.get("chunk_offset", 0)) for r in rows]
    num_chunks = [int(r.get("episode_chunks", o + len(r["chunks"]))) for o, r in zip(offsets, rows)]
    k_max = max(1, max(o + len(r["chunks"]) for o, r in zip(offsets, rows)))
    errors = torch.zeros((b, k_max), dtype=torch.bool)
    spans = []
    for i, r in enumerate(rows):
        n = len(r["input_ids"])
        ids[i, :n] = torch.tensor(r["input_ids"])
        attention[i, :n] = 1
        row_spans = [(int(s), int(e)) for s, e in r["chunks"]]
        spans.append(row_spans)
        lp = torch.tensor(r["logprobs"], dtype=torch.float32)
        n_expert = int(r.get("expert_chunks", 0))
        for k, (s, e) in enumerate(row_spans):
            if k < n_expert:
                prefix[i, s:e] = True  # expert tokens: mu unknown, stays NaN
            else:
                infer[i, s:e] = lp[s:e]
        for k, err in enumerate(r.get("chunk_errors", [])):
            errors[i, offsets[i] + k] = bool(err)
    local = chunks_from_spans(spans, width)
    chunk_ids = torch.where(local >= 0, local + torch.tensor(offsets).unsqueeze(1), local)
    return TrainBatch(
        input_ids=ids, attention_mask=attention, response_mask=chunk_ids >= 0, infer_logp=infer, chunk_ids=chunk_ids,
        rewards=torch.tensor([float(r.get("reward") or 0.0) for r in rows]),
        group_ids=torch.tensor([int(r.get("group", i)) for i, r in enumerate(rows)]),
        versions=torch.tensor([int(r.get("version", 0)) for r in rows]), expert_prefix=prefix, chunk_error=errors,
        num_chunks=torch.tensor(num_chunks), episode_ids=torch.tensor([int(r.get("episode", -1 - i)) for i, r in enumerate(rows)]),
        expert_reward=torch.tensor([float(r.get("expert_reward", 1.0)) for r in rows]),
        expert_num_chunks=torch.tensor([int(r.get("expert_num_chunks", k)) for k, r in zip(num_chunks, rows)]))


def completion_rows(completions: list[Any], rewards: list[float], group: int = 0) -> list[dict[str, Any]]:
    """Rows for ``collate`` from single-turn engine completions (prompt + one sampled chunk each):
    the agent-free path, e.g. one RL step on given prompts."""
    if len(completions) != len(rewards):
        raise ValueError(f"{len(completions)} completions but {len(rewards)} rewards")
    rows = []
    for c, r in zip(completions, rewards):
        n_prompt, n = len(c.prompt_ids), len(c.prompt_ids) + len(c.ids)
        rows.append({"input_ids": list(c.prompt_ids) + list(c.ids), "loss_mask": [0] * n_prompt + [1] * len(c.ids),
                     "logprobs": [0.0] * n_prompt + list(c.logprobs), "chunks": [[n_prompt, n]] if c.ids else [],
                     "reward": float(r), "group": group, "version": c.version})
    return rows


def token_logprobs(model: torch.nn.Module, input_ids: Tensor, attention_mask: Tensor, micro_batch: int,
                   temperature: float = 1.0, needed: Tensor | None = None) -> Tensor:
    """log pi(token t | tokens < t) as [B, T] float32 (column 0, which has no context, is 0).

    ``temperature``: the sampler's; logits are divided by it so pi_old and mu are the same
    distribution up to numerics. Top-k/top-p truncation is not reproduced (it only raises mu, so the
    ratio pi_old/mu of truncated-away mass shows up as < 1: a lower mask bound L catches it).

    ``needed``: [B, T] bool, the tokens whose log-prob the caller reads (the response mask). Logits
    (LM head + log-softmax over the vocabulary, the costly part for short models with big vocabularies)
    are then computed only from each micro-batch's first needed column on (HF ``logits_to_keep``);
    earlier columns are returned as 0. The prompt still runs through the transformer body."""
    device = next(model.parameters()).device
    out = []
    width = input_ids.shape[1]
    for start in range(0, input_ids.shape[0], micro_batch):
        ids = input_ids[start:start + micro_batch].to(device)
        mask = attention_mask[start:start + micro_batch].to(device)
        first = 1  # column 0 has no context
        if needed is not None:
            cols = needed[start:start + micro_batch].any(0).nonzero()
            first = max(int(cols[0]), 1) if len(cols) else width  # nothing needed: no logits at all
        # logits at positions first-1 .. T-1 predict tokens first .. T (the last one predicts nothing)
        keep = width - first + 1
        logits = model(input_ids=ids, attention_mask=mask, logits_to_keep=keep).logits[:, :-1].float() / temperature
        lp = torch.log_softmax(logits, -1).gather(-1, ids[:, first:].unsqueeze(-1)).squeeze(-1)
        out.append(torch.cat([torch.zeros((ids.shape[0], first), dtype=lp.dtype, device=lp.device), lp], 1))
    return torch.cat(out, 0)


def adamw(params: Any, **kw: Any) -> torch.optim.AdamW:
    """AdamW with the fused kernel where torch has one (CPU, CUDA): on CPU the default per-parameter
    loop took ~2.2-10 s per step for a 135M model, the fused kernel ~0.45 s (HF Trainer, so TRL,
    defaults to the fused one too)."""
    params = list(params)
    fused = all(p.device.type in ("cpu", "cuda") and p.dtype in (torch.float32, torch.float16, torch.bfloat16)
                for p in (x for g in params for x in (g["params"] if isinstance(g, dict) else [g])))
    return torch.optim.AdamW(params, fused=fused or None, **kw)


def update_step(model: torch.nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any, batch: TrainBatch,
                loss_fn: LossFn, max_grad_norm: float, micro_batch: int = 8, temperature: float = 1.0,
                recompute_old_logp: str = "auto", policy_version: int | None = None,
                dp: DataParallel | None = None, epochs: int = 1, minibatches: int = 1,
                stale_old_logp: str = "engine", needs_old_logp: bool = True) -> dict[str, float]:
    """``epochs`` x ``minibatches`` optimiser steps on ``batch`` (PPO-style; default one step); returns
    loss, grad_norm (before clipping) and the loss's stats, averaged over the optimiser steps (``*_min``
    / ``*_max`` stats: the min / max), plus ``epoch{e}_*`` figures per epoch when ``epochs`` > 1.

    log pi_old is fixed once, before the first epoch, from the weights as they are when the step starts
    (the sampling weights in sync mode), so on later epochs/minibatches pi/pi_old departs from 1 and
    the algorithms' ratio truncation or clip acts. Minibatches split whole groups (the group baseline
    and an episode's rows stay together; at most one minibatch per group), in a fixed order; each
    minibatch's loss normalises over its own rows. The scheduler steps once per call.

    ``recompute_old_logp``: ``always`` runs a separate no-grad forward for log pi_old; ``auto`` skips
    it and uses ``logp.detach()`` when that is provably the same number: every row was sampled by
    ``policy_version`` (the weights being updated), this is the batch's only optimiser step, and the
    model has no active dropout (so the eval-mode and train-mode forwards agree). Otherwise ``auto``
    recomputes. Log-probs are computed for response tokens only (``token_logprobs(needed=...)``).

    ``stale_old_logp``: pi_old of rows sampled by an older policy version than ``policy_version``
    (async mode): ``engine`` (default) takes the engine's log mu on their sampled tokens, i.e. the
    sampling policy's own log-probs (so the train/inference mask keeps those tokens: pi_old/mu = 1);
    ``recompute`` takes the trainer's forward at the current weights.

    ``needs_old_logp=False`` (SFT, whose loss never reads pi_old): no pi_old at all (``old_logp`` stays
    None), so no extra forward.

    ``dp`` (``ale.train.parallel.DataParallel``, ``model`` wrapped by it): this rank runs forward and
    backward over its slice of each minibatch's rows; the loss sees every rank's log-probs (see that module).
    """
    if recompute_old_logp not in ("auto", "always"):
        raise ValueError(f"recompute_old_logp must be 'auto' or 'always', got {recompute_old_logp!r}")
    if stale_old_logp not in ("engine", "recompute"):
        raise ValueError(f"stale_old_logp must be 'engine' or 'recompute', got {stale_old_logp!r}")
    if epochs < 1 or minibatches < 1:
        raise ValueError(f"epochs ({epochs}) and minibatches ({minibatches}) must be >= 1")
    cfg = getattr(model, "config", None)
    dropout = any(isinstance(m, torch.nn.Dropout) and m.p > 0 for m in model.modules()) or any(
        isinstance(r, (int, float)) and r > 0 for r in (getattr(cfg, k, 0.0) for k in (
            "attention_dropout", "hidden_dropout", "dropout", "resid_pdrop", "attn_pdrop", "embd_pdrop")))
    parts = _minibatch_rows(batch.group_ids, minibatches)
    single = epochs == 1 and len(parts) == 1
    on_policy = (recompute_old_logp == "auto" and policy_version is not None and not dropout and single
                 and bool((batch.versions == policy_version).all()))
    if not needs_old_logp:
        on_policy = False
    elif not on_policy:
        model.eval()
        with torch.no_grad():
            batch.old_logp = _logprobs(model, batch, micro_batch, temperature, dp)[1]
        if stale_old_logp == "engine" and policy_version is not None:
            infer = batch.infer_logp.to(batch.old_logp.device)
            stale = (batch.versions.to(infer.device) < policy_version).unsqueeze(1) & batch.response_mask.to(
                infer.device) & torch.isfinite(infer)
            batch.old_logp = torch.where(stale, infer, batch.old_logp)
    steps = []
    for epoch in range(epochs):
        for rows in parts:
            sub = batch if len(parts) == 1 else batch.select(rows)
            steps.append((epoch, _optimiser_step(model, optimizer, sub, loss_fn, max_grad_norm, micro_batch,
                                                 temperature, dp, on_policy)))
    if scheduler is not None:
        scheduler.step()
    out = _merge([s for _, s in steps])
    if epochs > 1:
        for epoch in range(epochs):
            merged = _merge([s for e, s in steps if e == epoch])
            out.update({f"epoch{epoch + 1}_{k}": merged[k] for k in _EPOCH_KEYS if k in merged})
    out["lr"] = float(optimizer.param_groups[0]["lr"])
    out["old_logp_recomputed"] = float(needs_old_logp and not on_policy)
    out["optimizer_steps"], out["minibatches"] = float(len(steps)), float(len(parts))
    return out


# figures logged per epoch (epoch{e}_KEY) when a batch gets several epochs
_EPOCH_KEYS = ("loss", "grad_norm", "ratio_mean", "ratio_min", "ratio_max", "chunks_truncated_frac",
               "chunks_below_one_frac", "chunks_masked_frac", "clip_frac")


def _minibatch_rows(group_ids: Tensor, minibatches: int) -> list[Tensor]:
    """Row indices of each minibatch: the batch's groups (in order of first appearance) split into
    min(minibatches, groups) contiguous parts of near-equal group counts."""
    order: dict[int, int] = {}
    for g in group_ids.tolist():
        order.setdefault(int(g), len(order))
    rank = torch.tensor([order[int(g)] for g in group_ids.tolist()])
    n = min(minibatches, max(len(order), 1))
    bounds = [len(order) * i // n for i in range(n + 1)]
    return [((rank >= lo) & (rank < hi)).nonzero().squeeze(1) for lo, hi in zip(bounds, bounds[1:])]


def _merge(steps: list[dict[str, float]]) -> dict[str, float]:
    """Per-step stats of several optimiser steps: the mean, or the min / max for ``*_min`` / ``*_max``."""
    out: dict[str, float] = {}
    for key in dict.fromkeys(k for s in steps for k in s):
        values = [s[key] for s in steps if key in s]
        out[key] = min(values) if key.endswith("_min") else max(values) if key.endswith("_max") \
            else sum(values) / len(values)
    return out


def _logprobs(model: torch.nn.Module, batch: TrainBatch, micro_batch: int, temperature: float,
              dp: DataParallel | None) -> tuple[Tensor, Tensor]:
    """(this rank's rows' log-probs, the whole batch's [B, T]); a rank without rows runs one row (collectives)."""
    n = batch.size
    lo, hi = dp.rows(n) if dp is not None else (0, n)
    mine = slice(lo, hi) if hi > lo else slice(0, 1)
    local = token_logprobs(model, batch.input_ids[mine], batch.attention_mask[mine], micro_batch, temperature,
                           batch.response_mask[mine])
    return local, local if dp is None else dp.gather(local, n)


def _optimiser_step(model: torch.nn.Module, optimizer: torch.optim.Optimizer, batch: TrainBatch, loss_fn: LossFn,
                    max_grad_norm: float, micro_batch: int, temperature: float, dp: DataParallel | None,
                    on_policy: bool) -> dict[str, float]:
    """Forward with gradients over the whole (mini)batch, the loss, one backward, clip, optimiser step."""
    # train mode for the gradient pass (HF gradient checkpointing only acts in training mode); the
    # causal LMs we train have dropout 0, so both passes are the same function of the weights
    model.train()
    optimizer.zero_grad(set_to_none=True)
    local, logp = _logprobs(model, batch, micro_batch, temperature, dp)
    if on_policy:  # the sampling weights are these weights: pi_old = pi (value), no gradient through it
        batch.old_logp = logp.detach()
    device = logp.device
    if device.type != "cpu":
        for name in ("response_mask", "infer_logp", "chunk_ids", "rewards", "group_ids", "expert_prefix", "old_logp",
                     "num_chunks", "episode_ids", "expert_reward", "expert_num_chunks", "chunk_error"):
            if getattr(batch, name) is not None:
                setattr(batch, name, getattr(batch, name).to(device))
    loss, stats = loss_fn(logp, batch)
    if dp is None:
        loss.backward()
    else:  # DDP/FSDP average the ranks' gradients; each holds its rows' share of the whole loss's gradient
        lo, hi = dp.rows(batch.size)
        (loss * dp.world + (0.0 * local.sum() if hi == lo else 0.0)).backward()
    params = [p for p in model.parameters() if p.requires_grad]
    norm = torch.nn.utils.clip_grad_norm_(params, max_grad_norm if max_grad_norm > 0 else float("inf"))
    grad_norm = float(norm.full_tensor() if hasattr(norm, "full_tensor") else norm)  # fsdp: a sharded norm
    optimizer.step()
    return {"loss": float(loss.item()), "grad_norm": grad_norm, **stats}
