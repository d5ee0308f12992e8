"""`ale demo`: the main job on the embedded default (no Docker, no GPU, no server).

First a sandbox at work (isolation, a denied syscall, the guard resetting a fork bomb), then the
whole loop: a tiny policy is taught by expert trajectories (SFT), then trained with IPA on real
generated tasks in real sandboxes through the agent harness, and scored on held-out tasks before and
after RL (summary.json, curves)."""

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


def training_demo(console: Console, out: str, overrides: list[str] | None = None) -> dict:
    """The report's recipe, small (examples/recipes/demo.yaml): expert data -> SFT -> IPA on generated
    multi-step tasks in real sandboxes, then held-out success before and after RL (summary.json)."""
    from pathlib import Path

    from .train.recipe import load_recipe, print_summary, run_recipe

    console.rule("[bold]ALE training: SFT, then IPA on real tasks in real sandboxes, scored on held-out tasks")
    config = Path(__file__).resolve().parent.parent / "examples" / "recipes" / "demo.yaml"
    summary = run_recipe(load_recipe(config, overrides), out, log=console.print)
    print_summary(summary)
    console.print(f"summary: {out}/summary.json   curves: {out}/results.png   "
                  f"RL run: {out}/seed-0/ipa (metrics.jsonl, `ale train plot`)")
    return summary
