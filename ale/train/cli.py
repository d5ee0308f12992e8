"""`ale train rl CONFIG`, `ale train sft CONFIG`, `ale train plot RUN_DIR` (typer app ``app``)."""
from __future__ import annotations

import os
import sys
from typing import Optional

import typer

app = typer.Typer(help="Train policies: RL with IPA (and baselines), SFT, plots.", no_args_is_help=True,
                  add_completion=False)


def _done(trainer, out: str) -> None:
    """Report a closed trainer's run. Under torchrun the rank then exits without Python's finalisation:
    gloo's worker threads outlive destroy_process_group (DDP keeps the group alive) and may free their
    last collective's tensors after finalisation began, which aborts the rank (SIGABRT, seen in about 1
    run in 25 on a loaded machine). Every file is written and closed by then."""
    if trainer.leader:  # under torchrun, once
        typer.echo(f"done: {out}/metrics.jsonl")
    if trainer.dp is not None:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


def _load(config: str, overrides: list[str], steps: int | None, out: str | None, kind: str):
    from ale.train.config import ConfigError, load_config

    try:
        cfg = load_config(config, overrides, steps=steps, out=out)
    except ConfigError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2)
    if cfg.kind != kind:
        typer.echo(f"error: {config} is a {cfg.kind} config (kind: {cfg.kind}); use `ale train {cfg.kind}`", err=True)
        raise typer.Exit(2)
    return cfg


@app.command()
def rl(config: str = typer.Argument(..., help="YAML config"),
       overrides: Optional[list[str]] = typer.Argument(None, help="key=value overrides, e.g. algo.gamma=0.9"),
       steps: Optional[int] = typer.Option(None, help="number of RL steps (overrides `steps`)"),
       out: Optional[str] = typer.Option(None, help="run folder (overrides `out`)"),
       resume: bool = typer.Option(True, help="continue from the run folder's latest checkpoint if there is one")):
    """Run RL steps; writes OUT/metrics.jsonl, TensorBoard logs and checkpoints.

    Data-parallel: torchrun --nproc_per_node G -m ale.cli train rl CONFIG distributed.strategy=ddp (or fsdp)."""
    cfg = _load(config, overrides or [], steps, out, "rl")
    from ale.train.trainer import RLTrainer

    try:
        trainer = RLTrainer(cfg, resume=resume)
    except ValueError as e:  # bad task folder or filter: named in the message
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2)
    try:
        trainer.train()
    finally:
        trainer.close()
    _done(trainer, cfg.out)


@app.command()
def sft(config: str = typer.Argument(..., help="YAML config"),
        overrides: Optional[list[str]] = typer.Argument(None, help="key=value overrides"),
        steps: Optional[int] = typer.Option(None, help="number of optimiser steps"),
        out: Optional[str] = typer.Option(None, help="run folder"),
        resume: bool = typer.Option(True, help="continue from the latest checkpoint if there is one")):
    """Supervised fine-tuning on agent trajectories (the report's chunk-masked NLL).

    Data-parallel: torchrun --nproc_per_node G -m ale.cli train sft CONFIG distributed.strategy=ddp (or fsdp)."""
    cfg = _load(config, overrides or [], steps, out, "sft")
    from ale.train.trainer import SFTTrainer

    try:
        trainer = SFTTrainer(cfg, resume=resume)
    except (ValueError, FileNotFoundError) as e:  # missing or empty sft.data
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2)
    try:
        trainer.train()
    finally:
        trainer.close()
    _done(trainer, cfg.out)


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
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2)
    typer.echo(str(path))


if __name__ == "__main__":
    app()
