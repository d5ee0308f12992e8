"""Config: YAML + key=value overrides, validated; bad keys and values fail at once, naming them."""
from __future__ import annotations

import pytest
from typer.testing import CliRunner

from ale.train.cli import app
from ale.train.config import ConfigError, load_config

from conftest import TINY_RL


def test_example_config_loads_and_overrides_apply():
    cfg = load_config(TINY_RL, ["algo.gamma=0.8", "rollout.n_samples=3", "algo.name=topr"], steps=5)
    assert cfg.algo.gamma == 0.8 and cfg.rollout.n_samples == 3 and cfg.steps == 5
    assert cfg.algo.mismatch_mask == "token"  # the topr default resolved at validation
    assert cfg.policy.model == "tiny"


@pytest.mark.parametrize("override, named", [
    ("algo.gamm=0.9", "algo.gamm: unknown key"),
    ("algo.gamma=1.5", "algo.gamma"),
    ("rollout.n_samples=zero", "rollout.n_samples"),
    ("nonsense=1", "nonsense: unknown key"),
    ("policy.dtype=float8", "policy.dtype"),
    ("algo.mask_low=3", "mask_low"),
    ("distributed.strategy=zero", "distributed.strategy"),
    ("optim.epochs=0", "optim.epochs"),
    ("optim.minibatches=0", "optim.minibatches"),
    ("optim.stale_old_logp=current", "optim.stale_old_logp"),
])
def test_bad_keys_and_values_are_named(override, named):
    with pytest.raises(ConfigError, match=named.replace(".", r"\.")):
        load_config(TINY_RL, [override])


def test_fsdp_with_lora_is_refused_by_name():
    with pytest.raises(ConfigError, match=r"distributed\.strategy=fsdp does not combine with policy\.lora \(use ddp\)$"):
        load_config(TINY_RL, ["distributed.strategy=fsdp", "policy.lora={r: 4}"])


def test_engine_dtype_is_refused_for_vllm_by_name():
    assert load_config(None, ["sampling.dtype=bfloat16"]).sampling.dtype == "bfloat16"
    with pytest.raises(ConfigError, match="sampling.dtype applies to the hf engine only"):
        load_config(None, ["sampling.kind=vllm", "sampling.dtype=bfloat16"])


def test_missing_file_and_malformed_override():
    with pytest.raises(ConfigError, match="no such config file"):
        load_config("/nonexistent.yaml")
    with pytest.raises(ConfigError, match="expected key=value"):
        load_config(TINY_RL, ["algo.gamma"])


def test_cli_fails_fast_with_the_key_in_the_message(tmp_path):
    r = CliRunner().invoke(app, ["rl", str(TINY_RL), "algo.gamma=2", "--out", str(tmp_path / "x")])
    assert r.exit_code == 2 and "algo.gamma" in r.output
    assert not (tmp_path / "x").exists()  # nothing started
    r = CliRunner().invoke(app, ["sft", str(TINY_RL)])
    assert r.exit_code == 2 and "rl config" in r.output


def test_every_example_config_validates_and_says_what_was_run():
    from conftest import REPO

    from ale.train.recipe import load_recipe

    files = sorted((REPO / "examples").glob("*/*.yaml"))
    assert len(files) >= 4
    for f in files:
        cfg = load_recipe(f) if f.parent.name == "recipes" else load_config(f)
        assert cfg.run_note, f"{f}: run_note must say what was actually run"


def test_cli_names_a_missing_task_folder_or_sft_data(tmp_path):
    r = CliRunner().invoke(app, ["rl", str(TINY_RL), f"rollout.tasks={tmp_path}/nope", "--out", str(tmp_path / "x")])
    assert r.exit_code == 2 and "rollout.tasks" in r.output
    sft = TINY_RL.parent / "sft.yaml"
    r = CliRunner().invoke(app, ["sft", str(sft), f"sft.data=[{tmp_path}/nope]", "--out", str(tmp_path / "y")])
    assert r.exit_code == 2 and "sft.data" in r.output
