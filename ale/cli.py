"""The `ale` command: one subcommand per part of the ecosystem.

The parts' CLIs load lazily: `ale --help` lists them from LAZY without importing them, and a command
imports only its own part (`ale sandbox run` never loads the agent, bench or training code)."""

from __future__ import annotations

import importlib

import typer
from typer.core import TyperGroup

# name -> (module, typer app in it, the line `ale --help` shows; tests/test_ale_command.py checks it is the app's)
LAZY = {
    "sandbox": ("ale.sandbox.cli", "app", "Isolated Linux sandboxes: run, serve, list, stop, gc, images."),
    "agent": ("ale.agent.cli", "agent_app", "Run the agent harness."),
    "traj": ("ale.agent.cli", "traj_app", "Inspect trajectory files."),
    "bench": ("ale.bench.cli", "app", "Tasks and evaluation: validate, run, generate."),
    "train": ("ale.train.cli", "app", "Train policies: RL with IPA (and baselines), SFT, plots."),
    "data": ("ale.data.cli", "app", "Training data: synthesise and review tasks, teacher rollouts, verify/filter, "
                                    "export, select the RL set."),
    "safety": ("ale.safety.cli", "app", "Safety: audit trajectories for forbidden behaviours, red-team tasks, "
                                        "evaluate models."),
}


def load_part(name: str):
    """The click command of a lazily registered part."""
    module, attr, _ = LAZY[name]
    part = getattr(importlib.import_module(module), attr)
    part._add_completion = False  # mounted, not a program of its own (as add_typer would have it)
    cmd = typer.main.get_command(part)
    cmd.name = name
    return cmd


class _LazyGroup(TyperGroup):
    def list_commands(self, ctx):
        return [*LAZY, *super().list_commands(ctx)]

    def get_command(self, ctx, name):
        if name in LAZY:  # for listing: a stand-in with the help line (resolve_command loads the real one)
            return TyperGroup(name=name, help=LAZY[name][2])
        return super().get_command(ctx, name)

    def resolve_command(self, ctx, args):
        if args and args[0] in LAZY:
            return args[0], load_part(args[0]), args[1:]
        return super().resolve_command(ctx, args)


app = typer.Typer(cls=_LazyGroup, help="ALE: sandboxes, agents, benchmarks and RL training for terminal agents.",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False,
                  rich_markup_mode=None)  # plain help here: rich's help renderer alone costs ~100 ms to import


@app.callback()
def _root() -> None:
    """ALE: sandboxes, agents, benchmarks and RL training for terminal agents."""  # keeps a group of one command


@app.command()
def demo(out: str = typer.Option("runs/demo", help="run folder for the training part"),
         overrides: list[str] = typer.Argument(None, help="key=value overrides of examples/recipes/demo.yaml, "
                                                      "e.g. rl.steps=10")) -> None:
    """Run ALE's main job on the embedded default (no Docker, no GPU, no server): a sandbox at work, then
    SFT and IPA on generated tasks, with held-out success before and after RL."""
    from rich.console import Console

    from .demo import sandbox_demo, training_demo

    console = Console()
    sandbox_demo(console)
    training_demo(console, out, overrides or [])


if __name__ == "__main__":
    app()
