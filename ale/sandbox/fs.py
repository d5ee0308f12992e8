"""File access into a sandbox's root from the host, confined to that root.

Every path is resolved with openat2(RESOLVE_IN_ROOT): absolute symlinks and `..` are resolved as if
the sandbox root were `/`, so nothing a sandbox plants can make the host touch a host file.
Names are created relative to an already-resolved parent directory fd, never by path.
"""

from __future__ import annotations

import errno
import functools
import io
import os
import stat
import struct
import tarfile
from contextlib import contextmanager
from pathlib import PurePosixPath

from .runtime import UID_BASE
from .spec import FileEntry, NotFound, SandboxError

_SYS_OPENAT2 = 437
_RESOLVE = 0x01 | 0x02 | 0x10  # NO_XDEV | NO_MAGICLINKS | IN_ROOT
MAX_READ = 64 << 20


@functools.cache
def _libc():
    """libc through ctypes, loaded on the first file operation (`ale sandbox run` makes none: ~2 ms of its
    import time)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc, ctypes.get_errno


def openat2(dirfd: int, path: str, flags: int, mode: int = 0) -> int:
    libc, get_errno = _libc()
    how = struct.pack("=QQQ", flags | os.O_CLOEXEC, mode, _RESOLVE)
    fd = libc.syscall(_SYS_OPENAT2, dirfd, path.encode(), how, len(how))
    if fd < 0:
        e = get_errno()
        raise OSError(e, f"{os.strerror(e)}: {path}")
    return fd


@contextmanager
def _fd(fd: int):
    try:
        yield fd
    finally:
        os.close(fd)


def _require_regular(st: os.stat_result, path: str) -> None:
    if stat.S_ISDIR(st.st_mode):
        raise SandboxError(f"is a directory: {path}")
    if not stat.S_ISREG(st.st_mode):
        raise SandboxError(f"not a regular file: {path}")


def _norm(path: str) -> PurePosixPath:
    if not path or "\0" in path:
        raise SandboxError(f"invalid path {path!r}")
    return PurePosixPath("/" + path.lstrip("/"))


def _errors(path: str, e: OSError) -> SandboxError:
    if e.errno == errno.ENOENT:
        return NotFound(f"no such file or directory in the sandbox: {path}")
    if e.errno == errno.EISDIR:
        return SandboxError(f"is a directory: {path}")
    if e.errno == errno.ENOTDIR:
        return SandboxError(f"not a directory: {path}")
    if e.errno == errno.ENOSPC:
        return SandboxError(f"sandbox disk is full (writing {path})")
    if e.errno == errno.EXDEV:
        return SandboxError(f"path crosses a mount point: {path}")
    return SandboxError(f"{os.strerror(e.errno or 0)}: {path}")


@contextmanager
def _fsids(uid: int, gid: int):
    """This thread's filesystem uid/gid (setfsuid is per thread), for the block; back to root after.
    Leaving fsuid 0 also drops the filesystem capabilities (DAC_OVERRIDE...) until it returns."""
    libc = _libc()[0]
    libc.setfsgid(gid)
    libc.setfsuid(uid)
    try:
        yield
    finally:
        libc.setfsuid(0)
        libc.setfsgid(0)


def _members(tf: tarfile.TarFile):
    """The archive's members; a truncated or corrupt archive is a clear error, not a crash."""
    it = iter(tf)
    while True:
        try:
            m = next(it)
        except StopIteration:
            return
        except tarfile.TarError as e:
            raise SandboxError(f"broken tar archive: {e}") from None
        yield m


