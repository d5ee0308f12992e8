"""Build an image from a Dockerfile, one cached overlay layer per RUN/COPY/ADD/WORKDIR.

Instructions: FROM (multi-stage, `AS name`), ARG (global and per stage, `build_args` override),
ENV, RUN (shell and exec form, heredocs, SHELL), COPY/ADD (--from=stage|image, --chown, --chmod;
ADD unpacks local tar archives; URLs are refused), WORKDIR, USER, SHELL, CMD and ENTRYPOINT
(recorded on the image); LABEL, EXPOSE, VOLUME, STOPSIGNAL, HEALTHCHECK, MAINTAINER are ignored with
a log line; anything else (ONBUILD, RUN --mount=type=bind, ...) is refused naming the instruction.

A step's cache key hashes the parent's key (rooted at the base image's digest), the instruction, the
config in force (env, args, workdir, user, shell) and, for COPY/ADD, the bytes copied; a step whose
key already has a layer is not run again. RUN executes in a sandbox over the layers so far (network
only if asked for) and the sandbox's upper layer becomes the new layer; COPY writes through the same
sandbox file API, so paths resolve against the image as the kernel would (e.g. /bin -> usr/bin).
`ensure_built` skips the build when an image of that name was built from the same Dockerfile,
context files, build args and base image digests.
"""

from __future__ import annotations

import asyncio
import bz2
import gzip
import hashlib
import io
import lzma
import os
import secrets
import tarfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from . import images
from .spec import TASK_CAPABILITIES, NetworkPolicy, SandboxError, SandboxSpec, parse_user

DEFAULT_SHELL = ["/bin/sh", "-c"]
# BuildKit's automatic platform ARGs (values for a declared `ARG TARGETARCH` without a default)
PLATFORM_ARGS = {"TARGETPLATFORM": "linux/amd64", "TARGETOS": "linux", "TARGETARCH": "amd64", "TARGETVARIANT": "",
                 "BUILDPLATFORM": "linux/amd64", "BUILDOS": "linux", "BUILDARCH": "amd64", "BUILDVARIANT": ""}


@dataclass
class _Stage:
    name: str  # `AS name`, lower case, or its index
    layers: list[str]
    cfg: images.ImageConfig
    key: str
    shell: list[str]
    args: dict[str, str] = field(default_factory=dict)
    cmd: list[str] | None = None
    entrypoint: list[str] | None = None

    def vars(self) -> dict[str, str]:
        return {**self.args, **self.cfg.env}  # ENV wins over ARG, as in Docker

    def image(self, name: str) -> images.Image:
        return images.Image(name, list(self.layers), self.cfg, cmd=self.cmd, entrypoint=self.entrypoint,
                            shell=self.shell)


async def build(manager, name: str, dockerfile: Path, context: Path, *, network: str | NetworkPolicy = "none", log=print,
                timeout: float = 3600.0, build_args: dict[str, str] | None = None,
                image_map: dict[str, str] | None = None, build_key: str = "") -> images.Image:
    """Build `dockerfile` with `context` as image `name`; FROM names resolve as oci.resolve does."""
    images.check_name(name)
    instrs = _read(dockerfile)
    build_args = dict(build_args or {})
    global_args: dict[str, str] = {}
    stages: list[_Stage] = []
    st: _Stage | None = None
    for ins in instrs:
        where = f"{dockerfile}:{ins.line}"
        if ins.op == "ARG":
            _declare_args(ins, global_args if st is None else st.args, build_args, global_args,
                          {} if st is None else st.vars())
            continue
        if ins.op == "FROM":
            st = await _from(manager, ins, where, stages, global_args, image_map, log)
            stages.append(st)
            continue
        assert st is not None  # parse_dockerfile put FROM first
        await _instruction(manager, st, ins, where, stages, context, network, timeout, log, image_map)
    img = st.image(name)
    img.source, img.build_key = f"build:{dockerfile}", build_key
    return manager.images.save(img)


async def ensure_built(manager, name: str, dockerfile: Path, context: Path, *, network: str | NetworkPolicy = "none", log=print,
                       timeout: float = 3600.0, build_args: dict[str, str] | None = None,
                       image_map: dict[str, str] | None = None) -> images.Image:
    """The image `name`, built unless it already exists with the same build key: the Dockerfile, every
    file of the context, the build args and the digests of the base images (so re-pulling or
    re-importing a base, or editing any context file, rebuilds; unchanged steps still come from cache)."""
    key = await build_key(manager, dockerfile, context, build_args=build_args, image_map=image_map, log=log)
    if manager.images.exists(name):
        old = manager.images.get(name)
        if old.build_key == key:
            return old
        log(f"{name}: the Dockerfile, its context or a base image changed: rebuilding")
    return await build(manager, name, dockerfile, context, network=network, log=log, timeout=timeout,
                       build_args=build_args, image_map=image_map, build_key=key)


