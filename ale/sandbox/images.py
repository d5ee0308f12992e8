"""Images: read-only overlay layers plus a little config (env, workdir, user).

- `base` is a Debian bookworm minbase rootfs with python3, pytest, numpy, gcc, git and common tools,
  built with debootstrap on first use and cached.
- `builder.build` runs a Dockerfile (parsed here, with BuildKit's parser): each RUN/COPY/ADD runs in a
  sandbox over the layers so far and its upper layer is committed as a new layer, cached by a content
  hash of the chain (base digest, instructions and copied bytes).
- `oci` pulls registry images and imports `docker save` / OCI archives, one layer per image layer
  (`extract_layer` turns OCI whiteouts into overlayfs ones).
- `import_tar` turns a rootfs tarball (the `docker export` format) into a one-layer image.

On disk (ALE home, root only): layers/<id>/ (file owners shifted by UID_BASE, since uid 0 inside a
sandbox is UID_BASE outside) and images/<name>.json.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import tarfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .runtime import UID_BASE
from .spec import NotFound, SandboxError

BASE_PACKAGES = [
    "python3", "python3-pytest", "python3-numpy", "procps", "git", "make", "gcc", "libc6-dev", "less",
    "vim-tiny", "curl", "ca-certificates", "iproute2", "file", "xz-utils", "bzip2", "unzip", "jq", "sqlite3",
]
# Docker's reference grammar, loosely: [registry[:port]/]path[:tag][@sha256:digest]
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*(:[0-9]{1,5})?(/[a-z0-9][a-z0-9._-]*)*"
                   r"(:[A-Za-z0-9_][A-Za-z0-9._-]{0,127})?(@sha256:[0-9a-f]{64})?$")


@dataclass
class ImageConfig:
    env: dict[str, str] = field(default_factory=lambda: {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"})
    workdir: str = "/workspace"
    user: str = "root"


@dataclass
class Image:
    name: str
    layers: list[str]  # layer ids, top first
    config: ImageConfig
    created: float = 0.0
    # Recorded, not acted on by sandboxes (which have no default command): CMD and ENTRYPOINT as argv.
    cmd: list[str] | None = None
    entrypoint: list[str] | None = None
    shell: list[str] | None = None  # SHELL, inherited by builds FROM this image
    digest: str = ""  # a pulled image's manifest digest; else one derived from the layers and config
    source: str = ""  # where it came from: docker://REF, docker-archive:FILE, build:DOCKERFILE, ...
    build_key: str = ""  # a built image: hash of its Dockerfile, build context, args and base digests

    def __post_init__(self):
        if not self.digest:
            self.digest = "sha256:" + hashlib.sha256(json.dumps(
                [self.layers, self.config.env, self.config.workdir, self.config.user]).encode()).hexdigest()

    def to_json(self) -> dict:
        # New fields sit outside "config": readers that know only env/workdir/user keep working.
        return {"name": self.name, "layers": self.layers, "created": self.created,
                "config": {"env": self.config.env, "workdir": self.config.workdir, "user": self.config.user},
                "cmd": self.cmd, "entrypoint": self.entrypoint, "shell": self.shell, "digest": self.digest,
                "source": self.source, "build_key": self.build_key}

    @classmethod
    def from_json(cls, d: dict) -> Image:
        return cls(d["name"], d["layers"], ImageConfig(**d["config"]), d.get("created", 0.0), d.get("cmd"),
                   d.get("entrypoint"), d.get("shell"), d.get("digest", ""), d.get("source", ""),
                   d.get("build_key", ""))


def check_name(name: str) -> str:
    if len(name) > 255 or not _NAME.match(name) or ".." in name:
        raise SandboxError(f"invalid image name {name!r} (lowercase letters, digits, . _ - / and an optional "
                           ":tag or @sha256:digest, as in Docker: [registry[:port]/]path[:tag])")
    return name


def apt_mirror() -> str | None:
    """The Debian mirror this machine's apt uses (so debootstrap fetches from the same place)."""
    for f in [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]:
        try:
            text = f.read_text()
        except OSError:
            continue
        for m in re.finditer(r"^(?:deb\s+(?:\[[^\]]*\]\s+)?|URIs:\s*)(\S+)", text, re.M):
            uri = m.group(1)
            if "security" not in uri:
                return uri
    return None


