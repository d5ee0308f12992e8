"""`ale demo`: the main job on the embedded default (no Docker, no GPU, no server)."""

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
