"""Offline stand-ins for the base images Terminal-Bench tasks name in FROM.

On a machine that reaches Debian's packages and PyPI but no image registry, `ale sandbox image standin
NAME` builds an image stored under NAME (e.g. `ubuntu:24.04`, `python:3.13-slim-bookworm`) from ALE's
Debian 12 base, with the ordinary image builder, from a Dockerfile generated here. It is not the real
image, and says so: every stand-in keeps a record of how it differs (`record()`), and a bench run whose
task image stands on one copies those lines into its results.

Recipes (what is kept and what is dropped against the real images):
- ubuntu:22.04/24.04, debian:bookworm(-slim), debian:12: ALE's base (Debian 12 minbase plus python3,
  gcc, git, curl, ...), WORKDIR / as in the real images. apt installs get Debian 12's versions.
- python:3.X(-slim)(-bookworm): the same base plus a real CPython of that minor version at
  /usr/local/bin/python3.X (python, python3, pip, pip3 beside it, as the official images have them).
  The interpreter is Debian's own build taken from the Debian release that ships that minor version
  (3.11: Debian 12, 3.13: Debian 13), unpacked into /opt/ale/pythonX.Y with that release's C library
  and the loader path patched to it (patchelf), so a 3.13 runs on a Debian 12 userland. A minor version
  no Debian release ships gets the nearest one, and the record says so. pip comes from PyPI.

Building needs the host's apt (Debian's archive keyring, the mirror the host uses), patchelf, and pip.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .images import apt_mirror
from .spec import SandboxError

# Debian releases that ship a CPython minor version as their python3, with that build's version.
DEBIAN_PYTHONS = {"3.11": "bookworm", "3.13": "trixie"}
# What a CPython kit takes from the Debian release: the interpreter, its stdlib and headers, and the
# shared libraries it loads (the C library included: a newer release's build needs its newer glibc).
_KIT_PACKAGES = ["libc6", "libbz2-1.0", "libcrypt1", "libexpat1", "libffi8", "libgcc-s1", "liblzma5",
                 "libncursesw6", "libreadline8", "libsqlite3-0", "libssl3", "libtinfo6", "libuuid1", "libzstd1",
                 "zlib1g", "python{v}", "python{v}-minimal", "python{v}-dev", "python{v}-venv", "libpython{v}",
                 "libpython{v}-dev", "libpython{v}-minimal", "libpython{v}-stdlib"]
_T64 = {"trixie": {"libreadline8": "libreadline8t64", "libssl3": "libssl3t64"}}  # renamed for 64-bit time_t
_BASE_EXTRAS = ("ALE's base packages are preinstalled (python3 3.11 at /usr/bin, gcc 12, git, curl, make, "
                "procps, jq, sqlite3, ...) where the real image has fewer")
_DEBIAN = "Debian 12 (bookworm) userland"


@dataclass
class Recipe:
    name: str
    python: str | None = None  # the CPython minor version put in /usr/local/bin
    deviations: list[str] = field(default_factory=list)


def recipe(name: str) -> Recipe:
    """The stand-in recipe for an image name; SandboxError naming the supported ones otherwise."""
    repo, _, tag = name.partition(":")
    repo = repo.removeprefix("docker.io/").removeprefix("library/")
    tag = tag or "latest"
    if repo == "ubuntu" and tag in ("22.04", "24.04", "jammy", "noble"):
        ver = {"jammy": "22.04", "noble": "24.04"}.get(tag, tag)
        return Recipe(name, None, [f"{_DEBIAN} instead of Ubuntu {ver}: apt installs Debian 12's package versions "
                                   "(e.g. gcc 12, coq 8.16, python3 3.11)", _BASE_EXTRAS])
    if repo == "debian" and tag in ("bookworm", "bookworm-slim", "12", "12-slim"):
        return Recipe(name, None, [_BASE_EXTRAS])
    m = re.fullmatch(r"3\.(\d+)(?:\.\d+)?(-slim)?(-bookworm)?", tag) if repo == "python" else None
    if m:
        want = f"3.{m.group(1)}"
        have = min(DEBIAN_PYTHONS, key=lambda v: (abs(int(v.split(".")[1]) - int(m.group(1))), v))
        devs = [] if want == have else [f"CPython {have} instead of {want} (no Debian release ships {want})"]
        devs.append(f"CPython {have} is Debian {DEBIAN_PYTHONS[have]}'s build (with its own C library under "
                    f"/opt/ale/python{have}) rather than python.org's source build in /usr/local")
        if not m.group(3):
            devs.append(f"{_DEBIAN} (the tag names no release: the real image follows Debian's newest)")
        return Recipe(name, have, [*devs, _BASE_EXTRAS])
    raise SandboxError(f"no stand-in recipe for {name!r}; stand-ins exist for ubuntu:22.04, ubuntu:24.04, "
                       "debian:bookworm(-slim), debian:12, python:3.X(-slim)(-bookworm)")


def _apt(home: Path, suite: str) -> list[str]:
    """apt-get options for a private package list of one Debian suite (the host's lists stay as they are)."""
    d = home / "standins" / f"apt-{suite}"
    (d / "lists" / "partial").mkdir(parents=True, exist_ok=True)
    (d / "cache" / "archives" / "partial").mkdir(parents=True, exist_ok=True)
    keyring = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
    if not keyring.exists():
        raise SandboxError("building a stand-in needs Debian's archive keyring (apt-get install debian-archive-keyring)")
    (d / "sources.list").write_text(f"deb [signed-by={keyring}] {apt_mirror() or 'http://deb.debian.org/debian'} {suite} main\n")
    return ["-o", f"Dir::Etc::SourceList={d / 'sources.list'}", "-o", "Dir::Etc::SourceParts=-",
            "-o", f"Dir::State::Lists={d / 'lists'}", "-o", f"Dir::Cache={d / 'cache'}",
            "-o", "APT::Sandbox::User=root", "-o", "Debug::NoLocking=1"]


def _run(cmd: list[str], what: str, cwd: Path | None = None) -> str:
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, timeout=1800)
    except FileNotFoundError:
        raise SandboxError(f"{what} needs {cmd[0]} (apt-get install {cmd[0]})") from None
    if r.returncode != 0:
        raise SandboxError(f"{what} failed ({' '.join(cmd[:3])} ...):\n{(r.stdout + r.stderr)[-2000:]}")
    return r.stdout


