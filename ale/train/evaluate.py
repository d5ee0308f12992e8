"""Held-out evaluation of a policy: plain episodes (no expert prefix) on tasks it never trained on.

The same harness, engine and sandboxes as RL rollouts, so a held-out success rate and a training
reward measure the same thing; only the tasks differ. Sampling is greedy by default (one episode per
task), or ``samples`` episodes per task at a temperature.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import torch

from ale.train.config import TrainConfig
from ale.train.engine import EngineChatModel, HFEngine, SamplingParams
from ale.train.policy import engine_base
from ale.train.rollout import EpisodeSpec, SandboxPool, run_episodes


@dataclass
class EvalResult:
    rewards: dict[str, list[float]]  # task id -> reward of each episode
    wall_s: float
    dropped: int = 0  # episodes broken by infrastructure every time they were tried (not in the rate)
    end_reasons: dict[str, int] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return sum(len(v) for v in self.rewards.values())

    @property
    def success(self) -> float:
        return sum(r >= 1.0 for v in self.rewards.values() for r in v) / max(self.n, 1)

    def summary(self) -> dict[str, Any]:
        lo, hi = wilson(self.success, self.n)
        return {"success": self.success, "n": self.n, "ci95": [lo, hi], "dropped": self.dropped,
                "end_reasons": self.end_reasons, "wall_s": round(self.wall_s, 1)}


def wilson(p: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of a success rate over n episodes."""
    if n == 0:
        return (0.0, 1.0)
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def evaluate(model: torch.nn.Module, tok: Any, cfg: TrainConfig, tasks: list[Any], pool: SandboxPool | None = None,
             samples: int = 1, temperature: float = 0.0, seed: int = 0) -> EvalResult:
    """Success of ``model`` on ``tasks`` (``samples`` plain episodes each). Uses its own engine copy
    of the weights, so it can run beside a trainer; ``pool``: reuse a trainer's sandboxes."""
    s = cfg.sampling
    engine = HFEngine(engine_base(model), tok.eos_token_id, tok.pad_token_id)
    params = SamplingParams(temperature, s.top_p if temperature > 0 else 1.0, s.top_k if temperature > 0 else 0,
                            s.max_new_tokens)
    chat = EngineChatModel(engine, tok, params, cfg.policy.context_window, seed=seed, max_wait_s=s.max_wait_s,
                           name="eval")
    own_pool = pool is None
    pool = pool or SandboxPool(cfg.rollout.memory, cfg.rollout.workdir)
    t0 = time.time()
    try:
        specs = [EpisodeSpec(task=t, group=g, client_id=g * samples + i) for g, t in enumerate(tasks)
                 for i in range(samples)]
        res = run_episodes(specs, pool, chat, cfg.agent.harness(), cfg.rollout.concurrency,
                           cfg.rollout.max_resamples, "pass")
    finally:
        chat.close()
        if own_pool:
            pool.close()
    if res.broken and not res.episodes:
        raise RuntimeError(f"held-out evaluation: all {len(res.broken)} episodes broke on infrastructure; "
                           f"the last: {res.broken[-1]}")
    rewards: dict[str, list[float]] = {t.id: [] for t in tasks}
    reasons: dict[str, int] = {}
    for ep in res.episodes:
        rewards[ep.spec.task.id].append(ep.reward)
        key = ep.trajectory.end_reason or "none"
        reasons[key] = reasons.get(key, 0) + 1
    return EvalResult(rewards, time.time() - t0, res.dropped_broken, reasons)
