"""Slow tier: training with ALE makes the agent better on tasks it never saw, and RL is what does it.

The demo's recipe (examples/recipes/demo.yaml): the tiny policy is taught by the scripted expert
(SFT), then trained with IPA on its own rollouts (no expert prefix, no imitation term). Held-out
success is measured on instances that share nothing with training. The control is the policy RL
started from (the SFT checkpoint, scored on the same held-out tasks the same way, sampled at the report's
settings): the test fails unless RL beats it by 15 points.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from ale.train.recipe import load_recipe, run_recipe

DEMO = Path(__file__).resolve().parents[2] / "examples" / "recipes" / "demo.yaml"


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_ipa_beats_its_sft_start_on_heldout_tasks(tmp_path):
    rc = load_recipe(DEMO, ["train.progress=false", "train.tensorboard=false"])
    summary = run_recipe(rc, tmp_path, log=print)
    ipa = summary["per_seed"]["0"]["arms"]["ipa"]
    assert ipa["heldout_after"] >= ipa["heldout_before"] + 0.15, ipa["curve"]
