"""`ale train` as a user meets it: one clear line on stderr for a model or data that cannot work (before
any training), a resumed run says so, Ctrl-C exits 130 naming the last checkpoint. Real tiny SFT runs on
hand-made trajectory files (SFT needs no sandbox, so these stay fast)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ale.agent.trajectory import ModelTurn, Trajectory
from ale.train.cli import app

from conftest import REPO, TINY_RL

runner = CliRunner()
SFT = REPO / "examples" / "cpu-tiny" / "sft.yaml"
FAST = ["progress=false", "tensorboard=false", "torch_threads=1", "sft.batch_size=1"]



def _sigint_default() -> None:
    """The child takes Ctrl-C as a user's shell gives it (a background job of a script starts with it ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def write_traj(path: Path, top_id: int) -> Path:
    """A trajectory file as the harness writes it: one model turn whose ids reach `top_id`."""
    t = Trajectory(task="t", model="m")
    t.turns.append(ModelTurn(index=0, prompt_ids=[10, 11, 12], response_ids=[13, top_id], logprobs=[-1.0, -1.0]))
    t.finalize_tokens()
    path.parent.mkdir(parents=True, exist_ok=True)
    t.save(path)
    return path


def error_lines(r) -> list[str]:
    assert "Traceback" not in r.output, r.output
    return [ln for ln in r.stderr.splitlines() if ln.strip()]


