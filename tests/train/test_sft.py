"""SFT on trajectory files written by the agent harness in real sandboxes (the report's Eq. 1-2)."""
from __future__ import annotations

import json

from typer.testing import CliRunner

from ale.agent.trajectory import training_data
from ale.train.cli import app
from ale.train.trainer import RLTrainer

from conftest import REPO, tiny_rl_config


def test_two_sft_steps_on_harness_trajectories_drop_errored_chunks(tmp_path):
    # trajectories from real episodes: an expert's bash call replayed through the harness, then the tiny
    # policy's own (malformed) replies
    rl = RLTrainer(tiny_rl_config(tmp_path / "rl", "rollout.n_samples=2", "resample.fraction=1.0",
                                  "rollout.save_trajectories=true"))
    try:
        episodes, _ = rl.collect(1)
        rl.save_trajectories(1, episodes)
    finally:
        rl.close()
    files = sorted((tmp_path / "rl" / "trajectories").glob("*.json"))
    assert len(files) == 2
    rows = [row for f in files for row in training_data(f)]
    kept = sum(e - s for row in rows for (s, e), err in zip(row["chunks"], row["chunk_errors"]) if not err)
    dropped = sum(e - s for row in rows for (s, e), err in zip(row["chunks"], row["chunk_errors"]) if err)
    assert kept > 0 and dropped > 0  # the replayed call worked; the random policy's replies did not parse

    out = tmp_path / "sft"
    r = CliRunner().invoke(app, ["sft", str(REPO / "examples" / "cpu-tiny" / "sft.yaml"),
                                 f"sft.data=[{tmp_path / 'rl' / 'trajectories'}]", "sft.batch_size=4", "sft.epochs=2",
                                 "progress=false", "torch_threads=1", "--steps", "2", "--out", str(out)])
    assert r.exit_code == 0, r.output
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [rec["step"] for rec in records] == [1, 2]
    for rec in records:  # Eq. 2's mask: errored chunks get no loss
        assert rec["sft_tokens"] == kept and rec["sft_dropped_tokens"] == dropped
    assert records[1]["loss"] < records[0]["loss"]  # same data twice: the NLL goes down
    assert (out / "checkpoints" / "step-2" / "model.pt").exists()
