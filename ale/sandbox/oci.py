"""OCI images without Docker: resolve FROM names, pull from registries, import image archives.

Resolution order for an image name (`resolve`): the local store; then the image map (a YAML file of
`NAME: IMAGE` lines at $ALE_IMAGE_MAP, default $ALE_HOME/image-map.yaml, overridden per call by
`--image-map NAME=IMAGE`), whose target is again looked up locally first; then a pull from the OCI
registry the name points to (docker.io for short names, as Docker does), unless ALE_PULL=never.

Registry and archive transport is Debian's skopeo (auth, manifest lists, blob digests checked):
`skopeo copy` writes an OCI layout, which ALE unpacks layer by layer into its own store. umoci was
not needed: it only unpacks into one merged rootfs, which would lose the per-layer sharing (one
Debian layer under many images) that ALE's overlay layers keep. Each layer is verified against the
image config's diff_id while it is unpacked, whiteouts (`.wh.NAME`, `.wh..wh..opq`) become overlayfs
whiteouts, and the config's Env, WorkingDir, User, Cmd and Entrypoint are kept.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import ipaddress
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from . import images
from .spec import NotFound, SandboxError

_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_GZIP = ("application/vnd.oci.image.layer.v1.tar+gzip", "application/vnd.docker.image.rootfs.diff.tar.gzip")
_TAR = ("application/vnd.oci.image.layer.v1.tar", "application/vnd.docker.image.rootfs.diff.tar")


def image_map_path() -> Path:
    from .manager import DEFAULT_HOME

    return Path(os.environ.get("ALE_IMAGE_MAP") or DEFAULT_HOME / "image-map.yaml")


def load_image_map(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The image map file's entries, with `extra` (e.g. from --image-map options) on top."""
    import yaml

    path, out = image_map_path(), {}
    if path.exists():
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError) as e:
            raise SandboxError(f"cannot read the image map {path}: {e}") from None
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise SandboxError(f"{path}: the image map must be `NAME: IMAGE` lines")
        out = {str(k): v for k, v in data.items()}
    return {**out, **(extra or {})}


def parse_image_map_options(options: list[str]) -> dict[str, str]:
    """['ubuntu:24.04=base', ...] -> {'ubuntu:24.04': 'base'}; a bad one is a one-line error."""
    out = {}
    for opt in options:
        name, eq, target = opt.partition("=")
        if not eq or not name or not target:
            raise SandboxError(f"--image-map takes NAME=IMAGE, not {opt!r}")
        out[images.check_name(name)] = images.check_name(target)
    return out


def ways_forward(name: str) -> str:
    return (f"ways forward: `ale sandbox image pull {name}`, `ale sandbox image import FILE {name}` (a `docker "
            f"save` archive), `--image-map {name}=IMAGE` (or {image_map_path()}), or `ale sandbox image "
            f"standin {name}`")


async def resolve(manager, name: str, *, image_map: dict[str, str] | None = None, pull: str | None = None,
                  log=print) -> images.Image:
    """The image a FROM (or COPY --from) name means: local store, image map, then a registry pull
    (`pull`: 'missing' (default) or 'never'; default from $ALE_PULL)."""
    store = manager.images
    if name == "base" or store.exists(name):
        return await manager._image(name)
    mapped = load_image_map(image_map).get(name)
    ref = mapped or name
    if mapped:
        if mapped == "base" or store.exists(mapped):
            return await manager._image(mapped)
    pull = pull or os.environ.get("ALE_PULL", "missing")
    where = f"not in the local store{'' if mapped is None else f' (mapped to {mapped}, not there either)'}"
    if pull == "never":
        raise NotFound(f"no such image: {name}: {where} and ALE_PULL=never; {ways_forward(name)}")
    try:
        return await asyncio.to_thread(pull_image, store, ref, log=log)
    except SandboxError as e:
        raise NotFound(f"no such image: {name}: {where}, and pulling {ref} failed ({e.message}); "
                       f"{ways_forward(name)}") from None


