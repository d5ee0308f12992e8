"""`ale sandbox ...`: run a command in a throwaway sandbox, serve the HTTP API, manage images."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from dataclasses import asdict
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from .spec import SandboxError, SandboxSpec

app = typer.Typer(help="Isolated Linux sandboxes: run, serve, list, stop, gc, images.", no_args_is_help=True)
image_app = typer.Typer(help="Images: build (Dockerfile), pull (OCI registry), import (docker save / OCI / rootfs "
                             "tarball), ls, rm. FROM names resolve: local store, image map, registry pull.",
                        no_args_is_help=True)
app.add_typer(image_app, name="image")


from .oneshot import err, fail_line

URL = typer.Option(os.environ.get("ALE_SANDBOX_URL", "http://127.0.0.1:8765"), "--url",
                   help="sandbox service (env ALE_SANDBOX_URL)")
TOKEN = typer.Option(os.environ.get("ALE_SANDBOX_TOKEN"), "--token", help="bearer token (env ALE_SANDBOX_TOKEN)")


def _fail(msg: str, code: int = 2) -> None:
    fail_line(msg)
    raise typer.Exit(code)


class Network(str, Enum):
    none = "none"
    egress = "egress"
    host = "host"


def _spec(**kw) -> SandboxSpec:
    """The options as a SandboxSpec, or one line naming the bad option."""
    try:
        return SandboxSpec(**kw)
    except ValueError as e:  # "FIELD: message", and each field here is the option --FIELD
        _fail(f"--{e}")


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": False})
def run(
    command: Annotated[list[str], typer.Argument(help="the command and its arguments (after --)")],
    image: str = typer.Option("base", "--image", help="image name"),
    network: Network = typer.Option(Network.none, "--network", help="none (loopback only), egress (outside "
                                    "addresses through user-mode networking, never the host) or host"),
    memory: str = typer.Option("1g", "--memory"),
    pids: int = typer.Option(512, "--pids"),
    cpus: float = typer.Option(1.0, "--cpus"),
    disk: str = typer.Option("1g", "--disk"),
    timeout: float = typer.Option(600.0, "--timeout", help="seconds; exit 124 when exceeded"),
    workdir: Optional[str] = typer.Option(None, "--workdir", help="working directory inside the sandbox"),
    env: list[str] = typer.Option([], "--env", "-e", help="KEY=VALUE (repeatable)"),
    url: Optional[str] = typer.Option(None, "--url", help="run it on this sandbox service (`ale sandbox serve`) "
                                      "instead of in this process (env ALE_SANDBOX_URL); output comes at the end"),
    token_file: Optional[Path] = typer.Option(None, "--token-file", help="file holding the service's bearer token "
                                              "(else env ALE_SANDBOX_TOKEN)"),
) -> None:
    """Create an ephemeral sandbox, run CMD in it (output streamed), remove it; exit with CMD's code.
    With --url (or ALE_SANDBOX_URL) a running service does it, which skips this process's start-up of
    the sandbox engine (like `docker run` and dockerd)."""
    from .oneshot import run_command

    bad = [e for e in env if "=" not in e]
    if bad:
        _fail(f"--env wants KEY=VALUE, got {bad[0]!r}")
    url = url or os.environ.get("ALE_SANDBOX_URL")
    if token_file is not None and not url:
        _fail("--token-file is for a service: give --url (or ALE_SANDBOX_URL) too")
    fields = dict(image=image, network=network.value, memory=memory, pids=pids, cpus=cpus, disk=disk,
                  workdir=workdir, env=dict(e.split("=", 1) for e in env), idle_ttl=None)
    spec = _spec(**fields)
    if url:
        from .thin import run_remote

        raise typer.Exit(run_remote(url, str(token_file) if token_file else None, fields, command, timeout))
    raise typer.Exit(run_command(spec, command, timeout))


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="bind address (loopback by default)"),
    port: int = typer.Option(8765, "--port"),
    token_file: Optional[Path] = typer.Option(None, "--token-file",
                                              help="file holding the bearer token (mode 0600; else env "
                                                   "ALE_SANDBOX_TOKEN; else one is generated and printed)"),
    token: Optional[str] = typer.Option(None, "--token", hidden=True),
    no_auth: bool = typer.Option(False, "--no-auth", help="no token at all (refused unless --host is loopback)"),
    max_sandboxes: int = typer.Option(4096, "--max-sandboxes"),
    max_memory: str = typer.Option("64g", "--max-memory", help="cap on one sandbox's memory"),
    max_disk: str = typer.Option("64g", "--max-disk", help="cap on one sandbox's disk"),
    max_cpus: float = typer.Option(64.0, "--max-cpus", help="cap on one sandbox's cpus"),
    max_body: str = typer.Option("128m", "--max-body", help="largest request body (JSON or tar upload)"),
) -> None:
    """Run the HTTP service (FastAPI). Prints the URL (and the token when it generated one)."""
    import socket

    from .server import Caps, serve as _serve
    from .spec import parse_size

    if token is not None:
        _fail("--token is not accepted (every local user sees it in ps): use ALE_SANDBOX_TOKEN or --token-file")
    if token_file is not None:
        try:
            st = token_file.stat()
            if st.st_mode & 0o077:
                _fail(f"{token_file} is readable by other users (mode {st.st_mode & 0o777:o}): chmod 600 it")
            token = token_file.read_text().strip()
        except OSError as e:
            _fail(f"cannot read the token file {token_file}: {e.strerror}")
    elif "ALE_SANDBOX_TOKEN" in os.environ:
        token = os.environ["ALE_SANDBOX_TOKEN"].strip()
    if token is not None and not token and not no_auth:
        _fail("the token is empty: that would turn authentication off (use --no-auth, on loopback only, for that)")
    try:  # a used port fails here, before the ready banner (uvicorn would only log it after)
        with socket.create_server((host, port)):
            pass
    except OSError as e:
        _fail(f"cannot listen on {host}:{port}: {os.strerror(e.errno) if e.errno else e}")
    try:
        caps = Caps(max_body=parse_size(max_body), max_memory=parse_size(max_memory), max_disk=parse_size(max_disk),
                    max_cpus=max_cpus)
        _serve(host=host, port=port, token=token, no_auth=no_auth, caps=caps, max_sandboxes=max_sandboxes)
    except (SandboxError, ValueError) as e:
        _fail(getattr(e, "message", str(e)))


def _check_url(url: str) -> str:
    if not url.startswith(("http://", "https://")):
        _fail(f"--url wants http(s)://HOST:PORT, got {url!r}")
    return url


def _remote(url: str, token: Optional[str]):
    from .client import SandboxClient

    return SandboxClient(_check_url(url), token=token)


def _on_service(url: str, token: Optional[str], action):
    """``action(client)`` against a running service; its errors, or none reachable, as one line."""
    c = _remote(url, token)
    try:
        return action(c)
    except SandboxError as e:
        _fail(e.message)
    except Exception as e:  # connection refused and the like
        _fail(f"cannot reach {url}: {e}")
    finally:
        c.close()


@app.command("ls")
def ls(url: str = URL, token: Optional[str] = TOKEN, as_json: bool = typer.Option(False, "--json")) -> None:
    """List the sandboxes of a running service."""
    infos = _on_service(url, token, lambda c: c.list())
    if as_json:
        print(json.dumps([asdict(i) for i in infos], indent=1))
        return
    from rich.console import Console
    from rich.table import Table

    t = Table("id", "state", "image", "memory", "cpus", "network", "node")
    for i in infos:
        t.add_row(i.id, i.state, i.image, str(i.spec.memory), str(i.spec.cpus), i.spec.network.mode, i.node or "")
    Console().print(t)


@app.command("exec", context_settings={"allow_extra_args": True, "ignore_unknown_options": False})
def exec_(sandbox_id: str, command: Annotated[list[str], typer.Argument(help="the command and its arguments (after --)")],
          url: str = URL, token: Optional[str] = TOKEN,
          timeout: float = typer.Option(600.0, "--timeout", min=0.001, help="seconds; exit 124 when exceeded")) -> None:
    """Run CMD in a sandbox of a running service (like `docker exec`); exit with CMD's code."""
    r = _on_service(url, token, lambda c: c.get(sandbox_id).exec(command, timeout=timeout))
    sys.stdout.write(r.stdout)
    sys.stderr.write(r.stderr)
    raise typer.Exit(r.exit_code if r.exit_code >= 0 else 137)