def _rmtree_at(parent: int, name: str) -> None:
    """Remove `name` in the directory open at `parent`, depth first with an explicit stack."""
    try:
        os.unlink(name, dir_fd=parent)
        return
    except FileNotFoundError:
        return
    except IsADirectoryError:
        pass
    except PermissionError:  # Linux answers EISDIR or EPERM for a directory
        if not stat.S_ISDIR(os.stat(name, dir_fd=parent, follow_symlinks=False).st_mode):
            raise
    stack = [(os.dup(parent), name)]
    while stack:
        pfd, n = stack[-1]
        fd = os.open(n, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=pfd)
        pushed = False
        with _fd(fd):
            for child in os.listdir(fd):
                if stat.S_ISDIR(os.stat(child, dir_fd=fd, follow_symlinks=False).st_mode):
                    stack.append((os.dup(fd), child))
                    pushed = True
                    break
                os.unlink(child, dir_fd=fd)
        if not pushed:
            os.rmdir(n, dir_fd=pfd)
            os.close(pfd)
            stack.pop()


class SandboxFS:
    """Host-side view of one sandbox root. `root` is a directory path the host can open."""

    def __init__(self, root: str):
        self.root = root

    @contextmanager
    def _rootfd(self):
        with _fd(os.open(self.root, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)) as fd:
            yield fd

    def _mkdirs(self, rootfd: int, path: PurePosixPath) -> int:
        """mkdir -p inside the root; returns an O_PATH fd of the directory (caller closes)."""
        fd = os.dup(rootfd)
        for i, part in enumerate(path.parts[1:], start=2):
            try:
                nfd = openat2(rootfd, str(PurePosixPath(*path.parts[:i])), os.O_PATH | os.O_DIRECTORY)
            except FileNotFoundError:
                os.mkdir(part, 0o755, dir_fd=fd)
                nfd = os.open(part, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
                os.chown(part, UID_BASE, UID_BASE, dir_fd=fd, follow_symlinks=False)
            os.close(fd)
            fd = nfd
        return fd

    def read(self, path: str, offset: int = 0, length: int | None = None) -> bytes:
        p = _norm(path)
        if not 0 <= offset < 1 << 62 or (length is not None and length < 0):
            raise SandboxError(f"bad offset/length {offset}/{length}")
        try:
            # O_NONBLOCK: a FIFO planted by the sandbox must not block the host; only regular files are read.
            with self._rootfd() as root, _fd(openat2(root, str(p), os.O_RDONLY | os.O_NONBLOCK)) as fd:
                _require_regular(os.fstat(fd), path)
                n = MAX_READ if length is None else min(length, MAX_READ)
                chunks, pos = [], offset
                while n > 0 and (b := os.pread(fd, min(n, 1 << 20), pos)):
                    chunks.append(b)
                    pos += len(b)
                    n -= len(b)
                return b"".join(chunks)
        except OSError as e:
            raise _errors(path, e) from None

    def read_lines(self, path: str, start: int = 1, end: int | None = None) -> str:
        """Lines start..end (1-based, inclusive) as text."""
        if start < 1 or (end is not None and end < start):
            raise SandboxError(f"bad line range {start}..{end}")
        lines = self.read(path).decode(errors="replace").splitlines(keepends=True)
        return "".join(lines[start - 1: end])

    def write(self, path: str, data: bytes, mode: int = 0o644, append: bool = False) -> int:
        p = _norm(path)
        if p == PurePosixPath("/"):
            raise SandboxError("cannot write to /")
        try:
            with self._rootfd() as root:
                os.close(self._mkdirs(root, p.parent))
                # Resolve the final name in the root too (it may be an in-sandbox symlink).
                # No O_TRUNC before we know it is a regular file; O_NONBLOCK so a FIFO cannot block us.
                flags = os.O_WRONLY | os.O_CREAT | os.O_NONBLOCK | (os.O_APPEND if append else 0)
                with _fd(openat2(root, str(p), flags, mode)) as fd:
                    st = os.fstat(fd)
                    _require_regular(st, path)
                    if not append:
                        os.ftruncate(fd, 0)
                    if st.st_uid < UID_BASE:
                        os.fchown(fd, UID_BASE, UID_BASE)
                    view = memoryview(data)
                    while view:
                        view = view[os.write(fd, view):]
                return len(data)
        except OSError as e:
            if e.errno == errno.ENXIO:  # a FIFO with no reader
                raise SandboxError(f"not a regular file: {path}") from None
            raise _errors(path, e) from None

    def open_as(self, uid: int, gid: int, path: str) -> int:
        """Create (or truncate) a file for writing as the sandbox user (host ids), making its directory
        if needed; returns the fd (O_APPEND; the caller writes and closes).

        For files whose path a sandbox process controls (the output spill files): the open runs with
        that user's filesystem ids, so its own permissions decide, and the last component is never a
        symlink. Whatever the user plants, this writes nothing the user could not write itself."""
        p = _norm(path)
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND | os.O_NONBLOCK | os.O_NOFOLLOW
        try:
            with self._rootfd() as root, _fsids(uid, gid):
                try:
                    fd = openat2(root, str(p), flags, 0o644)
                except FileNotFoundError:
                    with _fd(openat2(root, str(p.parent.parent), os.O_PATH | os.O_DIRECTORY)) as pp:
                        try:
                            os.mkdir(p.parent.name, 0o755, dir_fd=pp)
                        except FileExistsError:
                            pass
                    fd = openat2(root, str(p), flags, 0o644)
                try:
                    _require_regular(os.fstat(fd), path)
                    os.set_blocking(fd, True)
                except BaseException:
                    os.close(fd)
                    raise
                return fd
        except OSError as e:
            raise _errors(path, e) from None

    def mkdir(self, path: str) -> None:
        try:
            with self._rootfd() as root:
                os.close(self._mkdirs(root, _norm(path)))
        except OSError as e:
            raise _errors(path, e) from None

    def remove(self, path: str) -> None:
        """rm -rf inside the root, by directory fds: symlinks are removed, never followed; iterative, so
        any depth works. A missing path is fine."""
        p = _norm(path)
        if p == PurePosixPath("/"):
            raise SandboxError("cannot remove /")
        try:
            with self._rootfd() as root:
                try:
                    parent = openat2(root, str(p.parent), os.O_RDONLY | os.O_DIRECTORY)
                except FileNotFoundError:
                    return
                with _fd(parent):
                    _rmtree_at(parent, p.name)
        except OSError as e:
            raise _errors(path, e) from None

    def list(self, path: str) -> list[FileEntry]:
        p = _norm(path)
        try:
            with self._rootfd() as root, _fd(openat2(root, str(p), os.O_RDONLY | os.O_DIRECTORY)) as fd:
                out = []
                for e in os.scandir(fd):
                    st = e.stat(follow_symlinks=False)
                    kind = ("dir" if stat.S_ISDIR(st.st_mode) else "file" if stat.S_ISREG(st.st_mode)
                            else "symlink" if stat.S_ISLNK(st.st_mode) else "other")
                    out.append(FileEntry(name=e.name, type=kind, size=st.st_size, mode=stat.S_IMODE(st.st_mode),
                                         mtime=st.st_mtime))
                return sorted(out, key=lambda e: e.name)
        except OSError as e:
            raise _errors(path, e) from None

    def is_dir(self, path: str) -> bool:
        try:
            with self._rootfd() as root, _fd(openat2(root, str(_norm(path)), os.O_PATH)) as fd:
                return stat.S_ISDIR(os.fstat(fd).st_mode)
        except OSError:
            return False

    # ---- tar in and out
    def extract_tar(self, dest: str, data: bytes) -> int:
        """Unpack a tar (regular files, dirs, symlinks) under dest. Returns the number of entries."""
        base = _norm(dest)
        count = 0
        try:
            tf = tarfile.open(fileobj=io.BytesIO(data), mode="r:*")
        except tarfile.TarError as e:
            raise SandboxError(f"not a tar archive: {e}") from None
        with tf, self._rootfd() as root:
            for m in _members(tf):
                rel = PurePosixPath(m.name.lstrip("/"))
                if ".." in rel.parts:
                    raise SandboxError(f"tar member escapes the destination: {m.name}")
                target = base / rel
                try:
                    if m.isdir():
                        os.close(self._mkdirs(root, target))
                    elif m.isfile():
                        try:
                            src = tf.extractfile(m)
                            data_ = src.read() if src else b""
                        except tarfile.TarError as e:
                            raise SandboxError(f"broken tar archive at {m.name}: {e}") from None
                        self.write(str(target), data_, mode=m.mode & 0o7777)
                    elif m.issym():
                        with _fd(self._mkdirs(root, target.parent)) as parent:
                            try:
                                os.unlink(target.name, dir_fd=parent)
                            except FileNotFoundError:
                                pass
                            os.symlink(m.linkname, target.name, dir_fd=parent)
                            os.chown(target.name, UID_BASE, UID_BASE, dir_fd=parent, follow_symlinks=False)
                    else:
                        raise SandboxError(f"unsupported tar member type (only files, dirs, symlinks): {m.name}")
                except OSError as e:
                    raise _errors(str(target), e) from None
                count += 1
        return count

    def make_tar(self, path: str, max_bytes: int = MAX_READ) -> bytes:
        """A tar of a file or directory; symlinks and hard links are stored as links, never followed.
        Refused past max_bytes of content (sparse files and links must not amplify into host memory)."""
        p = _norm(path)
        buf = io.BytesIO()
        budget = {"left": max_bytes, "seen": {}}
        try:
            with self._rootfd() as root, tarfile.open(fileobj=buf, mode="w") as tf:
                fd = openat2(root, str(p), os.O_PATH)
                self._add(tf, fd, p.name or ".", budget)
        except OSError as e:
            raise _errors(path, e) from None
        except RecursionError:
            raise SandboxError(f"directory tree too deep to download as one tar: {path}") from None
        return buf.getvalue()

    def _add(self, tf: tarfile.TarFile, fd: int, arcname: str, budget: dict) -> None:
        """Add the object open at fd (O_PATH, closed here), recursing into directories by fd."""
        try:
            st = os.fstat(fd)
            info = tarfile.TarInfo(arcname)
            info.mode, info.mtime = stat.S_IMODE(st.st_mode), int(st.st_mtime)
            info.uid = info.gid = 0
            if stat.S_ISDIR(st.st_mode):
                info.type = tarfile.DIRTYPE
                tf.addfile(info)
                with _fd(os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=fd)) as dfd:
                    for name in sorted(os.listdir(dfd)):
                        child = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dfd)
                        cst = os.fstat(child)
                        if stat.S_ISLNK(cst.st_mode):
                            os.close(child)
                            li = tarfile.TarInfo(f"{arcname}/{name}")
                            li.type, li.linkname = tarfile.SYMTYPE, os.readlink(name, dir_fd=dfd)
                            tf.addfile(li)
                        else:
                            self._add(tf, child, f"{arcname}/{name}", budget)
            elif stat.S_ISREG(st.st_mode):
                first = budget["seen"].setdefault((st.st_dev, st.st_ino), arcname)
                if st.st_nlink > 1 and first != arcname:
                    info.type, info.linkname = tarfile.LNKTYPE, first
                    tf.addfile(info)
                    return
                budget["left"] -= st.st_size
                if budget["left"] < 0:
                    raise SandboxError(f"download too large (over {MAX_READ >> 20} MiB or the sandbox's disk size): "
                                       "ask for a narrower path")
                # Reopen the O_PATH fd for reading: the object is already resolved, nothing is followed.
                with os.fdopen(os.open(f"/proc/self/fd/{fd}", os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK), "rb") as f:
                    info.size = st.st_size
                    tf.addfile(info, f)
        finally:
            os.close(fd)
