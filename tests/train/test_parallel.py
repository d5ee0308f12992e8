"""Data-parallel training under torchrun (ale.train.parallel): G ranks on CPU (gloo over 127.0.0.1) give
the single-process run's losses, gradient norms and weights, up to float summation order."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from ale.train.cli import app
from ale.train.trainer import RLTrainer

from conftest import REPO, TEST_OVERRIDES, tiny_rl_config

SFT = [str(REPO / "examples" / "cpu-tiny" / "sft.yaml"), "sft.drop_errored_chunks=false", "sft.epochs=3",
       "progress=false", "torch_threads=1", "tensorboard=false"]
RL = [str(REPO / "examples" / "cpu-tiny" / "rl.yaml"), *TEST_OVERRIDES, "rollout.n_samples=3", "resample.fraction=0.34"]


@pytest.fixture(scope="module")
def trajectories(tmp_path_factory) -> Path:
    """Four harness trajectories from real sandbox episodes (half expert replays, half the tiny policy)."""
    out = tmp_path_factory.mktemp("rl")
    rl = RLTrainer(tiny_rl_config(out, "rollout.n_samples=4", "resample.fraction=0.5", "rollout.save_trajectories=true"))
    try:
        episodes, _ = rl.collect(1)
        rl.save_trajectories(1, episodes)
    finally:
        rl.close()
    return out / "trajectories"


def single(kind: str, args: list[str], out: Path) -> None:
    r = CliRunner().invoke(app, [kind, *args, "--out", str(out)])
    assert r.exit_code == 0, r.output


def torchrun(kind: str, args: list[str], out: Path, strategy: str, ranks: int = 2) -> None:
    with socket.socket() as s:  # a free loopback port for the rendezvous
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "GLOO_SOCKET_IFNAME": "lo"}
    p = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(ranks),
                        "--master_addr", "127.0.0.1", "--master_port", str(port), "-m", "ale.cli", "train", kind,
                        *args, f"distributed.strategy={strategy}", "--out", str(out)],
                       env=env, capture_output=True, text=True, timeout=600, cwd=REPO)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    assert p.stdout.count("done:") == 1  # the leader reports, once


def metrics(out: Path) -> list[tuple[int, float, float]]:
    return [(r["step"], r["loss"], r["grad_norm"]) for r in map(json.loads, (out / "metrics.jsonl").read_text().splitlines())]


def assert_same_run(a: Path, b: Path, step: int) -> None:
    ma, mb = metrics(a), metrics(b)
    assert [m[0] for m in ma] == [m[0] for m in mb] == list(range(1, step + 1))
    for (_, la, ga), (_, lb, gb) in zip(ma, mb):
        assert lb == pytest.approx(la, rel=1e-5) and gb == pytest.approx(ga, rel=1e-5)
    wa = torch.load(a / "checkpoints" / f"step-{step}" / "model.pt")
    wb = torch.load(b / "checkpoints" / f"step-{step}" / "model.pt")
    assert wa.keys() == wb.keys()
    assert max(float((wa[k] - wb[k]).abs().max()) for k in wa) < 1e-5


def test_sft_ddp_and_fsdp_match_one_process(trajectories, tmp_path):
    # 3 rows over 2 ranks: uneven slices; the loss's token-mean is over the whole batch
    args = [*SFT, f"sft.data=[{trajectories}]", "sft.batch_size=3", "--steps", "2"]
    single("sft", args, tmp_path / "one")
    for strategy in ("ddp", "fsdp"):
        torchrun("sft", args, tmp_path / strategy, strategy)
        assert_same_run(tmp_path / "one", tmp_path / strategy, 2)
    assert metrics(tmp_path / "one")[1][1] != metrics(tmp_path / "one")[0][1]  # two different batches compared


def test_rl_ddp_matches_one_process_in_real_sandboxes(tmp_path):
    # the leader samples in sandboxes exactly as one process would; both ranks train on its rows
    single("rl", [*RL, "--steps", "2"], tmp_path / "one")
    torchrun("rl", [*RL, "--steps", "2"], tmp_path / "ddp", "ddp")
    assert_same_run(tmp_path / "one", tmp_path / "ddp", 2)


@pytest.mark.slow
def test_rl_fsdp_matches_one_process(tmp_path):
    single("rl", [*RL, "--steps", "2"], tmp_path / "one")
    torchrun("rl", [*RL, "--steps", "2"], tmp_path / "fsdp", "fsdp")
    assert_same_run(tmp_path / "one", tmp_path / "fsdp", 2)


@pytest.mark.slow
@pytest.mark.parametrize("strategy", ["ddp", "fsdp"])
def test_a_rank_without_rows_still_joins_the_update(trajectories, tmp_path, strategy):
    args = [*SFT, f"sft.data=[{trajectories}]", "sft.batch_size=2", "--steps", "2"]  # 2 rows, 3 ranks
    single("sft", args, tmp_path / "one")
    torchrun("sft", args, tmp_path / strategy, strategy, ranks=3)
    assert_same_run(tmp_path / "one", tmp_path / strategy, 2)


@pytest.mark.slow
def test_checkpoints_resume_across_strategies(trajectories, tmp_path):
    # full (unsharded) state in torch's own layout: fsdp -> one process and one process -> fsdp
    args = [*SFT, f"sft.data=[{trajectories}]", "sft.batch_size=3"]
    single("sft", [*args, "--steps", "3"], tmp_path / "one")
    torchrun("sft", [*args, "--steps", "2"], tmp_path / "a", "fsdp")
    single("sft", [*args, "--steps", "3"], tmp_path / "a")
    single("sft", [*args, "--steps", "2"], tmp_path / "b")
    torchrun("sft", [*args, "--steps", "3"], tmp_path / "b", "fsdp")
    for run in ("a", "b"):
        assert_same_run(tmp_path / "one", tmp_path / run, 3)


def test_strategy_outside_torchrun_is_a_clear_error(trajectories, tmp_path, monkeypatch):
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(key, raising=False)
    r = CliRunner().invoke(app, ["sft", *SFT, f"sft.data=[{trajectories}]", "distributed.strategy=ddp", "--out", str(tmp_path)])
    assert r.exit_code == 2
    assert "runs under torchrun" in r.output and "--nproc_per_node" in r.output
