"""The algorithm-blind update step and the batch it consumes.

``TrainBatch`` holds padded token rows: ids, response (loss) mask, the engine's log-probs mu,
rewards, group ids, chunk ids, the expert-prefix mask and each row's policy version. ``update_step``
takes log pi_old from the trainer's own forward pass (a separate no-grad pass, or the gradient pass's
values when the batch is provably on-policy; kept next to the engine's mu, so the train/inference
masks compare two real numbers), calls a loss function it knows nothing about, clips the gradient and
steps the optimiser.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

import torch
from torch import Tensor

from ale.train.algorithms import chunks_from_spans

if TYPE_CHECKING:
    from ale.train.parallel import DataParallel

LossFn = Callable[[Tensor, "TrainBatch"], tuple[Tensor, dict[str, float]]]


@dataclass
class TrainBatch:
    input_ids: Tensor  # [B, T] long, right-padded
    attention_mask: Tensor  # [B, T] 1 on real tokens
    response_mask: Tensor  # [B, T] bool: tokens that may receive loss (model chunks)
    infer_logp: Tensor  # [B, T] log mu, NaN where unknown (prompts, prefilled expert tokens)
    chunk_ids: Tensor  # [B, T] chunk index per token, -1 outside chunks
    rewards: Tensor  # [B]
    group_ids: Tensor  # [B]
    versions: Tensor  # [B] policy version that sampled the row (oldest turn)
    expert_prefix: Tensor  # [B, T] bool: tokens of replayed expert chunks (initialised resampling)
    chunk_error: Tensor  # [B, K_max] bool: the chunk's tool call errored (SFT mask)
    old_logp: Tensor | None = None  # filled by update_step

    @property
    def size(self) -> int:
        return int(self.input_ids.shape[0])


def collate(rows: list[dict[str, Any]], pad_id: int) -> TrainBatch:
    """Rows (``ale.agent.training_data`` dicts plus ``group``, ``version``, ``expert_chunks``) -> TrainBatch.

    ``expert_chunks``: how many leading chunks of the row were replayed from an expert (0 if none).
    """
    if not rows:
        raise ValueError("collate: no rows")
    width = max(len(r["input_ids"]) for r in rows)
    b = len(rows)
    ids = torch.full((b, width), pad_id, dtype=torch.long)
    attention = torch.zeros((b, width), dtype=torch.long)
    infer = torch.full((b, width), math.nan)
    prefix = torch.zeros((b, width), dtype=torch.bool)
    k_max = max(1, max(len(r["chunks"]) for r in rows))
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
            errors[i, k] = bool(err)
    chunk_ids = chunks_from_spans(spans, width)
    return TrainBatch(
        input_ids=ids, attention_mask=attention, response_mask=chunk_ids >= 0, infer_logp=infer, chunk_ids=chunk_ids,
        rewards=torch.tensor([float(r.get("reward") or 0.0) for r in rows]),
        group_ids=torch.tensor([int(r.get("group", i)) for i, r in enumerate(rows)]),
        versions=torch.tensor([int(r.get("version", 0)) for r in rows]), expert_prefix=prefix, chunk_error=errors)


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
                dp: DataParallel | None = None) -> dict[str, float]:
    """One optimiser step on ``batch``; returns loss, grad_norm (before clipping) and the loss's stats.

    The whole batch's per-token log-probs are gathered before one backward, so every aggregation
    mode normalises over the full batch exactly as the algorithm functions define it.

    ``recompute_old_logp``: ``always`` runs a separate no-grad forward for log pi_old; ``auto`` skips
    it and uses ``logp.detach()`` when that is provably the same number: every row was sampled by
    ``policy_version`` (the weights being updated), this is the batch's only optimiser step, and the
    model has no active dropout (so the eval-mode and train-mode forwards agree). Otherwise ``auto``
    recomputes. Log-probs are computed for response tokens only (``token_logprobs(needed=...)``).

    ``dp`` (``ale.train.parallel.DataParallel``, ``model`` wrapped by it): this rank runs forward and
    backward over its slice of the rows; the loss sees every rank's log-probs (see that module).
    """
    if recompute_old_logp not in ("auto", "always"):
        raise ValueError(f"recompute_old_logp must be 'auto' or 'always', got {recompute_old_logp!r}")
    cfg = getattr(model, "config", None)
    dropout = any(isinstance(m, torch.nn.Dropout) and m.p > 0 for m in model.modules()) or any(
        isinstance(r, (int, float)) and r > 0 for r in (getattr(cfg, k, 0.0) for k in (
            "attention_dropout", "hidden_dropout", "dropout", "resid_pdrop", "attn_pdrop", "embd_pdrop")))
    on_policy = (recompute_old_logp == "auto" and policy_version is not None and not dropout
                 and bool((batch.versions == policy_version).all()))
    n = batch.size
    lo, hi = dp.rows(n) if dp is not None else (0, n)
    mine = slice(lo, hi) if hi > lo else slice(0, 1)  # a rank without rows runs one at weight 0 (collectives)

    def logprobs() -> tuple[Tensor, Tensor]:
        """(this rank's rows, the whole batch's [B, T] log-probs)."""
        local = token_logprobs(model, batch.input_ids[mine], batch.attention_mask[mine], micro_batch, temperature,
                               batch.response_mask[mine])
        return local, local if dp is None else dp.gather(local, n)

    if not on_policy:
        model.eval()
        with torch.no_grad():
            batch.old_logp = logprobs()[1]
    # train mode for the gradient pass (HF gradient checkpointing only acts in training mode); the
    # causal LMs we train have dropout 0, so both passes are the same function of the weights
    model.train()
    optimizer.zero_grad(set_to_none=True)
    local, logp = logprobs()
    if on_policy:  # the sampling weights are these weights: pi_old = pi (value), no gradient through it
        batch.old_logp = logp.detach()
    device = logp.device
    if device.type != "cpu":
        for name in ("response_mask", "infer_logp", "chunk_ids", "rewards", "group_ids", "expert_prefix", "old_logp"):
            setattr(batch, name, getattr(batch, name).to(device))
    loss, stats = loss_fn(logp, batch)
    if dp is None:
        loss.backward()
    else:  # DDP/FSDP average the ranks' gradients; each holds its rows' share of the whole loss's gradient
        (loss * dp.world + (0.0 * local.sum() if hi == lo else 0.0)).backward()
    params = [p for p in model.parameters() if p.requires_grad]
    norm = torch.nn.utils.clip_grad_norm_(params, max_grad_norm if max_grad_norm > 0 else float("inf"))
    grad_norm = float(norm.full_tensor() if hasattr(norm, "full_tensor") else norm)  # fsdp: a sharded norm
    optimizer.step()
    if scheduler is not None:
        scheduler.step()
    out = {"loss": float(loss.item()), "grad_norm": grad_norm, "lr": float(optimizer.param_groups[0]["lr"])}
    out["old_logp_recomputed"] = float(not on_policy)
    out.update(stats)
    return out