async def build_key(manager, dockerfile: Path, context: Path, *, build_args: dict[str, str] | None = None,
                    image_map: dict[str, str] | None = None, log=print) -> str:
    """sha256 of the Dockerfile, the context's files (paths, modes, bytes, link targets), the build args
    and the digest of every base image (FROM and COPY --from images, resolved, pulled if need be)."""
    from . import oci

    instrs = _read(dockerfile)
    args: dict[str, str] = {}
    stage_names: set[str] = set()
    h = hashlib.sha256()
    h.update(dockerfile.read_bytes())
    h.update(repr(sorted((build_args or {}).items())).encode())
    h.update(_hash_tree(context).encode())
    for ins in instrs:
        refs = []
        if ins.op == "ARG" and not stage_names:
            _declare_args(ins, args, dict(build_args or {}), args, {})
        elif ins.op == "FROM":
            words = _from_words(ins, f"{dockerfile}:{ins.line}")
            refs.append(images.expand(words[0], args))
            stage_names.add(words[2].lower() if len(words) == 3 else str(len(stage_names)))
        elif ins.op in ("COPY", "ADD"):
            refs += [f[len("--from="):] for f in ins.flags if f.startswith("--from=")]
        for ref in refs:
            if ref.lower() in stage_names or ref == "scratch" or "$" in ref:
                continue
            img = await oci.resolve(manager, ref, image_map=image_map, log=log)
            h.update(f"{ref} {img.digest}\n".encode())
    return h.hexdigest()


