"""`ale sandbox run`: one command in a throwaway sandbox, and that command's fast path past typer.

`ale` hands `sandbox run` to ``fast`` before it imports typer (ale/cli.py ``main``): typer's import
(~100 ms, pydantic included) and its per-call validation of every option (~100 ms for these ten, on the
loaded 2-core machine) were most of the command's time (docs/benchmarks.md, cli). ``fast`` takes only
the ordinary well-formed case; ``--help``, an unknown option, a missing or bad value, no ``--``: it
declines (None) and the typer command (ale/sandbox/cli.py ``run``), which runs the same ``run_command``,
answers with its usual help and one-line errors.

With ``--url`` or ALE_SANDBOX_URL the run goes to that service instead (ale/sandbox/thin.py), and this
module's imports stay light enough for that: asyncio and the sandbox's own modules load in
``run_command`` only.
"""
from __future__ import annotations

import os
import sys

# option -> (SandboxSpec field, or the run's own setting, converter); the typer command ale/sandbox/cli.py
# `run` has the same
OPTIONS = {"--image": ("image", str), "--network": ("network", str), "--memory": ("memory", str),
           "--pids": ("pids", int), "--cpus": ("cpus", float), "--disk": ("disk", str),
           "--workdir": ("workdir", str), "--timeout": (None, float), "--url": (None, str), "--token-file": (None, str)}


class _Err:
    """stderr through rich, loaded on the first message (~90 ms of imports a silent run does not pay)."""

    def print(self, *args, **kw) -> None:
        from rich.console import Console

        Console(stderr=True).print(*args, **kw)


err = _Err()


def fail_line(msg: str) -> None:
    err.print(f"[red]error:[/red] {msg}", markup=True, highlight=False, soft_wrap=True)


def run_command(spec, command: list[str], timeout: float) -> int:
    """Create the sandbox (a SandboxSpec), run `command` with its output streamed here, remove the sandbox;
    the command's exit code (124 on timeout; after a guard stop its code, else 137; 125 when the sandbox
    could not run it)."""
    import asyncio

    from .manager import SandboxManager
    from .spec import SandboxError

    def stream(no: int, data: bytes) -> None:
        out = sys.stdout.buffer if no == 1 else sys.stderr.buffer
        out.write(data)
        out.flush()

    async def go() -> int:
        m = SandboxManager()
        try:
            info = await m.create(spec)
            r = await m.execute(info.id, command, timeout=timeout, stream=stream)
            await asyncio.sleep(0)  # let a guard action scheduled by the final check land
            if r.guard and r.guard.action != "record":
                err.print(f"[red]stopped by the guard ({r.guard.action}):[/red] {r.guard.reason}")
                return r.exit_code if r.exit_code > 0 else 137
            if r.timed_out:
                err.print(f"[yellow]timed out after {timeout:g}s[/yellow]")
            return r.exit_code
        finally:
            await m.close()

    try:
        return asyncio.run(go())
    except SandboxError as e:
        fail_line(e.message)
        return 125
    except KeyboardInterrupt:  # asyncio.run cancelled go(): the sandbox is gone
        return 130


def fast(args: list[str]) -> int | None:
    """`ale sandbox run ARGS` run without typer, or None to leave ARGS to the typer command."""
    if "--" not in args:
        return None
    i = args.index("--")
    opts, command = args[:i], args[i + 1:]
    fields: dict = {"env": {}, "idle_ttl": None}
    run = {"--timeout": 600.0, "--url": os.environ.get("ALE_SANDBOX_URL"), "--token-file": None}
    k = 0
    while k < len(opts):
        name, eq, value = opts[k].partition("=")
        if not eq:
            if k + 1 >= len(opts):
                return None
            value, k = opts[k + 1], k + 1
        k += 1
        if name in ("--env", "-e"):
            key, sep, val = value.partition("=")
            if not sep:
                return None
            fields["env"][key] = val
            continue
        if name not in OPTIONS or value.startswith("-"):
            return None
        field, convert = OPTIONS[name]
        try:
            converted = convert(value)
        except ValueError:
            return None
        if field is None:
            run[name] = converted
        else:
            fields[field] = converted
    if not command or fields.get("network", "none") not in ("none", "egress", "host"):
        return None
    if run["--url"]:  # the service checks the spec (a bad value: its one-line 422 message)
        from .thin import run_remote

        return run_remote(run["--url"], run["--token-file"], fields, command, run["--timeout"])
    if run["--token-file"]:
        return None  # the typer command says it needs --url
    from .spec import SandboxSpec

    try:
        spec = SandboxSpec(**fields)
    except ValueError:  # the typer command says it as one line naming the option
        return None
    return run_command(spec, command, run["--timeout"])
