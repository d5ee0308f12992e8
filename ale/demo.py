"""`ale demo`: the main job on the embedded default (no Docker, no GPU, no server).

First a sandbox at work (isolation, a denied syscall, the guard resetting a fork bomb), then the
whole loop: a tiny policy trained with IPA for a few steps on real tasks in real sandboxes through
the agent harness, with metrics and a plot written under the run folder."""

from __future__ import annotations

import time

from rich.console import Console
from rich.table import Table


def sandbox_demo(console: Console) -> None:
    """Show what a sandbox is: isolated, limited, watched, reset when it misbehaves."""
    from .sandbox import SandboxClient, SandboxSpec

    console.rule("[bold]ALE sandbox")
    with SandboxClient() as client:
        t = time.perf_counter()
        sb = client.create(SandboxSpec(memory="256m", pids=64, disk="128m", cpus=1))
        console.print(f"created sandbox {sb.id} in {1000 * (time.perf_counter() - t):.1f} ms")
        table = Table("command", "exit", "output")
        for cmd in ["id -u; hostname", "ls /work /root 2>&1 | head -2", "ip -o link | cut -d: -f2",
                    "python3 -c 'import ctypes; print(ctypes.CDLL(None).unshare(0x10000000))'"]:
            r = sb.exec(cmd)
            table.add_row(cmd, str(r.exit_code), (r.stdout + r.stderr).strip().replace("\n", " | "))
        console.print(table)
        r = sb.exec(["bash", "-c", ":(){ :|:& };: ; sleep 10"], timeout=15)
        console.print(f"fork bomb -> guard: [bold]{r.guard.action if r.guard else 'none'}[/bold] "
                      f"({r.guard.reason if r.guard else ''})")
        for e in sb.events():
            console.print(f"  event: {e['kind']} {e.get('syscall') or e.get('detail') or e.get('reason') or ''}")
        sb.delete()


def training_demo(console: Console, steps: int, out: str) -> None:
    """A few IPA steps with the tiny CPU config (examples/cpu-tiny/rl.yaml), then the curves as PNG."""
    from pathlib import Path

    from .train.config import load_config
    from .train.metrics import plot_run
    from .train.trainer import RLTrainer

    console.rule("[bold]ALE training: IPA on real tasks in real sandboxes")
    config = Path(__file__).resolve().parent.parent / "examples" / "cpu-tiny" / "rl.yaml"
    cfg = load_config(str(config), [], steps=steps, out=out)
    trainer = RLTrainer(cfg, resume=False)
    try:
        trainer.train()
    finally:
        trainer.close()
    png = plot_run(out, None)
    console.print(f"metrics: {out}/metrics.jsonl   curves: {png}")