@app.command()
def shell(sandbox_id: Optional[str] = typer.Argument(None, help="a sandbox of the service at --url (default: a fresh "
                                                               "throwaway sandbox, removed on exit)"),
          url: str = URL, token: Optional[str] = TOKEN,
          image: str = typer.Option("base", "--image", help="image of a fresh sandbox"),
          network: Network = typer.Option(Network.none, "--network", help="network of a fresh sandbox"),
          memory: str = typer.Option("1g", "--memory", help="memory of a fresh sandbox"),
          timeout: float = typer.Option(600.0, "--timeout", min=0.001, help="seconds per command (line mode)")) -> None:
    """A shell in a sandbox, like `docker exec -it ID bash`: from a terminal, bash on a pty of the sandbox
    (job control, window size, Ctrl-C to the foreground job, full-screen programs); `exit` leaves with its
    code. With stdin not a terminal (a pipe), line at a time: one persistent bash session, each line run
    to completion."""
    from .client import AsyncSandboxClient

    fresh = sandbox_id is None
    spec = _spec(image=image, network=network.value, memory=memory, idle_ttl=None) if fresh else None
    if not fresh:
        _check_url(url)
    interactive = sys.stdin.isatty() and sys.stdout.isatty()

    async def go() -> int:
        c = AsyncSandboxClient() if fresh else AsyncSandboxClient(url, token=token)
        sb = None
        try:
            sb = await c.create(spec) if fresh else await c.get(sandbox_id)
            if interactive:
                return await _attach(sb)
            return await _lines(sb, f"{image if fresh else sandbox_id}$ ", timeout)
        finally:
            if fresh and sb is not None:
                await sb.delete()
            await c.close()

    try:
        code = asyncio.run(go())
    except SandboxError as e:
        _fail(e.message)
    except OSError as e:  # connection refused and the like
        _fail(f"cannot reach {url}: {e}")
    except KeyboardInterrupt:
        print()
        code = 130
    raise typer.Exit(code)