def test_missing_model_folder_is_one_line_before_loading(tmp_path):
    r = runner.invoke(app, ["rl", str(TINY_RL), "policy.model=hf:/nonexistent", "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and error_lines(r) == ["error: policy.model: no such folder /nonexistent"]


def test_unloadable_model_is_one_line(tmp_path):
    (tmp_path / "m").mkdir()  # a folder, but no model in it
    r = runner.invoke(app, ["sft", str(SFT), f"sft.data=[{write_traj(tmp_path / 'd' / 'a.json', 14)}]",
                            f"policy.model=hf:{tmp_path / 'm'}", *FAST, "--out", str(tmp_path / "o")])
    lines = error_lines(r)
    assert r.exit_code == 2 and len(lines) == 1 and "tokenizer" in lines[0]


def test_trajectories_of_another_tokenizer_are_one_line(tmp_path):
    data = write_traj(tmp_path / "d" / "a.json", 49_000)  # a SmolLM2-sized id; the tiny policy has ~260
    r = runner.invoke(app, ["sft", str(SFT), f"sft.data=[{data}]", *FAST, "--out", str(tmp_path / "o")])
    lines = error_lines(r)
    assert r.exit_code == 2 and len(lines) == 1
    assert lines[0].startswith("error: sft.data: token id 49000 is outside the policy's vocabulary (")
    assert lines[0].endswith("ids): the trajectories were made with another tokenizer than 'tiny'")


def test_resume_is_announced(tmp_path):
    data = write_traj(tmp_path / "d" / "a.json", 14)
    args = ["sft", str(SFT), f"sft.data=[{data}]", *FAST, "sft.epochs=10", "--out", str(tmp_path / "o")]
    r = runner.invoke(app, [*args, "--steps", "1"])
    assert r.exit_code == 0 and error_lines(r) == [] and f"tensorboard" not in r.output and "ale train plot" in r.output
    r = runner.invoke(app, [*args, "--steps", "2"])
    assert r.exit_code == 0
    assert error_lines(r) == [f"resuming from {tmp_path / 'o' / 'checkpoints' / 'step-1'} (--no-resume to start over)"]
    r = runner.invoke(app, [*args, "--steps", "1", "--no-resume"])
    assert r.exit_code == 0 and error_lines(r) == []


def test_ctrl_c_exits_130_naming_the_last_checkpoint(tmp_path):
    data = write_traj(tmp_path / "d" / "a.json", 14)
    out = tmp_path / "o"
    p = subprocess.Popen(preexec_fn=_sigint_default, args=[sys.executable, "-m", "ale.cli", "train", "sft", str(SFT), f"sft.data=[{data}]", *FAST,
                          "sft.epochs=100000", "checkpoint_every=1", "--steps", "100000", "--out", str(out)],
                         cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                         env={**os.environ, "PYTHONPATH": str(REPO)})
    deadline = time.time() + 120
    # any complete checkpoint past step 1 (a step takes milliseconds: step-2 itself is soon rotated away)
    while not any(c.name.split("-")[1].isdigit() and int(c.name.split("-")[1]) >= 2
                  for c in (out / "checkpoints").glob("step-*")):
        if p.poll() is not None or time.time() > deadline:
            p.kill()
            pytest.fail(f"no checkpoint within 120 s: {p.communicate()[1]}")
        time.sleep(0.1)
    t0 = time.time()
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 130 and time.time() - t0 < 8, err
    last = err.strip().splitlines()[-1]
    assert last.startswith("interrupted; ") and last.endswith("; re-run to resume") and f"steps saved in {out}/checkpoints/step-" in last


def test_progress_bar_shows_time_remaining(tmp_path):
    data = write_traj(tmp_path / "d" / "a.json", 14)
    r = subprocess.run([sys.executable, "-m", "ale.cli", "train", "sft", str(SFT), f"sft.data=[{data}]", "tensorboard=false",
                        "torch_threads=1", "sft.batch_size=1", "sft.epochs=10", "--steps", "3", "--out", str(tmp_path / "o")],
                       cwd=REPO, capture_output=True, text=True, timeout=120,
                       env={**os.environ, "PYTHONPATH": str(REPO), "TTY_COMPATIBLE": "1", "COLUMNS": "200"})
    assert r.returncode == 0 and " eta " in r.stdout and "3/3" in r.stdout, r.stderr


def test_plot_has_integer_step_ticks(tmp_path, monkeypatch):
    import json

    from matplotlib.figure import Figure

    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.jsonl").write_text("".join(json.dumps({"step": s, "loss": 1.0 / s}) + "\n" for s in (1, 2, 3)))
    ticks = []
    save = Figure.savefig

    def spy(fig, *a, **kw):  # the real savefig, after noting the step axis' ticks
        ticks.extend(t for ax in fig.axes if ax.get_xlabel() == "step" for t in ax.get_xticks())
        return save(fig, *a, **kw)

    monkeypatch.setattr(Figure, "savefig", spy)
    r = runner.invoke(app, ["plot", str(run)])
    assert r.exit_code == 0 and (run / "curves.png").exists()
    assert ticks and all(float(t).is_integer() for t in ticks), ticks


@pytest.mark.skipif(os.geteuid() != 0, reason="real sandboxes need root")
def test_export_closes_the_train_evaluate_loop(tmp_path):
    import json

    import torch
    from transformers import AutoModelForCausalLM

    from ale.bench.cli import app as bench_app
    from ale.train.policy import PolicyConfig, load_policy

    data = write_traj(tmp_path / "d" / "a.json", 14)
    run = tmp_path / "run"
    assert runner.invoke(app, ["sft", str(SFT), f"sft.data=[{data}]", *FAST, "--steps", "1", "--out", str(run)]).exit_code == 0
    r = runner.invoke(app, ["export", str(run), "--out", str(tmp_path / "hf")])
    assert r.exit_code == 0 and f"--agent hf:{tmp_path / 'hf'}" in r.stdout
    # the exported weights are the checkpoint's (not the random init)
    exported = AutoModelForCausalLM.from_pretrained(tmp_path / "hf")
    trained = torch.load(run / "checkpoints" / "step-1" / "model.pt")
    fresh, _ = load_policy(PolicyConfig(model="tiny", context_window=16384))
    name = "model.layers.0.self_attn.q_proj.weight"
    assert torch.equal(exported.state_dict()[name], trained[name]) and not torch.equal(fresh.state_dict()[name], trained[name])
    assert json.loads((tmp_path / "hf" / "ale-export.json").read_text())["step"] == 1
    # ... and evaluate as a bench agent, by folder or by run (exported once, then reused)
    (tmp_path / "tasks").mkdir()
    from tests.bench.bench_testkit import write_task  # noqa: E402  (a tiny hand-made task)
    write_task(tmp_path / "tasks", "t")
    for spec in (f"hf:{tmp_path / 'hf'}", f"ckpt:{run}"):
        r = runner.invoke(bench_app, ["run", "--tasks", str(tmp_path / "tasks"), "--agent", spec, "--max-steps", "1",
                                      "--out", str(tmp_path / spec[:4] / "results.json")])
        assert r.exit_code == 0, r.output
        assert json.loads((tmp_path / spec[:4] / "results.json").read_text())["summary"]["n_tasks"] == 1
    assert (run / "export" / "step-1" / "model.safetensors").exists()
    r = runner.invoke(bench_app, ["run", "--tasks", str(tmp_path / "tasks"), "--agent", f"ckpt:{tmp_path}"])
    assert r.exit_code == 2 and error_lines(r) == [f"error: --agent ckpt:{tmp_path}: {tmp_path}: not a training run folder (no config.json)"]


def test_bad_heldout_tasks_are_one_line_before_training(tmp_path):
    r = runner.invoke(app, ["rl", str(TINY_RL), "evaluation.tasks=/nonexistent", "evaluation.every=1", "--out",
                            str(tmp_path / "o")])
    assert r.exit_code == 2 and error_lines(r) == [
        "error: evaluation.tasks: /nonexistent: no such folder (use a task folder, a folder of tasks, 'builtin', "
        "or SWE instance .json)"]
    assert not (tmp_path / "o" / "metrics.jsonl").exists()
    r = runner.invoke(app, ["rl", str(TINY_RL), "evaluation.tasks=builtin", "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and error_lines(r) == ["error: bad config: evaluation.every: Field required (got {'tasks': 'builtin'})"]


@pytest.mark.skipif(os.geteuid() != 0, reason="real sandboxes need root")
def test_rl_logs_heldout_success_every_n_steps(tmp_path, monkeypatch):
    import json

    from matplotlib.figure import Figure

    from conftest import EASY_TASKS, TEST_OVERRIDES

    out = tmp_path / "run"
    r = runner.invoke(app, ["rl", str(TINY_RL), *TEST_OVERRIDES, "agent.max_steps=1", "rollout.n_samples=1",
                            f"evaluation.tasks={EASY_TASKS / 'write-apple'}", "evaluation.every=1",
                            "evaluation.samples=2", "evaluation.temperature=1.0", "--steps", "2", "--out", str(out)])
    assert r.exit_code == 0, r.output
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [rec["step"] for rec in records] == [1, 2]
    for rec in records:  # one task x 2 samples, a rate with its interval, every step
        assert rec["heldout_n"] == 2 and rec["heldout_success"] in (0.0, 0.5, 1.0) and rec["time_eval_s"] > 0
        assert 0.0 <= rec["heldout_ci95_low"] <= rec["heldout_success"] <= rec["heldout_ci95_high"] <= 1.0
    titles = []
    save = Figure.savefig

    def spy(fig, *a, **kw):  # the real savefig, after noting the curves drawn
        titles.extend(ax.get_title() for ax in fig.axes)
        return save(fig, *a, **kw)

    monkeypatch.setattr(Figure, "savefig", spy)
    assert runner.invoke(app, ["plot", str(out)]).exit_code == 0 and "heldout_success" in titles


@pytest.mark.skipif(os.geteuid() != 0, reason="real sandboxes need root")
def test_agent_run_loads_a_runs_checkpoint_with_its_tokenizer(tmp_path):
    from ale.agent.cli import agent_app
    from ale.train.policy import PolicyConfig, load_policy

    data = write_traj(tmp_path / "d" / "a.json", 14)
    run = tmp_path / "run"
    args = ["sft", str(SFT), f"sft.data=[{data}]", *FAST, "sft.epochs=2", "checkpoint_every=1", "--out", str(run)]
    assert runner.invoke(app, [*args, "--steps", "2"]).exit_code == 0
    _, tok = load_policy(PolicyConfig(model="tiny", context_window=2048))
    for spec, step in ((f"ckpt:{run}", 2), (f"ckpt:{run}/checkpoints/step-1", 1)):
        out = tmp_path / f"traj{step}.json"
        r = runner.invoke(agent_app, ["run", "write the word apple", "--model", spec, "--max-steps", "1",
                                      "--temperature", "0", "--quiet", "--out", str(out)])
        assert r.exit_code in (0, 1) and "Traceback" not in r.output, r.output
        assert f"loading {spec} as hf:{run / 'export' / f'step-{step}'}" in r.stderr
        t = Trajectory.load(out)
        assert str(run / "export" / f"step-{step}") in t.model
        # the prompt was tokenised by the run's own (byte-level) tokenizer
        assert "write the word apple" in tok.decode(t.turns[0].prompt_ids)
    r = runner.invoke(agent_app, ["run", "x", "--model", f"ckpt:{run}@7"])
    assert r.exit_code == 2 and error_lines(r) == [f"error: --model ckpt:{run}@7: {run}: no checkpoint for step 7"]