def shift_owners(root: Path, delta: int = UID_BASE) -> None:
    """Add `delta` to every owner under root (keeping setuid/setgid bits, which chown clears)."""
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            _shift(os.path.join(dirpath, name), delta)
    _shift(str(root), delta)


def _shift(path: str, delta: int) -> None:
    st = os.lstat(path)
    if st.st_uid >= delta:
        return
    os.lchown(path, st.st_uid + delta, st.st_gid + delta)
    if not stat.S_ISLNK(st.st_mode) and st.st_mode & 0o6000:
        os.chmod(path, stat.S_IMODE(st.st_mode))


def remove_dir(path: Path) -> None:
    """rm -rf that any depth survives (shutil.rmtree recurses and gave up on 1000-deep trees)."""
    from .fs import _rmtree_at

    fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        _rmtree_at(fd, path.name)
    except OSError:
        pass
    finally:
        os.close(fd)


class ImageStore:
    def __init__(self, home: Path):
        self.home = home
        self.layers_dir = home / "layers"
        self.images_dir = home / "images"
        self._cache: dict[str, tuple[tuple[int, int], Image]] = {}
        self._meta_paths: dict[str, str] = {}
        for d in (self.layers_dir, self.images_dir):
            d.mkdir(parents=True, exist_ok=True)
            os.chmod(d, 0o700)  # layers hold sandbox-owned (possibly setuid) files: no other host user may reach them
        os.chmod(home, 0o711)  # traversable: sandbox owner uids reach their run dirs through it

    # ---- metadata
    def _meta(self, name: str) -> Path:
        return self.images_dir / (check_name(name).replace("/", "__") + ".json")

    def exists(self, name: str) -> bool:
        return os.path.exists(self._meta_str(name))

    def _meta_str(self, name: str) -> str:
        path = self._meta_paths.get(name)  # the hot path of every create: no pathlib, no re-validation
        if path is None:
            path = self._meta_paths[name] = str(self._meta(name))
        return path

    def get(self, name: str) -> Image:
        if name == "base" and not self.exists("base"):
            self.build_base()
        meta = self._meta_str(name)
        try:
            # Parsed once per version of the file (save() replaces it: new inode), not on every create.
            st = os.stat(meta)
            key = (st.st_ino, st.st_mtime_ns)
            hit = self._cache.get(name)
            if hit is not None and hit[0] == key:
                return hit[1]
            with open(meta) as f:
                d = json.load(f)
        except FileNotFoundError:
            raise NotFound(f"no such image: {name} (see `ale sandbox image ls`)") from None
        image = Image.from_json(d)
        self._cache[name] = (key, image)
        return image

    def save(self, image: Image) -> Image:
        image.created = image.created or time.time()
        tmp = self._meta(image.name).with_suffix(".tmp")
        tmp.write_text(json.dumps(image.to_json(), indent=1))
        os.replace(tmp, self._meta(image.name))
        return image

    def list(self) -> list[Image]:
        out = []
        for p in self.images_dir.glob("*.json"):
            try:
                out.append(self.get(json.loads(p.read_text())["name"]))
            except (FileNotFoundError, NotFound):  # removed while we listed (a build's temporary image)
                continue
        return sorted(out, key=lambda i: i.name)

    def remove(self, name: str, in_use: set[str] = frozenset()) -> None:
        """Forget the image; its layers go when nothing else (image or live sandbox) uses them."""
        self.get(name)
        self._meta(name).unlink()
        self.gc(in_use)

    def gc(self, in_use: set[str] = frozenset()) -> list[str]:
        """Remove layers no image references and no running sandbox uses (this server's or another's)."""
        keep = set(in_use) | self.mounted_layers()
        for img in self.list():
            keep.update(img.layers)
        removed = []
        for d in self.layers_dir.iterdir():
            if d.name not in keep and not d.name.startswith("."):
                shutil.rmtree(d, ignore_errors=True)
                removed.append(d.name)
        return removed

    def mounted_layers(self) -> set[str]:
        """Layers that live sandboxes of any server of this home use, whichever server made them.

        Each manager lists the layers its sandboxes use in run/<instance>/layers before it mounts them
        (a sandbox's overlay is in no process's mount table the host can read: the launcher that
        mounted it is gone, and the sandbox shows only link names). A crashed manager's list stays
        until its run dir is swept: that only keeps its layers longer."""
        found: set[str] = set()
        for f in (self.home / "run").glob("*/layers"):
            try:
                found.update(f.read_text().split())
            except OSError:  # swept meanwhile
                continue
        return found

    def layer_paths(self, image: Image) -> list[Path]:
        return [self.layers_dir / lid for lid in image.layers]

    def disk_usage(self, image: Image) -> int:
        return sum(du(p) for p in self.layer_paths(image))

    # ---- layers
    def new_layer_dir(self) -> Path:
        d = self.layers_dir / f".tmp-{os.getpid()}-{time.monotonic_ns()}"
        d.mkdir()
        return d

    def finish_layer(self, tmp: Path, layer_id: str) -> str:
        final = self.layers_dir / layer_id
        if final.exists():  # built concurrently by someone else: identical by construction
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            os.replace(tmp, final)
        return layer_id

    def commit_upper(self, upper: Path, layer_id: str) -> str:
        """Copy a sandbox's upper dir into a new layer (see copy_upper); setuid/setgid bits are dropped."""
        tmp = self.new_layer_dir()
        try:
            copy_upper(upper, tmp)
        except SandboxError as e:
            remove_dir(tmp)
            raise SandboxError(f"commit failed: {e.message}") from None
        return self.finish_layer(tmp, layer_id)

    # ---- base image
    def build_base(self, log: Callable[[str], None] = print) -> Image:
        key = hashlib.sha256(("bookworm minbase " + " ".join(BASE_PACKAGES)).encode()).hexdigest()[:16]
        if not (self.layers_dir / key).exists():
            if not shutil.which("debootstrap"):
                raise SandboxError("building the base image needs debootstrap (apt-get install debootstrap)")
            tmp = self.new_layer_dir()
            cmd = ["debootstrap", "--variant=minbase", f"--include={','.join(BASE_PACKAGES)}", "bookworm", str(tmp)]
            if mirror := apt_mirror():
                cmd.append(mirror)
            log(f"building the base image (debootstrap, about 2 minutes, once) into {self.layers_dir}")
            t0 = time.time()
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != 0:
                shutil.rmtree(tmp, ignore_errors=True)
                raise SandboxError(f"debootstrap failed:\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
            for junk in ("var/cache/apt/archives", "var/lib/apt/lists"):
                for p in (tmp / junk).glob("*"):
                    if p.is_file():
                        p.unlink()
            (tmp / "workspace").mkdir(exist_ok=True)
            (tmp / "etc/hostname").write_text("sandbox\n")  # debootstrap copies the host's
            (tmp / "etc/hosts").write_text("127.0.0.1 localhost sandbox\n::1 localhost ip6-localhost\n")
            shift_owners(tmp)
            self.finish_layer(tmp, key)
            log(f"base image built in {time.time() - t0:.0f}s")
        return self.save(Image("base", [key], ImageConfig()))

    # ---- import a rootfs tarball (docker export)
    def import_tar(self, name: str, tar_path: Path) -> Image:
        check_name(name)
        h = hashlib.sha256()
        with open(tar_path, "rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
        layer_id = "i" + h.hexdigest()[:15]
        if not (self.layers_dir / layer_id).exists():
            tmp = self.new_layer_dir()
            try:
                _extract_rootfs(tar_path, tmp)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
            self.finish_layer(tmp, layer_id)
        config = ImageConfig(workdir="/")
        return self.save(Image(name, [layer_id], config))


def _extract_rootfs(tar_path: Path, dest: Path) -> None:
    try:
        with tarfile.open(tar_path, mode="r:*") as tf:
            _extract(tf, dest, whiteouts=False)
    except tarfile.TarError as e:
        raise SandboxError(f"not a readable tar archive: {e}") from None


def extract_layer(stream, dest: Path) -> None:
    """Unpack one OCI/Docker image layer (an uncompressed tar stream) into dest, its whiteouts as
    overlayfs ones: `.wh.NAME` -> a 0/0 character device NAME, `.wh..wh..opq` -> the directory's
    trusted.overlay.opaque xattr (the overlay is mounted in the host's user namespace, so trusted.* counts)."""
    try:
        with tarfile.open(fileobj=stream, mode="r|") as tf:
            _extract(tf, dest, whiteouts=True)
    except tarfile.TarError as e:
        raise SandboxError(f"not a readable layer tar: {e}") from None


def _extract(tf: tarfile.TarFile, dest: Path, whiteouts: bool) -> None:
    """Unpack a rootfs tarball as root, refusing members that would land outside dest.

    Symlinks inside a rootfs legitimately point anywhere (they are resolved inside the sandbox later);
    what must never happen is *writing through* one. So every parent directory is checked to be a real
    directory under dest before a member is created, and nothing is followed.
    """
    from .fs import openat2

    rootfd = os.open(dest, os.O_PATH | os.O_DIRECTORY)
    try:
        for m in tf:
            rel = _member_path(m.name)
            if not rel.parts:
                continue
            if ".." in rel.parts:
                raise SandboxError(f"tar member escapes the image root: {m.name}")
            parent_fd = os.open(dest, os.O_PATH | os.O_DIRECTORY)
            try:
                for part in rel.parts[:-1]:  # walk parents without following links, creating dirs
                    try:
                        nfd = os.open(part, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=parent_fd)
                    except FileNotFoundError:
                        os.mkdir(part, 0o755, dir_fd=parent_fd)
                        os.chown(part, UID_BASE, UID_BASE, dir_fd=parent_fd, follow_symlinks=False)
                        nfd = os.open(part, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=parent_fd)
                    except NotADirectoryError:
                        raise SandboxError(f"tar member goes through a non-directory: {m.name}") from None
                    except OSError as e:
                        raise SandboxError(f"tar member goes through a link: {m.name} ({e})") from None
                    os.close(parent_fd)
                    parent_fd = nfd
                leaf = rel.parts[-1]
                if whiteouts and leaf == ".wh..wh..opq":
                    with _dirfd(parent_fd) as d:
                        os.setxattr(d, "trusted.overlay.opaque", b"y")
                elif whiteouts and leaf.startswith(".wh."):
                    _remove_entry(parent_fd, leaf[4:])
                    os.mknod(leaf[4:], stat.S_IFCHR | 0o600, 0, dir_fd=parent_fd)
                    os.chown(leaf[4:], UID_BASE, UID_BASE, dir_fd=parent_fd, follow_symlinks=False)
                else:
                    _create_member(tf, m, leaf, parent_fd, rootfd, openat2)
            except OSError as e:  # e.g. a hard link to a file that is not in this archive
                raise SandboxError(f"cannot unpack {m.name}: {e.strerror or e}") from None
            finally:
                os.close(parent_fd)
    finally:
        os.close(rootfd)


class _dirfd:
    """An O_RDONLY fd of the directory open as O_PATH fd `fd` (xattrs need a real open)."""

    def __init__(self, fd: int):
        self.fd = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=fd)

    def __enter__(self) -> int:
        return self.fd

    def __exit__(self, *exc) -> None:
        os.close(self.fd)


def _remove_entry(dirfd: int, name: str) -> None:
    try:
        os.unlink(name, dir_fd=dirfd)
    except FileNotFoundError:
        pass
    except IsADirectoryError:
        from .fs import _rmtree_at

        _rmtree_at(dirfd, name)


def read_from_layers(store: ImageStore, layer_ids: list[str], path: str) -> str | None:
    """A small text file as the image shows it (the topmost layer that has it; links resolved inside
    that layer, never outside it), or None."""
    from .fs import openat2

    for lid in layer_ids:
        root = os.open(store.layers_dir / lid, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            fd = openat2(root, path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            continue
        finally:
            os.close(root)
        with os.fdopen(fd, "rb") as f:
            return f.read(1 << 20).decode(errors="replace")
    return None


def copy_upper(upper: Path, dest: Path, *, keep_setid: bool = False, large_pages: bool = False) -> None:
    """Copy a sandbox's upper dir (whiteouts, opaque-dir xattrs, owners, modes, times, hard links and
    holes included) into the existing empty dir `dest`; SandboxError on failure (dest is left partial).

    The sandbox may still be running and changing it, so the walk goes by directory fds with
    O_NOFOLLOW (never by path): a directory swapped for a symlink mid-copy is copied as that
    symlink, and nothing outside the upper dir is ever opened. Holes stay holes and hard links stay
    links, so the copy takes no more host disk than the sandbox's own (size-limited) tmpfs did: a
    sparse 1 TB file or thousands of links to one big file cost what they cost in the sandbox.
    Setuid/setgid bits are dropped unless `keep_setid` (snapshots keep the sandbox's exact state).
    `large_pages`: dest allocates large pages (the snapshot tmpfs), where a page of data in a hole
    could take a 2 MB page: a sparse file whose copy takes more than the original fails the copy."""
    try:
        src = os.open(upper, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            dst = os.open(dest, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                _copy_dir(src, dst, _CopyState(dst, keep_setid, large_pages), "")
                _copy_meta(src, dst, os.fstat(src), keep_setid)
            finally:
                os.close(dst)
        finally:
            os.close(src)
    except RecursionError:
        raise SandboxError("the directory tree is too deep") from None
    except OSError as e:
        raise SandboxError(str(e)) from None


@dataclass
class _CopyState:
    root: int  # the destination's root dir fd (hard links are made relative to it)
    keep_setid: bool
    large_pages: bool
    links: dict[tuple[int, int], str] = field(default_factory=dict)  # (dev, ino) -> path of its first copy


def _copy_meta(src_fd: int, dst_fd: int, st: os.stat_result, keep_setid: bool = False) -> None:
    for name in os.listxattr(src_fd):  # trusted.overlay.opaque and friends
        try:
            os.setxattr(dst_fd, name, os.getxattr(src_fd, name))
        except OSError:
            pass
    os.chown(dst_fd, st.st_uid, st.st_gid)
    # No setuid/setgid file enters an image from a sandbox (a directory's setgid only sets group inheritance).
    keep = ~0 if keep_setid or stat.S_ISDIR(st.st_mode) else ~0o6000
    os.chmod(dst_fd, stat.S_IMODE(st.st_mode) & keep)
    os.utime(dst_fd, ns=(st.st_atime_ns, st.st_mtime_ns))


def _copy_data(src: int, dst: int, st: os.stat_result, large_pages: bool = False) -> None:
    """The data extents of src (up to its stat'd size) into dst, in the kernel (sendfile); holes stay holes.
    With `large_pages`, a sparse file that takes more blocks in dst than in src raises SandboxError (checked
    after each extent, so at most one large page too many is ever allocated)."""
    size = st.st_size
    if st.st_blocks * 512 >= size:  # no room for a hole: one copy, no extent map (3 syscalls a file fewer)
        pos = _send(dst, src, 0, size)
    else:
        pos = 0
        while pos < size:
            try:
                start = os.lseek(src, pos, os.SEEK_DATA)
            except OSError:  # ENXIO: only a hole is left
                break
            end = min(os.lseek(src, start, os.SEEK_HOLE), size)
            os.lseek(dst, start, os.SEEK_SET)
            _send(dst, src, start, end)
            pos = end
            if large_pages and os.fstat(dst).st_blocks > st.st_blocks:
                raise SandboxError("a sparse file would take more memory in the copy than in the sandbox")
    if pos != size:  # a hole at the end, or the file shrank while we copied
        os.ftruncate(dst, size)


def _send(dst: int, src: int, start: int, end: int) -> int:
    """src[start:end] to dst's position; returns where it stopped (sooner if src shrank meanwhile)."""
    while start < end:
        n = os.sendfile(dst, src, start, end - start)
        if n == 0:
            break
        start += n
    return start


_OPEN = {stat.S_IFDIR: os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
         stat.S_IFREG: os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC}


def _copy_dir(src: int, dst: int, state: _CopyState, rel: str) -> None:
    """Copy the entries of directory fd `src` into directory fd `dst` (`rel` below the copy's root), by
    fd, following nothing."""
    with os.scandir(src) as entries:
        for entry in entries:
            name = entry.name
            # The type from the directory entry: directories and files are opened and fstat'ed (no
            # stat by name first); anything else is stat'ed by name, never followed.
            kind = stat.S_IFDIR if entry.is_dir(follow_symlinks=False) else \
                stat.S_IFREG if entry.is_file(follow_symlinks=False) else 0
            if not kind:
                _copy_special(src, dst, name)
                continue
            try:
                sfd = os.open(name, _OPEN[kind], dir_fd=src)
            except OSError:
                continue  # gone or changed type under us (e.g. swapped for a symlink): skip, never follow
            try:
                sst = os.fstat(sfd)
                if stat.S_IFMT(sst.st_mode) != kind:
                    continue
                if kind == stat.S_IFDIR:
                    os.mkdir(name, 0o700, dir_fd=dst)
                    dfd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dst)
                    try:
                        _copy_dir(sfd, dfd, state, f"{rel}{name}/")
                        _copy_meta(sfd, dfd, sst, state.keep_setid)
                    finally:
                        os.close(dfd)
                    continue
                key = (sst.st_dev, sst.st_ino)
                if sst.st_nlink > 1 and key in state.links:  # every directory on that path is one we made
                    os.link(state.links[key], name, src_dir_fd=state.root, dst_dir_fd=dst, follow_symlinks=False)
                    continue
                dfd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=dst)
                try:
                    _copy_data(sfd, dfd, sst, state.large_pages)
                    _copy_meta(sfd, dfd, sst, state.keep_setid)
                finally:
                    os.close(dfd)
                if sst.st_nlink > 1:
                    state.links[key] = f"{rel}{name}"
            finally:
                os.close(sfd)


def _copy_special(src: int, dst: int, name: str) -> None:
    """A symlink, whiteout or FIFO (sockets and device nodes are not image content)."""
    try:
        st = os.stat(name, dir_fd=src, follow_symlinks=False)
    except FileNotFoundError:
        return  # removed while we walk
    mode = st.st_mode
    if stat.S_ISLNK(mode):
        os.symlink(os.readlink(name, dir_fd=src), name, dir_fd=dst)
        os.utime(name, ns=(st.st_atime_ns, st.st_mtime_ns), dir_fd=dst, follow_symlinks=False)
    elif stat.S_ISCHR(mode) and st.st_rdev == 0:  # an overlay whiteout
        os.mknod(name, mode, 0, dir_fd=dst)
    elif stat.S_ISFIFO(mode):
        os.mkfifo(name, stat.S_IMODE(mode), dir_fd=dst)
    else:
        return
    os.chown(name, st.st_uid, st.st_gid, dir_fd=dst, follow_symlinks=False)


def _member_path(name: str) -> PurePosixPath:
    """A tar member name relative to the archive root ('./etc/x', '/etc/x' -> 'etc/x'; '..' kept for the caller)."""
    return PurePosixPath(*[p for p in PurePosixPath(name).parts if p not in ("/", ".")])


def _create_member(tf: tarfile.TarFile, m: tarfile.TarInfo, name: str, dirfd: int, rootfd: int, openat2) -> None:
    uid, gid = m.uid + UID_BASE, m.gid + UID_BASE
    if m.isdir():
        try:
            os.mkdir(name, 0o755, dir_fd=dirfd)
        except FileExistsError:
            pass
    else:
        try:
            os.unlink(name, dir_fd=dirfd)
        except (FileNotFoundError, IsADirectoryError):
            pass
        if m.isfile():
            fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=dirfd)
            src = tf.extractfile(m)
            with os.fdopen(fd, "wb") as f:
                shutil.copyfileobj(src, f, 1 << 20)
        elif m.issym():
            os.symlink(m.linkname, name, dir_fd=dirfd)
        elif m.islnk():
            target = openat2(rootfd, "/" + str(_member_path(m.linkname)), os.O_PATH)
            try:
                os.link(f"/proc/self/fd/{target}", name, dst_dir_fd=dirfd, follow_symlinks=True)
            finally:
                os.close(target)
            return  # a hard link shares the target's owner and mode
        elif m.isfifo():
            os.mkfifo(name, 0o600, dir_fd=dirfd)
        else:
            return  # device nodes are not recreated: sandboxes get their own /dev
    os.chown(name, uid, gid, dir_fd=dirfd, follow_symlinks=False)
    if not m.issym():
        os.chmod(name, m.mode & 0o7777, dir_fd=dirfd)


# ---- Dockerfiles
@dataclass
class Instruction:
    """One Dockerfile instruction as BuildKit's own parser reads it (the `dockerfile` package wraps
    the Go parser): continuations, comments inside them, JSON forms and heredocs are Docker's."""

    op: str  # upper case
    args: str  # the text after the instruction (flags included), for messages
    line: int
    flags: tuple[str, ...] = ()
    value: tuple[str, ...] = ()
    json: bool = False
    heredocs: tuple[tuple[str, str], ...] = ()  # (name, content)


# What the builder does with each instruction; anything else is refused with its name and line.
SUPPORTED = ("FROM", "ARG", "RUN", "COPY", "ADD", "WORKDIR", "ENV", "USER", "SHELL", "CMD", "ENTRYPOINT")
IGNORED = ("LABEL", "EXPOSE", "MAINTAINER", "STOPSIGNAL", "VOLUME", "HEALTHCHECK")  # no effect on the files
FLAGS = {"FROM": ("platform",), "RUN": ("mount", "network"), "COPY": ("chown", "chmod", "from", "link"),
         "ADD": ("chown", "chmod", "link")}


def parse_dockerfile(text: str, path: str = "Dockerfile") -> list[Instruction]:
    """Parse with BuildKit's parser; refuse what the builder cannot do, naming the instruction and line."""
    import dockerfile

    try:
        cmds = dockerfile.parse_string(text)
    except dockerfile.GoParseError as e:
        raise SandboxError(f"{path}: {str(e).splitlines()[0]}") from None
    out: list[Instruction] = []
    for c in cmds:
        op = c.cmd.upper()
        if op not in SUPPORTED and op not in IGNORED:
            raise SandboxError(f"{path}:{c.start_line}: unsupported instruction {op} "
                               f"(supported: {', '.join(SUPPORTED)}; ignored: {', '.join(IGNORED)})")
        args = c.original.split(None, 1)[1] if len(c.original.split(None, 1)) > 1 else ""
        ins = Instruction(op, args.strip(), c.start_line, tuple(c.flags), tuple(c.value), c.json,
                          tuple((h.name, h.content) for h in c.heredocs))
        if op not in IGNORED:
            split_flags(ins, FLAGS.get(op, ()), f"{path}:{c.start_line}")
        if op not in IGNORED and not any(v.strip() for v in c.value) and not c.heredocs:
            raise SandboxError(f"{path}:{c.start_line}: {op} needs arguments")
        out.append(ins)
    first = next((i for i in out if i.op != "ARG"), None)
    if first is None or first.op != "FROM":
        raise SandboxError(f"{path}: the first instruction must be FROM (ARG may come before it)")
    return out


_VAR = re.compile(r"\$(?:([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])([^}]*))?\})")


def expand(word: str, env: dict[str, str], *, unquote: bool = True) -> str:
    """Docker's word processing for ENV, ARG, FROM, COPY, ADD, WORKDIR and USER: $VAR, ${VAR},
    ${VAR:-default}, ${VAR-default}, ${VAR:+alt}, ${VAR+alt}; single quotes keep text literal, double
    quotes and backslashes escape. (BuildKit's newer ${VAR#pattern} forms are not supported.)"""
    out, i, quote = [], 0, ""
    while i < len(word):
        ch = word[i]
        if ch == "'" and quote != '"' and unquote:
            quote = "" if quote == "'" else "'"
            i += 1
        elif ch == '"' and quote != "'" and unquote:
            quote = "" if quote == '"' else '"'
            i += 1
        elif ch == "\\" and quote != "'" and i + 1 < len(word):
            nxt = word[i + 1]
            out.append(nxt if (quote != '"' or nxt in '"\\$') else ch + nxt)
            i += 2
        elif ch == "$" and quote != "'" and (m := _VAR.match(word, i)):
            name = m.group(1) or m.group(2)
            op, arg = m.group(3), expand(m.group(4) or "", env, unquote=False)
            val = env.get(name)
            if op in (":-", "-"):
                val = arg if (val is None or (op == ":-" and val == "")) else val
            elif op in (":+", "+"):
                val = arg if (val is not None and (op == "+" or val != "")) else ""
            out.append(val or "")
            i = m.end()
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def split_flags(ins: Instruction, allowed: tuple[str, ...], where: str) -> dict[str, str]:
    """--name=value flags -> {name: value}; any flag not in `allowed` is refused by name."""
    flags = {}
    for f in ins.flags:
        name, _, val = f[2:].partition("=")
        if name not in allowed:
            raise SandboxError(f"{where}: {ins.op} --{name} is not supported"
                               + (f" (supported: {', '.join('--' + a for a in allowed)})" if allowed else
                                  f" ({ins.op} takes no flags)"))
        flags[name] = val
    return flags


def json_or_shell(args: str) -> list[str] | None:
    if args.startswith("["):
        try:
            v = json.loads(args)
        except ValueError:
            return None
        if isinstance(v, list) and all(isinstance(x, str) for x in v):
            return v
    return None


def parse_env(ins: Instruction, env: dict[str, str]) -> dict[str, str]:
    """ENV a=1 b="two words" / legacy ENV KEY value -> {name: value}, expanded with `env` (values
    set earlier on the same line are not visible to later ones, as in Docker)."""
    v = ins.value
    return {v[k]: expand(v[k + 1], env) for k in range(0, len(v) - 1, 2)}


def copy_sources(context: Path, args: str | list[str], line: int) -> tuple[list[Path], str, str | None]:
    """COPY [--chown=u:g] src... dest -> (source paths inside context, dest, chown). `args` is the text
    after COPY or its words already expanded; sources from another stage (--from) are not checked here."""
    parts = (json_or_shell(args) or shlex.split(args)) if isinstance(args, str) else list(args)
    chown = None
    while parts and parts[0].startswith("--"):
        flag = parts.pop(0)
        if flag.startswith("--chown="):
            chown = flag.split("=", 1)[1]
        elif flag.startswith("--from="):
            return [], parts[-1] if parts else "", chown
        elif not flag.startswith(("--chmod=", "--link")):
            raise SandboxError(f"Dockerfile:{line}: unsupported COPY flag {flag}")
    if len(parts) < 2:
        raise SandboxError(f"Dockerfile:{line}: COPY needs a source and a destination")
    ctx = context.resolve()
    ignored = dockerignore(ctx)
    srcs = []
    for s in parts[:-1]:
        if isinstance(args, str) and ("$" in s or s.startswith("<<")):
            continue  # needs ARG/ENV expansion or is a heredoc: checked when the build expands it
        if "://" in s:
            raise SandboxError(f"Dockerfile:{line}: ADD from a URL is not supported: download it in a RUN step")
        matches = sorted(ctx.glob(s.lstrip("/"))) if any(c in s for c in "*?[") else [ctx / s.lstrip("/")]
        for p in matches:
            rp = p.resolve()
            if not rp.is_relative_to(ctx):
                raise SandboxError(f"Dockerfile:{line}: COPY source outside the build context: {s}")
            if not rp.exists() or ignored(rp):
                if len(matches) == 1 and not any(c in s for c in "*?["):
                    raise SandboxError(f"Dockerfile:{line}: COPY source not found: {s}"
                                       + (" (excluded by .dockerignore)" if rp.exists() else ""))
                continue
            srcs.append(rp)
    if not srcs and not (isinstance(args, str) and any("$" in s or s.startswith("<<") for s in parts[:-1])):
        raise SandboxError(f"Dockerfile:{line}: COPY source not found: {parts[0]}")
    return srcs, parts[-1], chown


def hash_paths(paths: list[Path], ignored: Callable[[Path], bool] | None = None) -> str:
    h = hashlib.sha256()
    for p in paths:
        for f in sorted([p] if p.is_file() else [q for q in p.rglob("*")]):
            if ignored is not None and ignored(f):
                continue
            h.update(str(f.relative_to(p.parent)).encode())
            if f.is_file():
                h.update(oct(f.stat().st_mode & 0o777).encode())
                h.update(f.read_bytes())
    return h.hexdigest()


def dockerignore(context: Path) -> Callable[[Path], bool]:
    """`ignored(path)` for paths under `context` by its .dockerignore, as Docker reads it: patterns
    relative to the context (`*`, `?`, `[..]`, `**` for any depth), `!` exceptions, the last
    matching line wins, and a pattern that matches a directory matches everything under it."""
    ctx = context.resolve()
    try:
        lines = (ctx / ".dockerignore").read_text().splitlines()
    except (OSError, UnicodeDecodeError):
        return lambda path: False
    rules = []
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        neg = line.startswith("!")
        pat = os.path.normpath(line[1:].strip() if neg else line).lstrip("/")
        if pat and pat != ".":
            rules.append((neg, _glob_regex(pat)))

    def ignored(path: Path) -> bool:
        try:
            parts = path.resolve().relative_to(ctx).parts
        except ValueError:
            return False
        prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
        hit = False
        for neg, rx in rules:
            if any(rx.fullmatch(p) for p in prefixes):
                hit = not neg
        return hit
    return ignored


def _glob_regex(pat: str) -> re.Pattern:
    out, i = "", 0
    while i < len(pat):
        if pat.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pat.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pat[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pat[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pat[i] == "[" and (j := pat.find("]", i + 1)) > i:
            body = pat[i + 1:j]
            out, i = out + "[" + ("^" + body[1:] if body.startswith("!") else body).replace("\\", "\\\\") + "]", j + 1
        elif pat[i] == "\\" and i + 1 < len(pat):
            out, i = out + re.escape(pat[i + 1]), i + 2
        else:
            out, i = out + re.escape(pat[i]), i + 1
    return re.compile(out)


def du(path: Path) -> int:
    """Bytes of the files under path (sizes as stored; unreadable entries skipped)."""
    total = 0
    for dirpath, _, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(dirpath, f)).st_size
            except OSError:
                pass
    return total