def cpython_kit(home: Path, minor: str, log=print) -> tuple[Path, str]:
    """A CPython `minor` (a key of DEBIAN_PYTHONS) laid out for /opt/ale/python<minor> in an image:
    (the folder holding `python<minor>/` on this host, the full version). Built once per home."""
    out = home / "standins" / f"cpython-{minor}"
    kit = out / f"python{minor}"
    stamp = out / "version"
    if stamp.exists():
        return out, stamp.read_text().strip()
    suite = DEBIAN_PYTHONS[minor]
    prefix = f"/opt/ale/python{minor}"
    log(f"fetching CPython {minor} from Debian {suite} (apt-get download, once)")
    apt = _apt(home, suite)
    _run(["apt-get", *apt, "update"], f"apt-get update ({suite})")
    shutil.rmtree(out, ignore_errors=True)
    debs = out / "debs"
    debs.mkdir(parents=True)
    pkgs = [_T64.get(suite, {}).get(p, p).format(v=minor) for p in _KIT_PACKAGES]
    _run(["apt-get", *apt, "download", *pkgs], f"apt-get download ({suite})", cwd=debs)
    version = ""
    for deb in sorted(debs.glob("*.deb")):
        _run(["dpkg-deb", "-x", str(deb), str(kit)], "dpkg-deb")
        if deb.name.startswith(f"python{minor}-minimal_"):
            version = deb.name.split("_")[1].split("-")[0]
    shutil.rmtree(debs)
    lib = kit / "usr/lib/x86_64-linux-gnu"
    for junk in [*lib.glob("libpython*.a"), *(kit / f"usr/lib/python{minor}").glob("config-*/libpython*.a")]:
        junk.unlink()
    # pip installs where the official images let it (no "externally managed" refusal); the multiarch
    # pyconfig.h replaces its wrapper so `-I <prefix>/usr/include/pythonX.Y` finds it (C extensions build)
    (kit / f"usr/lib/python{minor}/EXTERNALLY-MANAGED").unlink(missing_ok=True)
    # pip's scripts dir (Debian's scheme: <prefix>/local/bin) is /usr/local/bin, as in the official images
    (kit / "usr/local").mkdir(parents=True, exist_ok=True)
    (kit / "usr/local/bin").symlink_to("/usr/local/bin")
    real_cfg = kit / f"usr/include/x86_64-linux-gnu/python{minor}/pyconfig.h"
    if real_cfg.exists():
        shutil.copy(real_cfg, kit / f"usr/include/python{minor}/pyconfig.h")
    _run(["patchelf", "--set-interpreter", f"{prefix}/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
          "--force-rpath", "--set-rpath", f"{prefix}/usr/lib/x86_64-linux-gnu",
          str(kit / f"usr/bin/python{minor}")], "patchelf")
    stamp.write_text(version + "\n")
    log(f"CPython {version} ready in {kit}")
    return out, version


