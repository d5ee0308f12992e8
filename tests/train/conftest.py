"""Shared helpers for the trainer tests: a tiny RL config over the easy example tasks."""
from __future__ import annotations

from pathlib import Path

import pytest

from ale.train.config import TrainConfig, load_config

REPO = Path(__file__).resolve().parents[2]
TINY_RL = REPO / "examples" / "cpu-tiny" / "rl.yaml"
EASY_TASKS = REPO / "examples" / "tasks" / "easy-words"


# the example tiny config, shrunk for tests: one task per step, short replies, a short system prompt
TEST_OVERRIDES = [f"rollout.tasks={EASY_TASKS}", "rollout.tasks_per_step=1", "sampling.max_new_tokens=24",
                  "agent.system_prompt=Solve the task with the tools.", "agent.tools=[bash, finish]",
                  "torch_threads=1", "progress=false", "tensorboard=false"]


def tiny_rl_config(out: Path, *overrides: str) -> TrainConfig:
    return load_config(TINY_RL, [*TEST_OVERRIDES, *overrides], out=str(out))


@pytest.fixture
def tiny_policy():
    from ale.train.policy import PolicyConfig, load_policy

    model, tok = load_policy(PolicyConfig(model="tiny", context_window=2048))
    return model, tok