def _read(dockerfile: Path) -> list[images.Instruction]:
    try:
        text = dockerfile.read_text()
    except OSError as e:
        raise SandboxError(f"cannot read {dockerfile}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise SandboxError(f"{dockerfile} is not UTF-8 text") from None
    return images.parse_dockerfile(text, str(dockerfile))


def _hash_tree(root: Path) -> str:
    """The context's files as Docker sends them: what .dockerignore excludes does not count."""
    h = hashlib.sha256()
    ignored = images.dockerignore(root)
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for n in sorted([*dirnames, *filenames]):
            p = Path(dirpath, n)
            if ignored(p) and n != ".dockerignore":
                continue
            st = p.lstat()
            h.update(f"{p.relative_to(root)}\0{st.st_mode:o}\0".encode())
            if p.is_symlink():
                h.update(os.readlink(p).encode())
            elif p.is_file():
                with open(p, "rb") as f:
                    while chunk := f.read(1 << 20):
                        h.update(chunk)
            h.update(b"\0")
    return h.hexdigest()


def _declare_args(ins, scope: dict[str, str], build_args: dict[str, str], global_args: dict[str, str],
                  env: dict[str, str]) -> None:
    """ARG a[=default]...: a build arg wins, then the default; a stage's bare `ARG a` takes the global one."""
    for item in ins.value:
        k, eq, default = item.partition("=")
        if k in build_args:
            scope[k] = build_args[k]
        elif eq:
            scope[k] = images.expand(default, {**global_args, **scope, **env})
        elif k in global_args:
            scope[k] = global_args[k]
        elif k in PLATFORM_ARGS:
            scope[k] = PLATFORM_ARGS[k]


def _from_words(ins, where: str) -> list[str]:
    images.split_flags(ins, ("platform",), where)
    words = list(ins.value)
    if len(words) == 3 and words[1].lower() == "as":
        return words
    if len(words) != 1:
        raise SandboxError(f"{where}: FROM takes an image and an optional `AS name`, not {ins.args!r}")
    return words


async def _from(manager, ins, where, stages: list[_Stage], global_args, image_map, log) -> _Stage:
    from . import oci

    words = _from_words(ins, where)
    platform = images.expand(images.split_flags(ins, ("platform",), where).get("platform", ""), global_args)
    if platform not in ("", "linux/amd64", "linux/x86_64"):
        raise SandboxError(f"{where}: FROM --platform={platform}: only linux/amd64 images run here")
    base = images.expand(words[0], global_args)
    stage_name = words[2].lower() if len(words) == 3 else str(len(stages))
    prev = _stage(stages, base)
    if prev is not None:
        return _Stage(stage_name, list(prev.layers), _copy_cfg(prev.cfg), prev.key, list(prev.shell),
                      cmd=prev.cmd, entrypoint=prev.entrypoint)
    if base == "scratch":
        raise SandboxError(f"{where}: FROM scratch is not supported: import a rootfs tarball instead")
    parent = await oci.resolve(manager, base, image_map=image_map, log=log)
    return _Stage(stage_name, list(parent.layers), _copy_cfg(parent.config),
                  hashlib.sha256(parent.digest.encode()).hexdigest(), list(parent.shell or DEFAULT_SHELL),
                  cmd=parent.cmd, entrypoint=parent.entrypoint)


def _stage(stages: list[_Stage], ref: str) -> _Stage | None:
    return next((s for s in stages if s.name == ref.lower()), None)


def _copy_cfg(cfg: images.ImageConfig) -> images.ImageConfig:
    return images.ImageConfig(env=dict(cfg.env), workdir=cfg.workdir, user=cfg.user)


async def _instruction(manager, st: _Stage, ins, where, stages, context, network, timeout, log, image_map) -> None:
    cfg = st.cfg
    if ins.op in images.IGNORED:
        log(f"{where}: {ins.op} ignored (no effect on the image's files)")
    elif ins.op == "ENV":
        cfg.env.update(images.parse_env(ins, st.vars()))
    elif ins.op == "SHELL":
        if not ins.json:
            raise SandboxError(f'{where}: SHELL needs the JSON form, e.g. SHELL ["/bin/bash", "-c"]')
        st.shell = list(ins.value)
        st.key = _next_key(st.key, f"SHELL {st.shell}")
    elif ins.op in ("CMD", "ENTRYPOINT"):
        argv = list(ins.value) if ins.json else [*st.shell, ins.value[0]]
        if ins.op == "CMD":
            st.cmd = argv
        else:
            st.entrypoint, st.cmd = argv, None  # Docker: a new ENTRYPOINT drops an inherited CMD
    elif ins.op == "WORKDIR":
        wd = str(PurePosixPath(cfg.workdir) / images.expand(ins.value[0], st.vars()))
        cfg.workdir = wd
        st.key = _next_key(st.key, f"WORKDIR {wd}")
        await _step(manager, st, network, timeout, log, where, f"WORKDIR {wd}", user="root",
                    action=lambda sid: _run(manager, sid, ["mkdir", "-p", wd], "/", {}, timeout, where))
    elif ins.op == "USER":
        cfg.user = await _resolve_user(manager, st, images.expand(ins.value[0], st.vars()).strip(), where)
        st.key = _next_key(st.key, f"USER {cfg.user}")
    elif ins.op == "RUN":
        await _run_instruction(manager, st, ins, where, network, timeout, log)
    elif ins.op in ("COPY", "ADD"):
        await _copy_instruction(manager, st, ins, where, stages, context, network, timeout, log, image_map)
    else:  # parse_dockerfile refuses the rest; a new SUPPORTED entry without a branch lands here
        raise SandboxError(f"{where}: unsupported instruction {ins.op}")


async def _run_instruction(manager, st: _Stage, ins, where, network, timeout, log) -> None:
    flags = images.split_flags(ins, ("mount", "network"), where)
    if "mount" in flags:
        if "type=cache" not in flags["mount"].split(","):
            raise SandboxError(f"{where}: RUN --mount={flags['mount']} is not supported (only type=cache, "
                               "which runs with an empty cache)")
        log(f"{where}: RUN --mount=type=cache: runs without a cache")
    net = network
    if "network" in flags:
        if flags["network"] not in ("none", "default"):
            raise SandboxError(f"{where}: RUN --network={flags['network']} is not supported (none or default)")
        net = "none" if flags["network"] == "none" else network
    if ins.json:
        argv = list(ins.value)
    elif ins.heredocs and ins.value[0].strip().lstrip("<-").strip("'\"") == ins.heredocs[0][0]:
        argv = [*st.shell, ins.heredocs[0][1]]  # `RUN <<EOF` alone: the heredoc is the script
    else:  # the command line and its heredocs, as the shell reads them
        argv = [*st.shell, ins.value[0] + "".join(f"\n{body}{hname}" for hname, body in ins.heredocs)]
    env = {**st.args, **st.cfg.env}
    st.key = _next_key(st.key, f"RUN {argv} {sorted(env.items())} {st.cfg.workdir} {st.cfg.user} {net}")
    await _step(manager, st, net, timeout, log, where, f"RUN {argv[-1][:120]}",
                action=lambda sid: _run(manager, sid, argv, st.cfg.workdir, env, timeout, where))


async def _run(manager, sid, argv, cwd, env, timeout, where) -> None:
    r = await manager.execute(sid, argv, timeout=timeout, cwd=cwd, env=env)
    if r.exit_code != 0:
        raise SandboxError(f"{where}: RUN failed with exit code {r.exit_code}:\n{(r.stdout + r.stderr)[-3000:]}")


async def _copy_instruction(manager, st: _Stage, ins, where, stages, context, network, timeout, log,
                            image_map) -> None:
    allowed = ("chown", "chmod", "link") + (("from",) if ins.op == "COPY" else ())
    flags = images.split_flags(ins, allowed, where)
    vars_ = st.vars()
    chown = images.expand(flags["chown"], vars_) if "chown" in flags else None
    chmod = None
    if "chmod" in flags:
        try:
            chmod = int(flags["chmod"], 8)
        except ValueError:
            raise SandboxError(f"{where}: --chmod={flags['chmod']}: only octal modes are supported") from None
    words = [images.expand(w, vars_) for w in ins.value]
    dest = words[-1]
    target = str(PurePosixPath(st.cfg.workdir) / dest)
    if ins.heredocs:  # COPY <<EOF /path: each heredoc is a file
        names = {n for n, _ in ins.heredocs}
        if any(w.lstrip("<-").strip("'\"") not in names for w in words[:-1]):
            raise SandboxError(f"{where}: {ins.op} cannot mix heredocs and files")
        body = b"".join(n.encode() + b"\0" + c.encode() for n, c in ins.heredocs)
        files = [(n, c.encode()) for n, c in ins.heredocs]
        st.key = _next_key(st.key, f"{ins.op} heredoc {target} {chown} {chmod} {hashlib.sha256(body).hexdigest()}")

        async def make(sid, is_dir):
            return _tar_of_files(files, dest, st.cfg.workdir, is_dir, chmod)
    elif "from" in flags:
        src_ref = images.expand(flags["from"], vars_)
        srcs = words[:-1]
        if any(c in s for s in srcs for c in "*?["):
            raise SandboxError(f"{where}: COPY --from with wildcards is not supported: name the paths")
        source = _stage(stages, src_ref)
        if source is None and src_ref.isdigit() and int(src_ref) < len(stages):
            source = stages[int(src_ref)]
        if source is None:
            from . import oci

            img = await oci.resolve(manager, src_ref, image_map=image_map, log=log)
            source_img, source_key = img, img.digest
        else:
            source_img, source_key = source.image(f"build-from-{secrets.token_hex(4)}"), source.key
        st.key = _next_key(st.key, f"COPY --from={source_key} {srcs} {target} {chown} {chmod}")

        async def make(sid, is_dir):
            return await _tar_from_image(manager, source_img, srcs, dest, st.cfg.workdir, is_dir, chmod, where)
    else:
        srcs, _, _ = images.copy_sources(context, words, ins.line)
        ignored = images.dockerignore(context)
        archives = [p for p in srcs if ins.op == "ADD" and p.is_file() and _is_archive(p)]
        st.key = _next_key(st.key, f"{ins.op} {target} {chown} {chmod} {st.cfg.workdir} "
                                   f"{images.hash_paths(srcs, ignored)}")

        async def make(sid, is_dir):
            plain = [p for p in srcs if p not in archives]
            data = (_tar_for_copy(plain, dest, st.cfg.workdir, is_dir or bool(archives), chmod, ignored)
                    if plain else b"")
            for a in archives:  # ADD unpacks a local archive into the destination directory
                data = _concat_tars(data, _retar_archive(a, target, where))
            return data

    async def action(sid):
        is_dir = await asyncio.to_thread(manager._running(sid).fs.is_dir, target)
        data = await make(sid, is_dir)
        await manager.upload_tar(sid, "/", data)
        if chown:  # names resolve in the image's own passwd/group, as Docker does
            names = tarfile.open(fileobj=io.BytesIO(data)).getnames()
            await manager.write_file(sid, "/.ale-chown", b"".join(f"/{n}".encode() + b"\0" for n in names))
            r = await manager.execute(sid, ["sh", "-c", 'xargs -0 chown -h -- "$1" < /.ale-chown; rc=$?; '
                                            'rm -f /.ale-chown; exit $rc', "sh", chown], timeout=timeout)
            if r.exit_code != 0:
                raise SandboxError(f"{where}: {ins.op} --chown={chown} failed: {(r.stdout + r.stderr)[-1000:]}")

    # Docker's COPY writes as root whatever USER says; --chown then hands the copied files over
    await _step(manager, st, network, timeout, log, where, f"{ins.op} {' '.join(words[:-1])[:100]} -> {dest}",
                user="root", action=action)


def _next_key(key: str, what: str) -> str:
    return hashlib.sha256(f"{key}\n{what}".encode()).hexdigest()


async def _resolve_user(manager, st: _Stage, user: str, where: str) -> str:
    """USER name[:group] -> 'uid:gid', looked up in the image being built (numeric ids pass through)."""
    try:
        parse_user(user)
        return user
    except ValueError:
        pass
    name, _, group = user.partition(":")
    out = []

    async def look_up(sid):
        r = await manager.execute(sid, ["sh", "-c", 'id -u "$1" && { [ -n "$2" ] && getent group "$2" | '
                                        'cut -d: -f3 || id -g "$1"; }', "sh", name, group])
        out.append(r)

    await _in_sandbox(manager, st.image(f"build-user-{secrets.token_hex(4)}"), look_up, user="root")
    ids = out[0].stdout.split()
    if out[0].exit_code != 0 or len(ids) != 2:
        raise SandboxError(f"{where}: USER {user}: no such user or group in the image")
    return f"{ids[0]}:{ids[1]}"


async def _in_sandbox(manager, image: images.Image, fn, *, network="none", user=None, commit_as: str | None = None):
    """Run `fn(sandbox_id)` in a sandbox over `image` (saved under a temporary name meanwhile); with
    `commit_as`, its upper layer becomes that layer."""
    manager.images.save(image)
    try:
        info = await manager.create(SandboxSpec(image=image.name, network=network, memory="4g", disk="8g",
                                                pids=4096, cpus=2, idle_ttl=None, workdir="/",
                                                capabilities=TASK_CAPABILITIES, user=user or image.config.user))
        try:
            await fn(info.id)
            if commit_as:
                sb = manager._running(info.id)
                await asyncio.to_thread(manager.images.commit_upper, sb.init.upper, commit_as)
        finally:
            await manager.delete(info.id)
    finally:
        manager.images._meta(image.name).unlink(missing_ok=True)


async def _step(manager, st: _Stage, network, timeout, log, where, desc, *, action, user=None) -> None:
    """One layer: cached by st.key, else `action(sandbox_id)` runs and the upper layer is committed."""
    layer_id = "b" + st.key[:15]
    if not (manager.images.layers_dir / layer_id).exists():
        log(f"{where}: {desc}")
        await _in_sandbox(manager, st.image(f"build-{layer_id}-{secrets.token_hex(3)}"), action, network=network,
                          user=user or st.cfg.user, commit_as=layer_id)
    else:
        log(f"{where}: cached")
    st.layers = [layer_id, *st.layers]


def _mode_filter(chmod: int | None):
    def f(ti: tarfile.TarInfo) -> tarfile.TarInfo:
        if chmod is not None and not ti.issym():
            ti.mode = chmod
        return ti
    return f


def _tar_for_copy(srcs: list[Path], dest: str, workdir: str, dest_is_dir: bool, chmod: int | None = None,
                  ignored=lambda p: False) -> bytes:
    """Docker's COPY rules: a directory source copies its contents (less what .dockerignore excludes);
    several sources, a trailing slash, `.` or an existing directory make dest a directory."""
    d = PurePosixPath(workdir) / dest
    into_dir = dest.endswith("/") or dest in (".", "./") or dest_is_dir or len(srcs) > 1
    buf = io.BytesIO()
    flt = _mode_filter(chmod)
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for src in srcs:
            if src.is_dir():
                tf.add(src, arcname=str(d).lstrip("/"), recursive=False, filter=flt)
                for f in sorted(src.rglob("*")):
                    if not ignored(f):
                        tf.add(f, arcname=str(d / f.relative_to(src)).lstrip("/"), recursive=False, filter=flt)
            else:
                target = d / src.name if into_dir else d
                tf.add(src, arcname=str(target).lstrip("/"), recursive=False, filter=flt)
    return buf.getvalue()


def _tar_of_files(files: list[tuple[str, bytes]], dest: str, workdir: str, dest_is_dir: bool,
                  chmod: int | None) -> bytes:
    d = PurePosixPath(workdir) / dest
    into_dir = dest.endswith("/") or dest_is_dir or len(files) > 1
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data in files:
            ti = tarfile.TarInfo(str(d / name if into_dir else d).lstrip("/"))
            ti.size, ti.mode = len(data), chmod if chmod is not None else 0o644
            tf.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


async def _tar_from_image(manager, image: images.Image, srcs: list[str], dest: str, workdir: str, dest_is_dir: bool,
                          chmod: int | None, where: str) -> bytes:
    """COPY --from: each source (a path in `image`) as COPY would place it under dest, as one tar."""
    d = PurePosixPath(workdir) / dest
    into_dir = dest.endswith("/") or dest in (".", "./") or dest_is_dir or len(srcs) > 1
    parts: list[bytes] = []

    async def grab(sid):
        fs = manager._running(sid).fs
        for s in srcs:
            path = str(PurePosixPath("/") / s)  # relative to the source's root, as in Docker
            try:
                is_dir = await asyncio.to_thread(fs.is_dir, path)
                data = await asyncio.to_thread(fs.make_tar, path, 8 << 30)
            except SandboxError as e:
                raise SandboxError(f"{where}: COPY --from source {s}: {e.message}") from None
            root = d / PurePosixPath(path).name if into_dir and not is_dir else d  # a directory: its contents
            parts.append(_rebase(data, root, chmod))

    await _in_sandbox(manager, image, grab, user="root")
    out = b""
    for p in parts:
        out = _concat_tars(out, p)
    return out


def _rebase(data: bytes, root: PurePosixPath, chmod: int | None) -> bytes:
    """A make_tar result (one top entry) moved to `root`; hard links become copies (extract_tar makes
    files, directories and symlinks only)."""
    src = tarfile.open(fileobj=io.BytesIO(data))
    members = src.getmembers()
    top = members[0].name if members else ""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for m in members:
            rel = PurePosixPath(m.name).relative_to(top) if m.name != top else PurePosixPath(".")
            blob = None
            if m.islnk():
                target = src.getmember(m.linkname)
                blob, m = src.extractfile(target).read(), tarfile.TarInfo(m.name)
                m.size, m.mode = len(blob), target.mode
            elif m.isfile():
                blob = src.extractfile(m).read()
            m = _mode_filter(chmod)(m)
            m.name = str(root / rel).lstrip("/")
            tf.addfile(m, io.BytesIO(blob) if blob is not None else None)
    return buf.getvalue()


def _is_archive(p: Path) -> bool:
    try:
        return tarfile.is_tarfile(p)
    except OSError:
        return False


def _retar_archive(archive: Path, target: str, where: str) -> bytes:
    """ADD of a local tar (plain, gzip, bzip2 or xz): its members re-rooted under `target`, as a plain tar."""
    opener = {b"\x1f\x8b": gzip.open, b"BZ": bz2.open, b"\xfd7": lzma.open}.get(archive.read_bytes()[:2], open)
    with opener(archive, "rb") as f:
        raw = f.read()
    return _rebase_all(raw, PurePosixPath(target), where)


def _rebase_all(raw: bytes, root: PurePosixPath, where: str) -> bytes:
    src = tarfile.open(fileobj=io.BytesIO(raw))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for m in src.getmembers():
            rel = PurePosixPath(*[p for p in PurePosixPath(m.name).parts if p not in ("/", ".")])
            if ".." in rel.parts:
                raise SandboxError(f"{where}: ADD archive member escapes the destination: {m.name}")
            blob = None
            if m.islnk():
                target = src.getmember(m.linkname)
                blob, m = src.extractfile(target).read(), tarfile.TarInfo(m.name)
                m.size, m.mode = len(blob), target.mode
            elif m.isfile():
                blob = src.extractfile(m).read()
            elif not (m.isdir() or m.issym()):
                continue  # devices and fifos are not image content here
            m.name = str(root / rel).lstrip("/")
            tf.addfile(m, io.BytesIO(blob) if blob is not None else None)
    return buf.getvalue()


def _concat_tars(a: bytes, b: bytes) -> bytes:
    if not a:
        return b
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tf:
        for data in (a, b):
            src = tarfile.open(fileobj=io.BytesIO(data))
            for m in src.getmembers():
                tf.addfile(m, src.extractfile(m) if m.isfile() else None)
    return out.getvalue()