def _pip_wheel(home: Path) -> Path:
    d = home / "standins" / "pip"
    if not any(d.glob("pip-*.whl")):
        d.mkdir(parents=True, exist_ok=True)
        _run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-d", str(d), "pip"],
             "pip download pip")
    return max(d.glob("pip-*.whl"))


HOST_CAS = Path("/usr/local/share/ca-certificates")


def dockerfile(r: Recipe, pip_wheel: str | None = None, host_cas: bool = False) -> str:
    """The generated Dockerfile of a recipe (its context holds python<minor>/, the pip wheel and host-ca/)."""
    lines = ["FROM base"]
    if host_cas:  # HTTPS from the sandbox goes through this machine's proxy, which these sign for
        lines += ["COPY host-ca/ /usr/local/share/ca-certificates/",
                  "RUN update-ca-certificates >/dev/null && printf '[global]\\ncert = /etc/ssl/certs/ca-certificates.crt\\n' "
                  "> /etc/pip.conf"]
    if r.python:
        v, prefix = r.python, f"/opt/ale/python{r.python}"
        lines += [f"COPY python{v} {prefix}", f"COPY {pip_wheel} /tmp/",
                  f"RUN ln -s {prefix}/usr/bin/python{v} /usr/local/bin/python{v} && "
                  f"ln -s python{v} /usr/local/bin/python3 && ln -s python3 /usr/local/bin/python && "
                  f"python{v} /tmp/{pip_wheel}/pip install --no-index --no-cache-dir /tmp/{pip_wheel} && "
                  f"rm /tmp/{pip_wheel} && "
                  f"for p in pip pip3 pip{v}; do printf '#!/bin/sh\\nexec /usr/local/bin/python{v} -m pip \"$@\"\\n' "
                  f"> /usr/local/bin/$p && chmod 755 /usr/local/bin/$p; done && python -m pip --version",
                  f"ENV LANG=C.UTF-8 PYTHON_VERSION={v}"]
    lines.append("WORKDIR /")
    return "\n".join(lines) + "\n"


def _record_path(home: Path, name: str) -> Path:
    return home / "standins" / "records" / (re.sub(r"[^A-Za-z0-9._-]", "_", name) + ".json")


async def build(manager, name: str, log=print):
    """Build the stand-in for `name`, stored under that name; returns the image."""
    r = recipe(name)
    home = manager.images.home
    ctx = home / "standins" / "contexts"  # a python recipe's context is its CPython kit's folder
    wheel = None
    if r.python:
        ctx, version = cpython_kit(home, r.python, log)
        r.deviations[-2] = r.deviations[-2].replace(f"CPython {r.python} is", f"CPython {version} is")
        whl = _pip_wheel(home)
        shutil.copy(whl, ctx / whl.name)
        wheel = whl.name
    ctx.mkdir(parents=True, exist_ok=True)
    cas = sorted(HOST_CAS.glob("*.crt"))
    shutil.rmtree(ctx / "host-ca", ignore_errors=True)
    if cas:
        (ctx / "host-ca").mkdir()
        for c in cas:
            shutil.copy(c, ctx / "host-ca" / c.name)
        r.deviations.append(f"trusts this machine's extra CA certificates ({', '.join(c.name for c in cas)} from "
                            f"{HOST_CAS}) and pip uses the system CA bundle (/etc/pip.conf)")
    df = ctx / ("Dockerfile." + re.sub(r"[^A-Za-z0-9._-]", "_", name))
    df.write_text(dockerfile(r, wheel, bool(cas)))
    await manager._image("base")  # built on first use
    img = await manager.build_image(name, df, ctx, log=log)
    path = _record_path(home, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"name": name, "layers": img.layers, "deviations": r.deviations,
                                "built": time.time()}, indent=1))
    return img


def record(store, name: str) -> dict | None:
    """How the image stored under `name` differs from the real one, if it is a stand-in built here
    ({"name", "deviations"}); None for any other image (a pulled or imported one replaces the record)."""
    try:
        rec = json.loads(_record_path(store.home, name).read_text())
        return rec if store.exists(name) and store.get(name).layers == rec["layers"] else None
    except (OSError, ValueError, KeyError):
        return None
