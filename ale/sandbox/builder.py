"""Build an image from a Dockerfile subset, one cached overlay layer per RUN/COPY.

A step's cache key hashes the parent's key, the instruction, the config in force (env, workdir,
user) and, for COPY, the bytes copied; a step whose key already has a layer is not run again.
RUN executes `/bin/sh -c` in a sandbox over the layers so far (network only if asked for) and the
sandbox's upper layer becomes the new layer; COPY writes through the same sandbox file API, so
paths resolve against the image as the kernel would (e.g. /bin -> usr/bin).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import secrets
import shlex
import tarfile
from pathlib import Path, PurePosixPath

from . import images
from .spec import TASK_CAPABILITIES, SandboxError, SandboxSpec, parse_user


async def build(manager, name: str, dockerfile: Path, context: Path, *, network: str = "none", log=print,
                timeout: float = 3600.0) -> images.Image:
    images.check_name(name)
    try:
        text = dockerfile.read_text()
    except OSError as e:
        raise SandboxError(f"cannot read {dockerfile}: {e.strerror}") from None
    steps = images.parse_dockerfile(text, str(dockerfile))
    base_name = steps[0].args.split()[0]
    if base_name == "scratch":
        raise SandboxError(f"{dockerfile}:1: FROM scratch is not supported: import a rootfs tarball instead")
    parent = await manager._image(base_name)
    layers = list(parent.layers)
    cfg = images.ImageConfig(env=dict(parent.config.env), workdir=parent.config.workdir, user=parent.config.user)
    key = hashlib.sha256(("|".join(layers)).encode()).hexdigest()
    for st in steps[1:]:
        where = f"{dockerfile}:{st.line}"
        if st.op == "ENV":
            try:
                cfg.env.update(images.parse_env(st.args))
            except ValueError:
                raise SandboxError(f"{where}: cannot parse ENV {st.args!r}") from None
            continue
        if st.op == "WORKDIR":
            wd = PurePosixPath(cfg.workdir) / st.args
            cfg.workdir = str(wd)
            key = _next_key(key, f"WORKDIR {wd}")
            layers, key = await _step(manager, layers, key, cfg, network, timeout, log, where,
                                      run=f"mkdir -p {shlex.quote(str(wd))}", copy=None, cwd="/", user="root")
            continue
        if st.op == "USER":
            cfg.user = await _resolve_user(manager, layers, cfg, st.args.strip(), where)
            key = _next_key(key, f"USER {cfg.user}")
            continue
        if st.op in ("CMD", "ENTRYPOINT", "LABEL", "EXPOSE"):
            log(f"{where}: {st.op} ignored (sandboxes have no default command)")
            continue
        if st.op == "FROM":
            raise SandboxError(f"{where}: multi-stage builds are not supported")
        if st.op == "RUN":
            argv = images.json_or_shell(st.args)
            cmd = shlex.join(argv) if argv else st.args
            key = _next_key(key, f"RUN {cmd} {sorted(cfg.env.items())} {cfg.workdir} {network}")
            layers, key = await _step(manager, layers, key, cfg, network, timeout, log, where, run=cmd, copy=None)
        elif st.op == "COPY":
            srcs, dest, chown = images.copy_sources(context, st.args, st.line)
            key = _next_key(key, f"COPY {dest} {chown} {cfg.workdir} {images.hash_paths(srcs)}")
            # Docker's COPY writes as root whatever USER says; --chown then hands the copied files over
            layers, key = await _step(manager, layers, key, cfg, network, timeout, log, where, run=None,
                                      copy=(srcs, dest, chown), user="root")
    return manager.images.save(images.Image(name, layers, cfg))


def _next_key(key: str, what: str) -> str:
    return hashlib.sha256(f"{key}\n{what}".encode()).hexdigest()


async def _resolve_user(manager, layers, cfg, user: str, where: str) -> str:
    """USER name[:group] -> 'uid:gid', looked up in the image being built (numeric ids pass through)."""
    try:
        parse_user(user)
        return user
    except ValueError:
        pass
    name, _, group = user.partition(":")
    tmp_image = images.Image(f"build-user-{secrets.token_hex(4)}", layers, cfg)
    manager.images.save(tmp_image)
    try:
        info = await manager.create(SandboxSpec(image=tmp_image.name, idle_ttl=None, workdir="/", user="root"))
        try:
            r = await manager.execute(info.id, ["sh", "-c", 'id -u "$1" && { [ -n "$2" ] && getent group "$2" | '
                                                          'cut -d: -f3 || id -g "$1"; }', "sh", name, group])
        finally:
            await manager.delete(info.id)
    finally:
        manager.images._meta(tmp_image.name).unlink(missing_ok=True)
    ids = r.stdout.split()
    if r.exit_code != 0 or len(ids) != 2:
        raise SandboxError(f"{where}: USER {user}: no such user or group in the image")
    return f"{ids[0]}:{ids[1]}"


async def _step(manager, layers, key, cfg, network, timeout, log, where, *, run, copy, cwd=None, user=None):
    layer_id = "b" + key[:15]
    if (manager.images.layers_dir / layer_id).exists():
        log(f"{where}: cached")
        return [layer_id, *layers], key
    tmp_image = images.Image(f"build-{layer_id}", layers, cfg)
    manager.images.save(tmp_image)
    try:
        info = await manager.create(SandboxSpec(image=tmp_image.name, network=network, memory="4g", disk="8g",
                                                pids=4096, cpus=2, idle_ttl=None, workdir="/",
                                                capabilities=TASK_CAPABILITIES, user=user or cfg.user))
        try:
            if run is not None:
                log(f"{where}: RUN {run[:120]}")
                r = await manager.execute(info.id, ["/bin/sh", "-c", run], timeout=timeout, cwd=cwd or cfg.workdir,
                                          env=cfg.env)
                if r.exit_code != 0:
                    raise SandboxError(f"{where}: RUN failed with exit code {r.exit_code}:\n"
                                       f"{(r.stdout + r.stderr)[-3000:]}")
            else:
                srcs, dest, chown = copy
                log(f"{where}: COPY {' '.join(p.name for p in srcs)} -> {dest}")
                target = str(PurePosixPath(cfg.workdir) / dest)
                is_dir = await asyncio.to_thread(manager._running(info.id).fs.is_dir, target)
                data = _tar_for_copy(srcs, dest, cfg.workdir, is_dir)
                await manager.upload_tar(info.id, "/", data)
                if chown:  # names resolve in the image's own passwd/group, as Docker does
                    names = tarfile.open(fileobj=io.BytesIO(data)).getnames()
                    await manager.write_file(info.id, "/.ale-chown", b"".join(f"/{n}".encode() + b"\0" for n in names))
                    r = await manager.execute(info.id, ["sh", "-c", 'xargs -0 chown -h -- "$1" < /.ale-chown; rc=$?; '
                                                        'rm -f /.ale-chown; exit $rc', "sh", chown], timeout=timeout)
                    if r.exit_code != 0:
                        raise SandboxError(f"{where}: COPY --chown={chown} failed: {(r.stdout + r.stderr)[-1000:]}")
            sb = manager._running(info.id)
            await asyncio.to_thread(manager.images.commit_upper, sb.init.upper, layer_id)
        finally:
            await manager.delete(info.id)
    finally:
        manager.images._meta(tmp_image.name).unlink(missing_ok=True)
    return [layer_id, *layers], key


def _tar_for_copy(srcs: list[Path], dest: str, workdir: str, dest_is_dir: bool) -> bytes:
    """Docker's COPY rules: a directory source copies its contents; several sources, a trailing
    slash, `.` or an existing directory make dest a directory."""
    d = PurePosixPath(workdir) / dest
    into_dir = dest.endswith("/") or dest in (".", "./") or dest_is_dir or len(srcs) > 1
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for src in srcs:
            if src.is_dir():
                tf.add(src, arcname=str(d).lstrip("/"), recursive=False)
                for f in sorted(src.rglob("*")):
                    tf.add(f, arcname=str(d / f.relative_to(src)).lstrip("/"), recursive=False)
            else:
                target = d / src.name if into_dir else d
                tf.add(src, arcname=str(target).lstrip("/"), recursive=False)
    return buf.getvalue()
