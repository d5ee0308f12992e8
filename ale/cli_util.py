"""What the agent, bench and train CLIs share: one-line errors on stderr, output paths checked before any
expensive work, fresh run folders under runs/, the interrupt line, and ckpt: model specs. (The sandbox CLI
keeps its own: the sandbox uses nothing else of ours.)"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import NoReturn

import typer

INTERRUPTED = 130  # the shell's code for a command ended by SIGINT


def fail(msg: str, code: int = 2) -> NoReturn:
    """One clear line on stderr (a library's multi-line message joined), then exit (2: bad usage or input)."""
    typer.echo("error: " + " ".join(part.strip() for part in msg.splitlines() if part.strip()), err=True)
    raise typer.Exit(code)


def interrupted(saved: int, what: str = "saved") -> NoReturn:
    typer.echo(f"interrupted; {saved} {what}; re-run to resume", err=True)
    raise typer.Exit(INTERRUPTED)


def out_file(path: Path, option: str = "--out") -> Path:
    """A file the command will write at the end: checked now (its folder created), so a typo fails at
    once instead of after the work."""
    if path.is_dir():
        fail(f"{option} {path}: is a folder, not a file")
    out_dir(path.parent if str(path.parent) else Path("."), option, shown=path)
    return path


def out_dir(path: Path, option: str = "--out", shown: Path | None = None) -> Path:
    """A folder the command will write into (created with its parents)."""
    shown = shown or path
    for p in (path, *path.parents):
        if p.exists() and not p.is_dir():
            fail(f"{option} {shown}: {p} is not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        fail(f"{option} {shown}: cannot create {path} ({e.strerror})")
    if not os.access(path, os.W_OK):
        fail(f"{option} {shown}: {path} is not writable")
    return path


def fresh_run_dir(kind: str, create: bool = True, root: Path = Path("runs")) -> Path:
    """runs/KIND-YYYYmmdd-HHMMSS (a suffix when taken): a default output never overwrites an earlier run.
    create=False: only the name (the caller creates it when it has something to write)."""
    stem = root / f"{kind}-{time.strftime('%Y%m%d-%H%M%S')}"
    path, n = stem, 1
    while path.exists():
        n += 1
        path = stem.with_name(f"{stem.name}-{n}")
    return out_dir(path) if create else path


def checkpoint_model(spec: str, option: str) -> str:
    """ckpt:RUN[@STEP] or ckpt:RUN/checkpoints/step-N -> hf:FOLDER, the checkpoint exported once (with its
    tokenizer) to RUN/export/step-N; a wrong run or step is one line. The CLIs compose the parts here:
    ale.agent and ale.bench themselves do not use ale.train (train uses them)."""
    os.environ.setdefault("TQDM_DISABLE", "1")  # transformers' loading/saving bars
    from ale.train.export import cached_export, checkpoint_of

    run, _, step = spec[5:].partition("@")
    path = Path(run)
    if not step and path.parent.name == "checkpoints" and path.name.startswith("step-"):
        run, step = str(path.parent.parent), path.name[5:]
    if step and not step.isdigit():
        fail(f"{option} {spec}: the step must be a number (ckpt:RUN@N or ckpt:RUN/checkpoints/step-N)")
    try:
        checkpoint_of(Path(run), int(step) if step else None)
    except FileNotFoundError as e:
        fail(f"{option} {spec}: {e}")
    folder = cached_export(run, int(step) if step else None)
    typer.echo(f"loading {spec} as hf:{folder}", err=True)
    return f"hf:{folder}"