def _skopeo(args: list[str], timeout: float = 3600) -> None:
    if not shutil.which("skopeo"):
        raise SandboxError("pulling and importing images needs skopeo (apt-get install skopeo)")
    try:
        r = subprocess.run(["skopeo", "--insecure-policy", *args], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise SandboxError(f"skopeo took longer than {timeout:.0f}s") from None
    if r.returncode != 0:
        lines = [ln for ln in r.stderr.strip().splitlines() if ln.strip()]
        last = lines[-1] if lines else f"skopeo exited with {r.returncode}"
        if m := re.search(r'msg="((?:[^"\\]|\\.)*)"', last):  # skopeo logs as time=.. level=fatal msg=".."
            last = m.group(1).replace('\\"', '"')
        raise SandboxError(last[:500])


def _loopback_registry(ref: str) -> bool:
    """Docker trusts plain HTTP on localhost registries; so do we (and only there)."""
    host = ref.split("/", 1)[0] if "/" in ref else ""
    host = host.rsplit(":", 1)[0] if host.count(":") == 1 or "]" in host else host
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def pull_image(store: images.ImageStore, ref: str, *, name: str | None = None, log=print) -> images.Image:
    """`skopeo copy docker://REF` into a temporary OCI layout, unpacked into the store as `name` (default REF)."""
    images.check_name(ref)
    name = images.check_name(name or ref)
    log(f"pulling {ref}")
    with tempfile.TemporaryDirectory(dir=store.home, prefix=".pull-") as tmp:
        tls = ["--src-tls-verify=false"] if _loopback_registry(ref) else []
        _skopeo(["copy", "--quiet", *tls, "--override-os", "linux", "--override-arch", "amd64",
                 f"docker://{ref}", f"oci:{tmp}/layout:img"])
        return unpack_layout(store, Path(tmp) / "layout", name, source=f"docker://{ref}", log=log)


def archive_kind(path: Path) -> str:
    """'docker-archive' (docker save), 'oci-archive' (an OCI layout as a tar) or 'rootfs' (docker export)."""
    try:
        with tarfile.open(path, "r:*") as tf:
            names = set()
            for i, m in enumerate(tf):
                names.add(m.name.removeprefix("./"))
                if i > 10_000:  # an image archive lists its few metadata files near the start
                    break
    except (tarfile.TarError, OSError) as e:
        raise SandboxError(f"{path}: not a readable tar archive ({str(e).splitlines()[0].rstrip(':')})") from None
    if "oci-layout" in names and "index.json" in names:
        return "oci-archive"
    if "manifest.json" in names:
        return "docker-archive"
    return "rootfs"


def import_archive(store: images.ImageStore, path: Path, name: str | None = None, log=print) -> images.Image:
    """Import what `docker save` writes (docker-archive), an OCI layout tarball, or a rootfs tarball
    (`docker export`; needs `name`). The name defaults to the archive's own tag."""
    kind = archive_kind(path)
    if kind == "rootfs":
        if not name:
            raise SandboxError(f"{path} is a rootfs tarball (no image manifest): give the image a name")
        return store.import_tar(name, path)
    if name is None:
        name = _archive_tag(path, kind)
        if not name:
            raise SandboxError(f"{path} names no image tag: give the image a name")
    images.check_name(name)
    with tempfile.TemporaryDirectory(dir=store.home, prefix=".import-") as tmp:
        _skopeo(["copy", "--quiet", f"{kind}:{path}", f"oci:{tmp}/layout:img"])
        return unpack_layout(store, Path(tmp) / "layout", name, source=f"{kind}:{path.resolve()}", log=log)


def _archive_tag(path: Path, kind: str) -> str | None:
    want = "manifest.json" if kind == "docker-archive" else "index.json"
    with tarfile.open(path, "r:*") as tf:
        for m in tf:
            if m.name.removeprefix("./") == want:
                data = json.load(tf.extractfile(m))
                break
        else:
            return None
    if kind == "docker-archive":
        tags = data[0].get("RepoTags") or [] if data else []
    else:
        tags = [md.get("annotations", {}).get("io.containerd.image.name")
                or md.get("annotations", {}).get("org.opencontainers.image.ref.name") for md in data.get("manifests", [])]
    tag = next((t for t in tags if t), None)
    return tag.removeprefix("docker.io/library/").removeprefix("docker.io/") if tag else None


def _blob(layout: Path, digest: str) -> Path:
    algo, _, hexd = digest.partition(":")
    if algo != "sha256" or not re.fullmatch(r"[0-9a-f]{64}", hexd):
        raise SandboxError(f"unsupported digest {digest!r}")
    return layout / "blobs" / algo / hexd


def unpack_layout(store: images.ImageStore, layout: Path, name: str, *, source: str, log=print) -> images.Image:
    """An OCI layout's (single) image into the store: one ALE layer per image layer (id from its diff_id,
    so layers are shared between images), and its config."""
    index = json.loads((layout / "index.json").read_text())
    desc = index["manifests"][0]
    manifest = json.loads(_blob(layout, desc["digest"]).read_text())
    if "layers" not in manifest:
        raise SandboxError(f"{source}: expected an image manifest, found {manifest.get('mediaType', 'something else')}")
    config = json.loads(_blob(layout, manifest["config"]["digest"]).read_text())
    diff_ids = config.get("rootfs", {}).get("diff_ids", [])
    if len(diff_ids) != len(manifest["layers"]):
        raise SandboxError(f"{source}: the config lists {len(diff_ids)} layers, the manifest {len(manifest['layers'])}")
    layer_ids = []
    for n, (layer, diff_id) in enumerate(zip(manifest["layers"], diff_ids), 1):
        layer_id = "o" + diff_id.partition(":")[2][:15]
        if not (store.layers_dir / layer_id).exists():
            log(f"{name}: layer {n}/{len(diff_ids)} {diff_id[:19]} ({layer.get('size', 0) / 2**20:.1f} MiB)")
            _unpack_layer(store, _blob(layout, layer["digest"]), layer.get("mediaType", ""), diff_id, layer_id)
        layer_ids.append(layer_id)
    c = config.get("config") or {}
    env = dict(e.split("=", 1) for e in c.get("Env") or [] if "=" in e)
    env.setdefault("PATH", _PATH)
    layer_ids.reverse()  # top first
    user = _numeric_user(store, layer_ids, c.get("User") or "root", name)
    img = images.Image(name, layer_ids, images.ImageConfig(env=env, workdir=c.get("WorkingDir") or "/", user=user),
                       cmd=c.get("Cmd"), entrypoint=c.get("Entrypoint"), shell=c.get("Shell"),
                       digest=desc["digest"], source=source)
    return store.save(img)


class _Hashing:
    """A read-only stream that hashes what passes through it (the layer's uncompressed bytes). Past the
    end it gives (unhashed) zero blocks: some writers (umoci) omit the tar end-of-archive marker, which
    Python's streaming tar reader otherwise takes for a truncated archive."""

    def __init__(self, f):
        self.f, self.h, self.padding = f, hashlib.sha256(), 1024

    def read(self, n: int = -1) -> bytes:
        data = self.f.read(n)
        self.h.update(data)
        if not data and n != 0 and self.padding:
            data = b"\0" * min(self.padding, n if n > 0 else self.padding)
            self.padding -= len(data)
        return data


def _unpack_layer(store: images.ImageStore, blob: Path, media_type: str, diff_id: str, layer_id: str) -> None:
    if "zstd" in media_type:
        raise SandboxError(f"layer {diff_id[:19]} is zstd-compressed, which ALE cannot unpack yet "
                           "(re-push the image with gzip layers)")
    if media_type and media_type not in _GZIP + _TAR:
        raise SandboxError(f"layer {diff_id[:19]} has an unsupported media type {media_type}")
    tmp = store.new_layer_dir()
    try:
        with open(blob, "rb") as raw:
            gz = raw.read(2) == b"\x1f\x8b"
            raw.seek(0)
            stream = _Hashing(gzip.GzipFile(fileobj=raw) if gz else raw)
            images.extract_layer(stream, tmp)
            while stream.padding and stream.read(1 << 20):  # the tar's own zero padding counts too
                pass
        got = "sha256:" + stream.h.hexdigest()
        if got != diff_id:
            raise SandboxError(f"layer content {got[:19]} does not match the image config's diff_id {diff_id[:19]}")
    except BaseException:
        images.remove_dir(tmp)
        raise
    store.finish_layer(tmp, layer_id)


def _numeric_user(store: images.ImageStore, layer_ids: list[str], user: str, name: str) -> str:
    """The config's User as ALE's 'uid:gid' (names looked up in the image's /etc/passwd and /etc/group)."""
    from .spec import parse_user

    try:
        parse_user(user)
        return user
    except ValueError:
        pass
    uname, _, gname = user.partition(":")

    def lookup(file: str, key: str) -> tuple[str, str] | None:
        if key.isdigit():
            return key, key
        text = images.read_from_layers(store, layer_ids, file)
        for line in (text or "").splitlines():
            f = line.split(":")
            if len(f) > 3 and f[0] == key:
                return f[2], f[3]
        return None

    u = lookup("etc/passwd", uname)
    g = lookup("etc/group", gname) if gname else u and (u[1], u[1])
    if not u or not g:
        raise SandboxError(f"{name}: its config's User {user!r} is not in the image's /etc/passwd or /etc/group")
    return f"{u[0]}:{g[0]}"
