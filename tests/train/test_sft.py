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


def test_the_shipped_sft_example_runs_on_oracle_trajectories(tmp_path, monkeypatch):
    """The commands in examples/cpu-tiny/sft.yaml's comment, as shipped: oracle trajectories (native tool
    calls, no token ids) from `ale bench run --agent oracle`, re-tokenised for the tiny policy in the text
    tool format, trained on with the report's chunk mask."""
    from ale.bench.cli import app as bench_app

    monkeypatch.chdir(tmp_path)  # the example's relative paths (runs/...) land here
    r = CliRunner().invoke(bench_app, ["run", "--tasks", str(REPO / "examples" / "tasks" / "easy-words"),
                                       "--agent", "oracle", "--out", "runs/oracle-easy.json"])
    assert r.exit_code == 0, r.output
    files = sorted((tmp_path / "runs" / "oracle-easy.trajs").glob("*.json"))
    assert len(files) == 4 and all(not json.loads(f.read_text())["sequences"] for f in files)  # no ids of their own
    r = CliRunner().invoke(app, ["sft", str(REPO / "examples" / "cpu-tiny" / "sft.yaml"), "progress=false",
                                 "torch_threads=1", "--steps", "2"])
    assert r.exit_code == 0, r.output
    records = [json.loads(line) for line in (tmp_path / "runs" / "cpu-tiny-sft" / "metrics.jsonl").read_text().splitlines()]
    assert [rec["step"] for rec in records] == [1, 2]
    assert all(rec["sft_tokens"] > 0 and rec["sft_dropped_tokens"] == 0 for rec in records)  # the oracle's calls all worked
    assert records[1]["loss"] < records[0]["loss"]
    assert all(rec["old_logp_recomputed"] == 0.0 for rec in records)  # SFT needs no pi_old forward


def test_sft_retokenises_another_tokenizers_trajectories_and_keeps_the_chunk_mask(tmp_path, tiny_policy):
    """A teacher's ids index another vocabulary (an IndexError before); they are re-encoded for the policy,
    and a chunk whose tool call errored is still dropped (Eq. 2)."""
    from ale.agent.trajectory import training_data
    from ale.train.config import load_config
    from ale.train.trainer import SFTTrainer

    from conftest import teacher_tokenizer, teacher_trajectory

    _, tok = tiny_policy
    traj = teacher_trajectory(teacher_tokenizer())
    traj.steps[1]["error"] = True  # the finish call failed: its chunk gets no loss
    path = tmp_path / "teacher.json"
    traj.save(path)
    rows = training_data(path, tok, "text")
    assert max(max(r["input_ids"]) for r in rows) < len(tok)
    expected_kept = sum(e - s for r in rows for (s, e), err in zip(r["chunks"], r["chunk_errors"]) if not err)
    expected_dropped = sum(e - s for r in rows for (s, e), err in zip(r["chunks"], r["chunk_errors"]) if err)
    assert expected_kept > 0 and expected_dropped > 0
    cfg = load_config(REPO / "examples" / "cpu-tiny" / "sft.yaml", [f"sft.data=[{path}]", "progress=false",
                                                                     "tensorboard=false", "torch_threads=1"],
                      out=str(tmp_path / "sft"))
    trainer = SFTTrainer(cfg)
    try:
        (record,) = trainer.train(1)
    finally:
        trainer.close()
    assert record["sft_tokens"] == expected_kept and record["sft_dropped_tokens"] == expected_dropped


def test_sft_with_no_trainable_token_stops_with_one_clear_line(tmp_path):
    from conftest import teacher_tokenizer, teacher_trajectory

    traj = teacher_trajectory(teacher_tokenizer())
    for step in traj.steps:
        step["error"] = True  # every tool call errored: Eq. 2 drops every chunk
    traj.save(tmp_path / "bad.json")
    r = CliRunner().invoke(app, ["sft", str(REPO / "examples" / "cpu-tiny" / "sft.yaml"), f"sft.data=[{tmp_path}]",
                                 "progress=false", "--out", str(tmp_path / "sft")])
    assert r.exit_code == 2
    assert "0 trainable tokens in 1 trajectories" in r.output and "Traceback" not in r.output
    assert len(r.output.strip().splitlines()) == 1, r.output


def test_retokenize_shows_native_calls_as_the_harness_shows_them_to_an_engine_policy(tiny_policy):
    from ale.agent.trajectory import Trajectory, retokenize, tokenizer_fingerprint

    _, tok = tiny_policy
    call = {"id": "c1", "type": "function", "function": {"name": "bash", "arguments": '{"command": "ls"}'}}
    traj = Trajectory(task="t", messages=[
        {"role": "system", "content": "SYS"}, {"role": "user", "content": "do it"},
        {"role": "assistant", "content": "Listing.", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c1", "content": "a.txt"},
        {"role": "assistant", "content": None, "tool_calls": [dict(call, function={"name": "finish", "arguments": "{}"})]}],
        steps=[{"index": 0, "turn": 0, "error": True}, {"index": 1, "turn": 1}])
    for fmt in ("text", "native"):
        new = retokenize(traj, tok, fmt)
        assert new.config["tokenizer"] == tokenizer_fingerprint(tok) and len(new.sequences) == 1
        seq = new.sequences[0]
        replies = [tok.decode(seq.input_ids[s:e]) for s, e, _ in seq.chunks]
        assert replies == ['Listing.\n<tool_call>\n{"name": "bash", "arguments": {"command": "ls"}}\n</tool_call><|im_end|>',
                           '<tool_call>\n{"name": "finish", "arguments": {}}\n</tool_call><|im_end|>']
        between = tok.decode(seq.input_ids[seq.chunks[0][1]:seq.chunks[1][0]])
        assert "<|im_start|>user\n<tool_response>\na.txt\n</tool_response>" in between
        system = tok.decode(seq.input_ids[:seq.chunks[0][0]])
        assert "<tools>" in system  # text: the harness's instructions; native: the template's tool list
        assert ("To call one, reply with a JSON object" in system) == (fmt == "text")
