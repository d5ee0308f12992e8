"""Export: re-rendered token ids, chunk spans and the per-turn error mask; the dataset loads in
`ale train sft` and in TRL's SFTTrainer as it is. Input: trajectories recorded in real sandboxes
(the safety labelled set: scripted episodes, no token ids of their own)."""
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ale.agent.tools import TOOLS
from ale.agent.trajectory import Trajectory, training_data
from ale.cli import app
from ale.data.export import load_tokenizer, retokenize, text_format

LABELLED = Path(__file__).parent.parent / "safety" / "labelled"
FILES = ["neg-benign-sum.json", "egress-nmap-subnet.json"]  # the second one's bash call fails (nmap missing)


def test_retokenize_chunks_are_the_replies_and_errors_are_masked():
    tok = load_tokenizer("tiny")
    traj = Trajectory.load(LABELLED / "egress-nmap-subnet.json")
    assert not traj.sequences  # a scripted teacher gives no ids
    new, chat = retokenize(traj, tok)
    replies = [m["content"] for m in chat if m["role"] == "assistant"]
    (row,) = training_data(new)
    assert [tok.decode(row["input_ids"][a:b]) for a, b in row["chunks"]] == [r + tok.eos_token for r in replies]
    assert replies[0].endswith('<tool_call>{"name": "bash", "arguments": {"command": "nmap -sT -p 1-1024 10.0.0.0/24"}}</tool_call>')
    assert row["chunk_errors"] == [True, False]  # nmap: command not found
    full = tok.apply_chat_template(chat, tools=[t.schema() for t in TOOLS.values()], tokenize=False)
    assert full.startswith(tok.decode(row["input_ids"]))  # one sequence, exactly the student's template
    assert chat[3]["role"] == "user" and chat[3]["content"].startswith("<tool_response>\n")


def test_text_format_without_native_tools_puts_them_in_the_system_prompt():
    msgs = [{"role": "system", "content": "S"}, {"role": "user", "content": "T"},
            {"role": "assistant", "content": None, "tool_calls": [{"function": {"name": "finish", "arguments": "{}"}}]}]
    out = text_format(msgs, "TOOLS HERE")
    assert out[0]["content"] == "S\n\nTOOLS HERE"
    assert out[2] == {"role": "assistant", "content": '<tool_call>{"name": "finish", "arguments": {}}</tool_call>'}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    out = tmp_path_factory.mktemp("ds")
    r = CliRunner().invoke(app, ["data", "export", *[str(LABELLED / f) for f in FILES], "--tokenizer", "tiny",
                                 "--out", str(out)])
    assert r.exit_code == 0, r.output
    return out


def test_dataset_columns_masks_and_card(exported):
    import datasets

    ds = datasets.load_dataset("parquet", data_files=str(exported / "data" / "train.parquet"))["train"]
    assert len(ds) == 2
    row = next(r for r in ds if any(r["chunk_errors"]))
    (a, b), (c, d) = row["chunk_spans"]
    assert set(row["labels"][a:b]) == {-100} and -100 not in row["labels"][c:d]  # errored turn masked, next kept
    assert sum(row["completion_mask"]) == d - c and sum(row["loss_mask"]) == (b - a) + (d - c)
    card = (exported / "README.md").read_text()
    assert "path: data/train.parquet" in card and "trajectories: 2, sequences: 2" in card


def test_the_trainer_uses_the_exported_ids_as_they_are(exported):
    tok = load_tokenizer("tiny")
    f = exported / "trajectories" / "egress-nmap-subnet.json"
    stored = Trajectory.load(f)
    (row,) = training_data(f, tokenizer=tok)  # what ale train sft computes for the tiny policy
    assert row["input_ids"] == stored.sequences[0].input_ids  # not re-rendered: the fingerprint matches
    first = tok.decode(row["input_ids"][row["chunks"][0][0]:row["chunks"][0][1]])
    assert '<tool_call>{"name": "bash"' in first  # the tool call is in the trained tokens


def test_ale_train_sft_reads_the_export(exported, tmp_path):
    r = CliRunner().invoke(app, ["train", "sft", "examples/cpu-tiny/sft.yaml", f"sft.data=[{exported}/trajectories]",
                                 "sft.batch_size=2", "progress=false", "tensorboard=false", "--steps", "1",
                                 "--out", str(tmp_path / "run"), "--no-resume"])
    assert r.exit_code == 0, r.output
    rec = json.loads((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()[-1])
    assert rec["step"] == 1 and rec["sft_tokens"] > 0 and rec["sft_dropped_tokens"] > 0  # the nmap turn


def test_trl_sft_trainer_takes_it_as_it_is(exported, tmp_path):
    trl = pytest.importorskip("trl")
    import datasets
    import torch
    from transformers import AutoModelForCausalLM, Qwen3Config

    tok = load_tokenizer("tiny")
    ds = datasets.load_dataset("parquet", data_files=str(exported / "data" / "train.parquet"))["train"]
    cfg = Qwen3Config(vocab_size=len(tok), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                      num_attention_heads=2, num_key_value_heads=1, head_dim=8, max_position_embeddings=16384,
                      pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)
    torch.manual_seed(0)
    args = trl.SFTConfig(output_dir=str(tmp_path), max_steps=1, per_device_train_batch_size=1, report_to=[],
                         use_cpu=True, save_strategy="no", max_length=None, disable_tqdm=True)
    tr = trl.SFTTrainer(model=AutoModelForCausalLM.from_config(cfg), args=args, train_dataset=ds, processing_class=tok)
    batch = next(iter(tr.get_train_dataloader()))
    i = ds["input_ids"].index(batch["input_ids"][0].tolist())
    assert int((batch["labels"] != -100).sum()) == sum(ds[i]["completion_mask"])  # our mask is what it trains on
    assert tr.train().training_loss > 0