async def _attach(sb) -> int:
    """This terminal joined to bash on a pty in the sandbox until it exits: raw mode here (every key, Ctrl-C
    included, goes to the sandbox's terminal), window size changes passed on; its exit code. A hang-up here
    (the window closed: SIGHUP, or end of input) or SIGTERM hangs the sandbox's terminal up too, 128+N."""
    import signal
    import termios
    import tty

    loop = asyncio.get_running_loop()
    fd_in, fd_out = sys.stdin.fileno(), sys.stdout.fileno()
    cols, rows = os.get_terminal_size(fd_out)
    term = await sb.terminal(["bash"], env={"TERM": os.environ.get("TERM", "xterm")}, rows=rows, cols=cols)
    inbox: asyncio.Queue = asyncio.Queue()  # keys and window sizes, sent in order by one task
    ended: asyncio.Future = loop.create_future()  # the signal number that ended this side

    def on_key() -> None:
        try:
            data = os.read(fd_in, 1 << 16)
        except OSError:  # EIO: the terminal is gone
            data = b""
        if data:
            inbox.put_nowait(data)
        else:  # in raw mode only a hang-up ends the input
            loop.remove_reader(fd_in)
            if not ended.done():
                ended.set_result(signal.SIGHUP)

    async def sender() -> None:
        while True:
            item = await inbox.get()
            await (term.resize(*item) if isinstance(item, tuple) else term.write(item))

    async def output() -> None:
        while data := await term.read():
            os.write(fd_out, data)

    saved = termios.tcgetattr(fd_in)
    tty.setraw(fd_in, termios.TCSANOW)  # keys typed ahead are kept (TCSAFLUSH would drop them)
    loop.add_reader(fd_in, on_key)
    loop.add_signal_handler(signal.SIGWINCH, lambda: inbox.put_nowait(tuple(os.get_terminal_size(fd_out))[::-1]))
    for sig in (signal.SIGHUP, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda sig=sig: ended.done() or ended.set_result(sig))
    tasks = [asyncio.ensure_future(sender()), asyncio.ensure_future(output())]
    try:
        await asyncio.wait([tasks[1], ended], return_when=asyncio.FIRST_COMPLETED)
        code = 128 + ended.result() if ended.done() else await term.wait()
    finally:
        for t in tasks:
            t.cancel()
        loop.remove_reader(fd_in)
        for sig in (signal.SIGWINCH, signal.SIGHUP, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        try:
            termios.tcsetattr(fd_in, termios.TCSADRAIN, saved)
        except termios.error:  # the terminal is gone
            pass
        await term.close()
    if code < 0:
        err.print("[yellow]the sandbox stopped[/yellow]")
        return 137
    return code


async def _lines(sb, prompt: str, timeout: float) -> int:
    """stdin not a terminal: one persistent bash session, a line at a time."""
    session = await sb.create_session()
    while True:
        try:
            line = await asyncio.to_thread(input, prompt)
        except EOFError:
            print()
            return 0
        if not line.strip():
            continue
        r = await session.run(line, timeout=timeout)
        sys.stdout.write(r.output if r.output.endswith("\n") or not r.output else r.output + "\n")
        sys.stdout.flush()
        if r.status == "closed":  # the shell exited (`exit`)
            return 0
        if r.status != "completed":
            err.print(f"[yellow]{r.status}[/yellow]")
            await session.interrupt()


@app.command()
def snapshot(sandbox_id: str, url: str = URL, token: Optional[str] = TOKEN) -> None:
    """Snapshot a sandbox of a running service (its files and session state; not its processes);
    prints the snapshot id for `fork --snapshot`."""
    print(_on_service(url, token, lambda c: c.get(sandbox_id).snapshot()))


@app.command()
def fork(sandbox_id: str, n: int = typer.Option(1, "--n", min=1, help="how many sandboxes to start"),
         snapshot_id: Optional[str] = typer.Option(None, "--snapshot",
                                                   help="a snapshot of this sandbox (default: one taken now)"),
         url: str = URL, token: Optional[str] = TOKEN) -> None:
    """Start N sandboxes from a sandbox of a running service, as it is now (or was at --snapshot): its
    files, spec and sessions (cwd, variables, functions, aliases), not its processes. Prints their ids."""
    children = _on_service(url, token, lambda c: c.get(sandbox_id).fork(n=n, snapshot=snapshot_id))
    print("\n".join(child.id for child in children))


@app.command()
def stop(sandbox_id: str, url: str = URL, token: Optional[str] = TOKEN,
         delete: bool = typer.Option(False, "--delete", help="also delete it")) -> None:
    """Stop (and optionally delete) a sandbox of a running service."""
    c = _remote(url, token)
    try:
        sb = c.get(sandbox_id)
        sb.stop()
        if delete:
            sb.delete()
    except SandboxError as e:
        _fail(e.message)
    finally:
        c.close()
    print(f"{'deleted' if delete else 'stopped'} {sandbox_id}")


@app.command()
def gc() -> None:
    """Remove what crashed servers left behind (processes, cgroups, scratch dirs) and unused layers."""
    from .manager import SandboxManager

    async def go():
        m = SandboxManager()
        swept = await asyncio.to_thread(m.sweep)
        removed = await asyncio.to_thread(m.images.gc)
        return swept, removed
    swept, removed = asyncio.run(go())
    print(f"swept {len(swept)} dead server instance(s); removed {len(removed)} unused layer(s)")


@image_app.command("build")
def image_build(
    context: Path = typer.Argument(Path("."), help="build context folder"),
    tag: str = typer.Option(..., "-t", "--tag", help="image name"),
    file: Optional[Path] = typer.Option(None, "-f", "--file", help="Dockerfile (default CONTEXT/Dockerfile)"),
    network: str = typer.Option("none", "--network", help="network for RUN steps: none, egress or host"),
    build_arg: list[str] = typer.Option([], "--build-arg", help="ARG value, NAME=VALUE (repeatable)"),
    image_map: list[str] = typer.Option([], "--image-map", help="use IMAGE where a FROM names NAME: NAME=IMAGE "
                                        "(repeatable; on top of $ALE_HOME/image-map.yaml)"),
) -> None:
    """Build an image from a Dockerfile (FROM .. AS, ARG, ENV, RUN, COPY/ADD incl. --from, WORKDIR, USER,
    SHELL, CMD, ENTRYPOINT), layers cached. A FROM image not in the store is pulled (ALE_PULL=never: not)."""
    from .manager import SandboxManager
    from .oci import parse_image_map_options

    if network not in ("none", "egress", "host"):
        _fail("--network must be none, egress or host")
    args = {}
    for a in build_arg:
        k, eq, v = a.partition("=")
        if not eq or not k:
            _fail(f"--build-arg takes NAME=VALUE, not {a!r}")
        args[k] = v

    async def go():
        m = SandboxManager()
        try:
            return await m.build_image(tag, file or context / "Dockerfile", context, network=network,
                                       log=lambda s: err.print(s), build_args=args,
                                       image_map=parse_image_map_options(image_map))
        finally:
            await m.close()
    try:
        img = asyncio.run(go())
    except SandboxError as e:
        _fail(e.message, 1)
    print(f"built {img.name} ({len(img.layers)} layers)")


@image_app.command("standin")
def image_standin(names: Annotated[list[str], typer.Argument(help="image names, e.g. ubuntu:24.04 python:3.13-slim-bookworm")]) -> None:
    """Build offline stand-ins, stored under the real names, for images no registry here serves:
    ubuntu:22.04/24.04, debian:bookworm(-slim), python:3.X(-slim)(-bookworm). Each is ALE's Debian 12 base
    (plus a real CPython 3.X for python:), and records how it differs from the real image; bench results
    of tasks built on one carry those lines."""
    from . import standins
    from .images import ImageStore
    from .manager import DEFAULT_HOME, SandboxManager

    try:
        for n in names:
            standins.recipe(n)
    except SandboxError as e:
        _fail(e.message)

    async def go():
        m = SandboxManager()
        try:
            return [await standins.build(m, n, log=lambda s: err.print(s)) for n in names]
        finally:
            await m.close()
    try:
        imgs = asyncio.run(go())
    except SandboxError as e:
        _fail(e.message, 1)
    for img in imgs:
        print(f"built stand-in {img.name}; differs from the real image:")
        for d in standins.record(ImageStore(DEFAULT_HOME), img.name)["deviations"]:
            print(f"  - {d}")


@image_app.command("pull")
def image_pull(
    ref: str = typer.Argument(..., help="image reference, e.g. ubuntu:24.04 or registry:5000/team/img:tag"),
    name: Optional[str] = typer.Option(None, "--as", help="store it under this name (default: REF)"),
) -> None:
    """Pull an image from its OCI registry (skopeo; no Docker): layers, whiteouts and config kept.
    Plain HTTP is used only for registries on loopback, as Docker does."""
    from .manager import DEFAULT_HOME
    from .images import ImageStore
    from .oci import pull_image

    try:
        img = pull_image(ImageStore(DEFAULT_HOME), ref, name=name, log=lambda s: err.print(s))
    except SandboxError as e:
        _fail(f"cannot pull {ref}: {e.message}", 1)
    print(f"pulled {img.name} {img.digest} ({len(img.layers)} layers)")


@image_app.command("base")
def image_base() -> None:
    """Build the base image if it is missing (Debian bookworm via debootstrap, once, ~2 minutes)."""
    from .images import ImageStore
    from .manager import DEFAULT_HOME

    store = ImageStore(DEFAULT_HOME)
    if store.exists("base"):
        print("base image present")
        return
    try:
        store.build_base(log=lambda s: err.print(s))
    except SandboxError as e:
        _fail(e.message, 1)


@image_app.command("import")
def image_import(
    args: list[str] = typer.Argument(..., metavar="FILE [NAME] | NAME FILE",
                                     help="a `docker save` archive, an OCI layout tarball, or a rootfs tarball "
                                          "(`docker export`, needs NAME); NAME defaults to the archive's tag"),
) -> None:
    """Import an image file: docker-archive (what `docker save` writes), OCI archive, or rootfs tarball."""
    from .images import ImageStore
    from .manager import DEFAULT_HOME
    from .oci import import_archive

    if len(args) > 2:
        _fail("import takes FILE [NAME]")
    # FILE NAME, or the older NAME FILE order: whichever of the two is an existing file
    if len(args) == 2 and not Path(args[0]).is_file() and Path(args[1]).is_file():
        args = [args[1], args[0]]
    tarball = Path(args[0])
    if not tarball.is_file():
        _fail(f"no such file: {tarball}")
    try:
        img = import_archive(ImageStore(DEFAULT_HOME), tarball, args[1] if len(args) == 2 else None,
                             log=lambda s: err.print(s))
    except SandboxError as e:
        _fail(e.message, 1)
    print(f"imported {img.name}")


@image_app.command("ls")
def image_ls() -> None:
    """List images."""
    from .images import ImageStore, du
    from .manager import DEFAULT_HOME

    from rich.console import Console
    from rich.table import Table

    from collections import Counter

    store = ImageStore(DEFAULT_HOME)
    images = store.list()
    users = Counter(lid for i in images for lid in set(i.layers))
    size = {lid: du(store.layers_dir / lid) for lid in users}
    # a layer several images use (the base rootfs under every built image) is on disk once: "own" is
    # what removing the image could free, "shared" what it uses in common with others
    t = Table("name", "layers", "workdir", "own", "shared")
    for i in images:
        own = sum(size[lid] for lid in set(i.layers) if users[lid] == 1)
        shared = sum(size[lid] for lid in set(i.layers) if users[lid] > 1)
        t.add_row(i.name, str(len(i.layers)), i.config.workdir, f"{own / 2**20:.1f} MiB", f"{shared / 2**20:.1f} MiB")
    Console().print(t)




@image_app.command("rm")
def image_rm(name: str) -> None:
    """Remove an image (and the layers nothing else uses)."""
    from .images import ImageStore
    from .manager import DEFAULT_HOME

    try:
        ImageStore(DEFAULT_HOME).remove(name)
    except SandboxError as e:
        _fail(e.message, 1)
    print(f"removed {name}")
