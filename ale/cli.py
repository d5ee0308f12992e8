"""The `ale` command: one subcommand per part of the ecosystem.

The parts' CLIs load lazily: `ale --help` lists them from LAZY without importing them, and a command
imports only its own part (`ale sandbox run` never loads the agent, bench or training code). ``main``,
the entry point, answers `ale --help` and the ordinary `ale sandbox run ... -- CMD` before importing typer
at all (ale.sandbox.oneshot.fast); everything else goes to the typer app ``app``, built on first use."""

from __future__ import annotations

import gc
import importlib
import os
import sys

HELP = "ALE: sandboxes, agents, benchmarks and RL training for terminal agents."
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
DEMO_HELP = ("Run ALE's main job on the embedded default (no Docker, no GPU, no server): a sandbox at work, then SFT "
             "and IPA on generated tasks, with held-out success before and after RL.")


def main(prog: str | None = None) -> None:
    """The `ale` console script."""
    args = sys.argv[1:]
    if args == ["--help"]:  # typer's own rendering of this costs its import (~100 ms)
        print(root_help(prog or os.path.basename(sys.argv[0])))
        return
    if args[:2] == ["sandbox", "run"]:
        from ale.sandbox.oneshot import fast

        code = fast(args[2:])
        if code is not None:
            # The interpreter's last collection at exit walks every object the imports made (~15 ms of a
            # ~170 ms command, docs/benchmarks.md): frozen objects are left to the process's end instead.
            gc.freeze()
            sys.exit(code)
    _app()(prog_name=prog)


def root_help(prog: str) -> str:
    """`ale --help` laid out as click does (commands in LAZY's order, then demo), each line whole (click cuts
    them at ~45 characters), wrapped at 78 columns."""
    import textwrap

    names = [*LAZY, "demo"]
    indent = " " * (max(map(len, names)) + 4)
    lines = [f"Usage: {prog} [OPTIONS] COMMAND [ARGS]...", "", f"  {HELP}", "", "Options:",
             "  --help  Show this message and exit.", "", "Commands:"]
    for name in names:
        first = f"  {name}".ljust(len(indent)) + (LAZY[name][2] if name in LAZY else DEMO_HELP)
        lines += textwrap.wrap(first, 78, subsequent_indent=indent)
    return "\n".join(lines)


def __getattr__(name: str):  # `app`: the typer app, built (typer imported) on first use
    if name != "app":
        raise AttributeError(name)
    return _app()


_APP = None


def _app():
    global _APP
    if _APP is None:
        _APP = _typer_app()
    return _APP


def load_part(name: str):
    """The click command of a lazily registered part."""
    import typer

    module, attr, _ = LAZY[name]
    part = getattr(importlib.import_module(module), attr)
    part._add_completion = False  # mounted, not a program of its own (as add_typer would have it)
    cmd = typer.main.get_command(part)
    cmd.name = name
    return cmd


def _typer_app():
    import typer
    from typer.core import TyperGroup

    class LazyGroup(TyperGroup):
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

    root = typer.Typer(cls=LazyGroup, help=HELP, no_args_is_help=True, pretty_exceptions_enable=False,
                       add_completion=False, rich_markup_mode=None)  # plain help: rich's help renderer costs ~100 ms

    @root.callback()
    def _root() -> None:
        """ALE: sandboxes, agents, benchmarks and RL training for terminal agents."""  # keeps a group of one command

    @root.command(help=DEMO_HELP)
    def demo(out: str = typer.Option("runs/demo", help="run folder for the training part"),
             overrides: list[str] = typer.Argument(None, help="key=value overrides of examples/recipes/demo.yaml, "
                                                          "e.g. rl.steps=10")) -> None:
        from rich.console import Console

        from .demo import sandbox_demo, training_demo

        console = Console()
        sandbox_demo(console)
        training_demo(console, out, overrides or [])

    return root


if __name__ == "__main__":
    main("python -m ale.cli")
