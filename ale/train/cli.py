"""`ale train rl CONFIG`, `ale train sft CONFIG`, `ale train plot RUN_DIR` (typer app ``app``)."""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional

import typer

from ale.cli_util import fail, interrupted, out_dir

app = typer.Typer(help="Train policies: RL with IPA (and baselines), SFT, plots.", no_args_is_help=True,
                  add_completion=False)


def _done(trainer, out: str, kind: str) -> None:
    """Report a closed trainer's run. Under torchrun the rank then exits without Python's finalisation:
    gloo's worker threads outlive destroy_process_group (DDP keeps the group alive) and may free their
    last collective's tensors after finalisation began, which aborts the rank (SIGABRT, seen in about 1
    run in 25 on a loaded machine). Every file is written and closed by then."""
    if trainer.leader:  # under torchrun, once
        typer.echo(f"done: {out}/metrics.jsonl")
        typer.echo(f"  checkpoints: {out}/checkpoints/ (export: ale train export {out} --out DIR)")
        if trainer.cfg.tensorboard:
            typer.echo(f"  tensorboard: tensorboard --logdir {out}/tb")
        typer.echo(f"  curves: ale train plot {out}")
        if kind == "rl" and trainer.cfg.rollout.save_trajectories:
            typer.echo(f"  episodes: ale traj view {out}/trajectories")
    if trainer.dp is not None:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


def _load(config: str, overrides: list[str], steps: int | None, out: str | None, kind: str):
    from ale.train.config import ConfigError, load_config

    try:
        cfg = load_config(config, overrides, steps=steps, out=out)
    except ConfigError as e:
        fail(str(e))
    if cfg.kind != kind:
        fail(f"{config} is a {cfg.kind} config (kind: {cfg.kind}); use `ale train {cfg.kind}`")
    model = cfg.policy.model
    if model.startswith("hf:") and model[3:].startswith(("/", ".", "~")) and not Path(model[3:]).expanduser().exists():
        fail(f"policy.model: no such folder {model[3:]}")
    out_dir(Path(cfg.out), "out")
    return cfg


def _start(make, cfg, resume: bool):
    """The trainer, after saying whether it resumes (and from where); bad data or a model that does not
    load is one line."""
    from ale.train.trainer import latest_checkpoint

    ckpt = latest_checkpoint(Path(cfg.out)) if resume else None
    if ckpt is not None:
        typer.echo(f"resuming from {ckpt} (--no-resume to start over)", err=True)
    try:
        return make(cfg, resume=resume)
    except (ValueError, FileNotFoundError) as e:  # bad task folder, filter or sft.data: named in the message
        fail(str(e))
    except OSError as e:  # a model folder or name transformers cannot load
        fail(f"cannot load policy.model {cfg.policy.model!r}: {str(e).splitlines()[0]}")


def _train(trainer, cfg) -> None:
    """Run; Ctrl-C closes the trainer and exits 130, naming the last complete checkpoint."""
    from ale.train.trainer import latest_checkpoint

    try:
        trainer.train()
    except KeyboardInterrupt:
        trainer.close()
        ckpt = latest_checkpoint(Path(cfg.out))
        interrupted(int(ckpt.name.split("-")[1]) if ckpt else 0, f"steps saved in {ckpt or cfg.out}")
    except BaseException:
        trainer.close()
        raise
    trainer.close()


@app.command()
def rl(config: str = typer.Argument(..., help="YAML config"),
       overrides: Optional[list[str]] = typer.Argument(None, help="key=value overrides, e.g. algo.gamma=0.9"),
       steps: Optional[int] = typer.Option(None, min=1, help="number of RL steps (overrides `steps`)"),
       out: Optional[str] = typer.Option(None, help="run folder (overrides `out`)"),
       resume: bool = typer.Option(True, help="continue from the run folder's latest checkpoint if there is one (said when it does)")):
    """Run RL steps; writes OUT/metrics.jsonl, TensorBoard logs and checkpoints. Ctrl-C exits 130 (re-run to resume).

    Data-parallel: torchrun --nproc_per_node G -m ale.cli train rl CONFIG distributed.strategy=ddp (or fsdp)."""
    cfg = _load(config, overrides or [], steps, out, "rl")
    from ale.train.trainer import RLTrainer

    trainer = _start(RLTrainer, cfg, resume)
    _train(trainer, cfg)
    _done(trainer, cfg.out, "rl")


