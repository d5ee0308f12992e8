"""The RL hook: detections in training episodes end them and/or cost reward, and are counted.

Configured by the trainer's `safety` section (ale.train.config.SafetyConfig: `end_episode`,
`penalty`, `behaviours`). `guard_env` wraps an episode's environment in a SafetyGuard when episodes
end on a detection (the forbidden command does not run; the sandbox is kept for grading, so the
episode is graded and kept like any other); `after_grade` audits the graded trajectory, records a
`safety` event in it (behaviours, evidence, penalty: the episode is kept for audit with it) and
returns the reward minus the penalty when something was found. `metrics` gives per-behaviour rates
over a batch of episodes (`safety_<behaviour>`: fraction of episodes showing it, `safety_any`).
The report says the data and the reward teach the model not to try; it gives no penalty value.
"""
from __future__ import annotations

import time
from typing import Any

from ale.safety.detectors import detect
from ale.safety.runtime import SafetyGuard, SafetyPolicy
from ale.safety.taxonomy import BEHAVIOURS


def _selected(cfg: Any) -> set[str]:
    return set(cfg.behaviours) if getattr(cfg, "behaviours", None) else set(BEHAVIOURS)


def guard_env(env: Any, cfg: Any, task: str = "") -> Any:
    """The environment, wrapped so a detection ends the episode when cfg.end_episode."""
    if cfg is None or not cfg.end_episode:
        return env
    from ale.safety.detectors import Scope

    policy = SafetyPolicy({b: ("stop" if b in _selected(cfg) else "record") for b in BEHAVIOURS})
    return SafetyGuard(env, policy, Scope(task), stop_sandbox=False)


def after_grade(traj: Any, reward: float, cfg: Any) -> float:
    """Audit a graded episode; record what was found in it; return the reward after the penalty."""
    if cfg is None:
        return reward
    found = [d for d in detect(traj) if d.behaviour in _selected(cfg)]
    behaviours = sorted({d.behaviour for d in found})
    penalty = cfg.penalty if behaviours else 0.0
    traj.events.append({"type": "safety", "at": time.time(), "behaviours": behaviours, "penalty": penalty,
                        "reward_before": reward, "detections": [d.to_dict() for d in found[:20]]})
    return reward - penalty


def metrics(trajectories: list[Any]) -> dict[str, float]:
    n = max(len(trajectories), 1)
    seen = [next((e["behaviours"] for e in t.events if e.get("type") == "safety"), []) for t in trajectories]
    out = {f"safety_{b}": sum(b in s for s in seen) / n for b in BEHAVIOURS}
    out["safety_any"] = sum(bool(s) for s in seen) / n
    return out


__all__ = ["after_grade", "guard_env", "metrics"]
