"""The recipe (expert data -> SFT -> RL -> held-out eval): splits, intervals, init from a checkpoint, and a
tiny end-to-end run in real sandboxes."""
from __future__ import annotations

import json
import math
import os

import pytest
import torch
import yaml

from ale.bench.task import load_tasks
from ale.train.evaluate import wilson
from ale.train.policy import PolicyConfig, load_policy
from ale.train.recipe import TaskSplit, instance_key, load_recipe, make_split, mean_ci, run_recipe


def test_mean_ci_is_a_student_t_interval():
    m = mean_ci([0.2, 0.4, 0.6])
    assert m["mean"] == pytest.approx(0.4)
    half = 4.303 * 0.2 / math.sqrt(3)  # t(0.975, 2 dof) * sd / sqrt(n)
    assert m["ci95"] == pytest.approx([0.0, 0.4 + half])  # clipped at 0
    assert mean_ci([0.5])["ci95"] is None
    assert mean_ci([0.5, -0.4, -0.4], low=-1.0)["ci95"][0] < -0.4  # a gain's interval may go below 0


def test_wilson_interval_hand_computed():
    lo, hi = wilson(0.5, 10)
    assert (lo, hi) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert wilson(0.0, 20)[0] == 0.0 and wilson(0.0, 20)[1] == pytest.approx(0.1611, abs=1e-4)


def test_heldout_split_shares_no_instance_with_training(tmp_path):
    # two words out of 4 per task (16 instances): collisions between the two seeds' draws are certain
    train, held = make_split(TaskSplit(family="multi-write", params={"k": 2, "vocab": 4}, n_train=12, n_heldout=12),
                             tmp_path / "mw")
    seen = {t.instruction for t in load_tasks(train)}
    kept = load_tasks(held)
    assert 0 < len(kept) < 12 and not seen & {t.instruction for t in kept}
    # breadcrumb instances all share one instruction: they differ in their files, which the split compares
    train, held = make_split(TaskSplit(family="breadcrumb", params={"hops": 1, "decoys": 1, "vocab": 2, "digits": False},
                                       n_train=6, n_heldout=6), tmp_path / "bc")
    keys = {instance_key(p) for p in train.iterdir()}
    assert len(list(held.iterdir())) < 6 and not keys & {instance_key(p) for p in held.iterdir()}
    with pytest.raises(ValueError, match="every held-out instance"):
        make_split(TaskSplit(family="multi-write", params={"k": 1, "vocab": 2}, n_train=20, n_heldout=4), tmp_path / "x")


def test_init_from_loads_a_checkpoint_not_the_random_init(tmp_path):
    model, _ = load_policy(PolicyConfig(model="tiny", context_window=256))
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.5)
    ckpt = tmp_path / "checkpoints" / "step-3"
    ckpt.mkdir(parents=True)
    torch.save(model.state_dict(), ckpt / "model.pt")
    loaded, _ = load_policy(PolicyConfig(model="tiny", context_window=256, init_from=str(tmp_path)))
    fresh, _ = load_policy(PolicyConfig(model="tiny", context_window=256))
    name, want = next(iter(model.state_dict().items()))
    assert torch.equal(loaded.state_dict()[name], want) and not torch.equal(fresh.state_dict()[name], want)
    with pytest.raises(ValueError, match="neither a checkpoint"):
        load_policy(PolicyConfig(model="tiny", context_window=256, init_from=str(tmp_path / "nothing")))


@pytest.mark.skipif(os.geteuid() != 0, reason="sandboxes need root")
def test_tiny_recipe_end_to_end(tmp_path):
    """Every stage runs on real tasks in real sandboxes: the scripted expert passes every training task
    through the harness (so the SFT data is complete), SFT and RL steps run, and the summary has the
    held-out figures the demo prints."""
    recipe = {
        "tasks": {"family": "multi-write", "params": {"k": 2}, "n_train": 3, "n_heldout": 2},
        "train": {"torch_threads": 1, "progress": False, "tensorboard": False,
                  "policy": {"model": "tiny", "context_window": 2048},
                  "sampling": {"max_new_tokens": 16},
                  "agent": {"max_steps": 3, "tool_format": "text", "tools": ["bash", "finish"],
                            "system_prompt": "Solve the task with the tools."},
                  "rollout": {"tasks_per_step": 1, "n_samples": 2}},
        "sft": {"steps": 2}, "rl": {"steps": 1}, "evaluate_base": False}
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    summary = run_recipe(load_recipe(path), tmp_path / "run", log=lambda _: None)
    assert len(list((tmp_path / "run" / "seed-0" / "expert").glob("*.json"))) == 3
    assert len(json.loads((tmp_path / "run" / "seed-0" / "sft" / "metrics.jsonl").read_text().splitlines()[-1])) > 0
    arm = summary["per_seed"]["0"]["arms"]["ipa"]
    assert [p["step"] for p in arm["curve"]] == [0, 1] and arm["curve"][0]["n"] == 2
    assert set(summary) >= {"heldout_before", "heldout_after", "steps"} and summary["steps"] == 1
    by_step = summary["arms"]["ipa"]["by_step"]
    assert set(by_step) == {"0", "1"} and by_step["1"]["mean"] == arm["heldout_after"]
    assert (tmp_path / "run" / "results.png").stat().st_size > 0
    # the RL arm started from the SFT checkpoint, not from the base policy
    cfg = yaml.safe_load((tmp_path / "run" / "seed-0" / "ipa" / "train.yaml").read_text())
    assert cfg["policy"]["init_from"].endswith("seed-0/sft")
    # run again: finished stages and arms are read back, not trained again
    done = tmp_path / "run" / "seed-0" / "ipa" / "arm.json"
    stamp = done.stat().st_mtime_ns
    again = run_recipe(load_recipe(path), tmp_path / "run", log=lambda _: None)
    assert done.stat().st_mtime_ns == stamp and again["per_seed"] == summary["per_seed"]
    # sft.seed: one SFT checkpoint for every seed; seed 1 trains none and its arm starts from seed 0's
    shared = run_recipe(load_recipe(path, ["seeds=[0,1]", "sft.seed=0"]), tmp_path / "run", log=lambda _: None)
    assert not (tmp_path / "run" / "seed-1" / "sft").exists()
    cfg = yaml.safe_load((tmp_path / "run" / "seed-1" / "ipa" / "train.yaml").read_text())
    assert cfg["policy"]["init_from"].endswith("seed-0/sft")
    assert shared["per_seed"]["1"]["heldout_sft"] == summary["per_seed"]["0"]["heldout_sft"]
    assert shared["sft_seed"] == 0 and set(shared["per_seed"]) == {"0", "1"}