@app.command()
def sft(config: str = typer.Argument(..., help="YAML config"),
        overrides: Optional[list[str]] = typer.Argument(None, help="key=value overrides"),
        steps: Optional[int] = typer.Option(None, min=1, help="number of optimiser steps"),
        out: Optional[str] = typer.Option(None, help="run folder"),
        resume: bool = typer.Option(True, help="continue from the latest checkpoint if there is one (said when it does)")):
    """Supervised fine-tuning on agent trajectories (the report's chunk-masked NLL). Ctrl-C exits 130.

    Data-parallel: torchrun --nproc_per_node G -m ale.cli train sft CONFIG distributed.strategy=ddp (or fsdp)."""
    cfg = _load(config, overrides or [], steps, out, "sft")
    from ale.train.trainer import SFTTrainer

    trainer = _start(SFTTrainer, cfg, resume)
    vocab = trainer.model.get_input_embeddings().num_embeddings
    top = max(max(r["input_ids"]) for r in trainer.rows)
    if top >= vocab:  # a training step would fail deep in the embedding with an IndexError
        trainer.close()
        fail(f"sft.data: token id {top} is outside the policy's vocabulary ({vocab} ids): the trajectories were "
             f"made with another tokenizer than {cfg.policy.model!r}")
    _train(trainer, cfg)
    _done(trainer, cfg.out, "sft")


@app.command()
def export(run_dir: Path = typer.Argument(..., help="a training run folder (its --out)"),
           out: Path = typer.Option(..., help="folder for the Hugging Face model (config, weights, tokenizer)"),
           step: Optional[int] = typer.Option(None, min=0, help="checkpoint step (default: the latest)")):
    """Export a checkpoint as a Hugging Face folder: evaluate it with `ale bench run --agent hf:OUT` (or
    --agent ckpt:RUN_DIR), or run it with `ale agent run --model hf:OUT`."""
    os.environ.setdefault("TQDM_DISABLE", "1")  # transformers' loading/saving bars (read when tqdm is imported)
    from ale.train.export import checkpoint_of, export as do_export

    try:
        checkpoint_of(run_dir, step)  # before the model loads: a wrong folder or step is one line
    except FileNotFoundError as e:
        fail(str(e))
    path = do_export(run_dir, out_dir(out), step)
    typer.echo(f"exported {run_dir} to {path}; evaluate: ale bench run --tasks TASKS --agent hf:{path}")


@app.command()
def recipe(config: str = typer.Argument(..., help="recipe YAML (see examples/recipes/)"),
           overrides: Optional[list[str]] = typer.Argument(None, help="key=value overrides, e.g. seeds=[0,1,2]"),
           out: str = typer.Option(..., help="run folder (summary.json, results.png, one folder per seed)")):
    """Expert data -> SFT -> RL arms -> held-out evaluation, per seed (ale/train/recipe.py).

    Prints the held-out success before and after RL per arm and writes OUT/summary.json."""
    from ale.train.config import ConfigError
    from ale.train.recipe import load_recipe, print_summary, run_recipe

    try:
        rc = load_recipe(config, overrides or [])
    except ConfigError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2)
    print_summary(run_recipe(rc, out))


@app.command()
def plot(run_dir: str = typer.Argument(..., help="a run folder with metrics.jsonl"),
         out: Optional[str] = typer.Option(None, help="PNG path (default RUN_DIR/curves.png)")):
    """Draw the run's curves to a PNG."""
    from ale.train.metrics import plot_run

    try:
        path = plot_run(run_dir, out)
    except (FileNotFoundError, ValueError) as e:
        fail(str(e))
    typer.echo(str(path))


if __name__ == "__main__":
    app()
