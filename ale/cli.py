"""The `ale` command: one subcommand per part of the ecosystem."""

from __future__ import annotations

import typer

from .agent.cli import agent_app, traj_app
from .bench.cli import app as bench_app
from .train.cli import app as train_app
from .sandbox.cli import app as sandbox_app
from .safety.cli import app as safety_app
from .data.cli import app as data_app

app = typer.Typer(help="ALE: sandboxes, agents, benchmarks and RL training for terminal agents.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
app.add_typer(sandbox_app, name="sandbox")
app.add_typer(agent_app, name="agent")
app.add_typer(traj_app, name="traj")
app.add_typer(bench_app, name="bench")
app.add_typer(train_app, name="train")
app.add_typer(safety_app, name="safety")
app.add_typer(data_app, name="data")



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
