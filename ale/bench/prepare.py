"""The offline verifier route: `ale bench prepare --tasks DIR` provisions what Terminal-Bench verifiers fetch.

TB2 tests/test.sh files download at verify time: `curl .../uv/VER/install.sh | sh` then `uvx -p 3.13 -w
pytest==... pytest` (uv, a CPython build and wheels), `pip install pytest==...` into the image's Python,
and `apt-get install -y curl expect ...`. They run unmodified here; what they would fetch is put in
place beforehand, so that with no network their own commands succeed and their real pytest run decides:

- uv and uvx of the pinned version (the `uv` PyPI wheel ships the binaries) in $HOME/.local/bin with the
  `env` file the installer writes, so `source $HOME/.local/bin/env` and `uvx` work after the failed curl;
- a CPython of the version `uvx -p` asks for (ale.sandbox.standins' kit; the nearest one Debian ships,
  recorded as a deviation) on the verifier's PATH after the image's own;
- the pinned wheels (every `NAME==VERSION` of test.sh) and their dependencies, downloaded from PyPI for
  that Python into a wheelhouse that uv and pip read offline (UV_FIND_LINKS/UV_OFFLINE, PIP_FIND_LINKS/
  PIP_NO_INDEX in the verifier's environment only);
- the Debian packages any `apt-get install` in tests/ names, with their dependencies, as a local apt
  source the verifier's `apt-get update` reads (the remote ones fail offline; apt then installs from it).

Kept: test.sh and tests/ byte for byte; nothing is served that fakes a download (the failed curl stays
failed). Dropped: uv's own CPython downloads (UV_PYTHON_DOWNLOADS=never) and any other network use.
The kit lives in <ALE home>/bench/verifier: `tools/` (uv, CPython), `wheels/`, `apt/`, and one manifest per
task (`tasks/<id>.json`: what its verifier gets, deviations); `verifier_kit()` turns a manifest into the
tar uploaded at grading time and the verifier's environment.
"""
from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from ale.bench.task import Task

KIT = "/opt/ale/verifier"  # where the kit lands inside the verifier's sandbox
_PIN = re.compile(r"(?<![\w.-])([A-Za-z0-9][A-Za-z0-9_.-]*==[0-9][A-Za-z0-9_.+!-]*)")
_UV_VERSION = re.compile(r"astral\.sh/uv/([0-9][0-9.]*)/install\.sh")
_UVX_PYTHON = re.compile(r"\buvx?\b[^\n]*?(?:\\\n[^\n]*?)*?(?:-p|--python)[ =]+([0-9]+\.[0-9]+)")
_APT_INSTALL = re.compile(r"apt(?:-get)?\s+install\s+([^;&|\n\"'`]*)")
_PLATFORMS = ["manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64",
              "manylinux_2_5_x86_64", "manylinux1_x86_64", "linux_x86_64"]


@dataclass
class Needs:
    """What a task's verifier fetches at verify time, read from its tests/ files."""
    uv: str | None = None  # uv version the installer line pins
    python: str | None = None  # `uvx -p X.Y`
    pins: list[str] = field(default_factory=list)  # NAME==VERSION
    apt: list[str] = field(default_factory=list)


def needs(task: Task) -> Needs:
    texts = [p.read_text(errors="replace") for p in sorted(task.tests_dir.rglob("*"))
             if p.is_file() and p.suffix in (".sh", ".py", "")]
    test_sh = task.tests_dir / "test.sh"
    sh = test_sh.read_text(errors="replace") if test_sh.exists() else ""
    n = Needs()
    if m := _UV_VERSION.search(sh):
        n.uv = m.group(1)
    if m := _UVX_PYTHON.search(sh):
        n.python = m.group(1)
    n.pins = sorted(set(_PIN.findall(sh)))
    apt: set[str] = set()
    for t in texts:
        for m in _APT_INSTALL.finditer(t):
            apt.update(w for w in m.group(1).split() if not w.startswith("-") and re.fullmatch(r"[a-z0-9][a-z0-9+.-]+", w))
    n.apt = sorted(apt)
    return n


def image_python(task: Task) -> str | None:
    """The Python minor of a python:3.X base image (its verifier's `pip install` targets it)."""
    if task.dockerfile is None:
        return None
    m = re.search(r"^\s*FROM\s+(?:docker\.io/)?(?:library/)?python:(3\.\d+)", task.dockerfile.read_text(), re.M | re.I)
    return m.group(1) if m else None


def kit_dir(home: Path) -> Path:
    return home / "bench" / "verifier"


def _run(cmd: list[str], what: str, cwd: Path | None = None) -> str:
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd)
    if r.returncode != 0:
        raise RuntimeError(f"{what} failed:\n{(r.stdout + r.stderr)[-2000:]}")
    return r.stdout


def _uv(root: Path, version: str) -> Path:
    """uv and uvx of `version` from the PyPI wheel, as the installer lays them out ($HOME/.local/bin)."""
    out = root / "tools" / f"uv-{version}"
    if (out / "uvx").exists():
        return out
    tmp = root / "tools" / ".download"
    shutil.rmtree(tmp, ignore_errors=True)
    _run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--python-version", "3.12",
          *sum((["--platform", p] for p in _PLATFORMS), []), "-d", str(tmp), f"uv=={version}"], f"pip download uv=={version}")
    wheel = next(tmp.glob("uv-*.whl"))
    out.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as z:
        for name in z.namelist():
            if re.fullmatch(r"uv-[^/]+\.data/scripts/(uv|uvx)", name):
                (out / name.rsplit("/", 1)[1]).write_bytes(z.read(name))
                (out / name.rsplit("/", 1)[1]).chmod(0o755)
    shutil.rmtree(tmp)
    if not (out / "uvx").exists():
        raise RuntimeError(f"the uv {version} wheel holds no uv/uvx binaries")
    return out


def _wheels(root: Path, pins: list[str], python: str) -> list[str]:
    """Download the pins and their dependencies for CPython `python`; returns the wheel file names."""
    dest = root / "wheels"
    dest.mkdir(parents=True, exist_ok=True)
    out = _run([sys.executable, "-m", "pip", "download", "--only-binary=:all:", "--implementation", "cp",
                "--python-version", python, *sum((["--platform", p] for p in _PLATFORMS), []),
                "-d", str(dest), *pins], f"pip download {' '.join(pins)} (Python {python})")
    names = set(re.findall(r"(?:Saved|File was already downloaded) (\S+\.whl)", out))
    return sorted(Path(n).name for n in names)


def _debs(root: Path, packages: list[str]) -> list[str]:
    """The packages and their dependency closure (against an empty system: the image installs only what it
    lacks) from the Debian 12 archive the stand-ins use, into the kit's local apt source."""
    from ale.sandbox.standins import _apt

    apt_root = root / "apt"
    apt_root.mkdir(parents=True, exist_ok=True)
    opts = _apt(root.parent.parent, "bookworm")
    status = root / "tools" / "empty-status"
    status.parent.mkdir(parents=True, exist_ok=True)
    status.write_text("")
    _run(["apt-get", *opts, "update"], "apt-get update (bookworm)")
    cache = root / "tools" / "apt-cache"
    (cache / "archives" / "partial").mkdir(parents=True, exist_ok=True)
    _run(["apt-get", *opts, "-o", f"Dir::State::status={status}", "-o", f"Dir::Cache={cache}",
          "-o", "Dir::Cache::archives=" + str(cache / "archives"), "-y", "--no-install-recommends",
          "install", "--download-only", *packages], f"apt-get download {' '.join(packages)}")
    names = []
    for deb in sorted((cache / "archives").glob("*.deb")):
        shutil.copy(deb, apt_root / deb.name)
        names.append(deb.name)
        deb.unlink()
    return names


def prepare(tasks: list[Task], home: Path, log=print) -> dict[str, dict]:
    """Provision every task's verifier; returns {task id: manifest}. Writes the manifests."""
    from ale.sandbox.standins import DEBIAN_PYTHONS, cpython_kit

    root = kit_dir(home)
    manifests = {}
    for task in tasks:
        n = needs(task)
        m: dict = {"task": task.id, "uv": n.uv, "python": None, "wheels": [], "debs": [], "deviations": []}
        if n.uv:
            _uv(root, n.uv)
            log(f"{task.id}: uv {n.uv}")
        pythons = {p for p in (n.python, image_python(task)) if p}
        if n.python:
            have = min(DEBIAN_PYTHONS, key=lambda v: (abs(int(v.split(".")[1]) - int(n.python.split(".")[1])), v))
            if have != n.python:
                m["deviations"].append(f"verifier Python {have} instead of {n.python} (`uvx -p {n.python}`): "
                                       f"no Debian release ships {n.python}")
            _, version = cpython_kit(home, have, log)
            m["python"] = have
            m["deviations"].append(f"verifier CPython {version} from Debian {DEBIAN_PYTHONS[have]} (uv would "
                                   "download a python-build-standalone build)")
            pythons.discard(n.python)
            pythons.add(have)
        if n.pins:
            for py in sorted(pythons or {"3.11"}):
                m["wheels"] = sorted(set(m["wheels"]) | set(_wheels(root, n.pins, py)))
            log(f"{task.id}: {len(m['wheels'])} wheels for {', '.join(n.pins)}")
        if n.apt:
            m["debs"] = _debs(root, n.apt)
            log(f"{task.id}: {len(m['debs'])} Debian packages for apt-get install {' '.join(n.apt)}")
        (root / "tasks").mkdir(parents=True, exist_ok=True)
        (root / "tasks" / f"{task.id}.json").write_text(json.dumps(m, indent=1))
        manifests[task.id] = m
    if any(m["debs"] for m in manifests.values()):
        _run(["sh", "-c", "dpkg-scanpackages --multiversion . /dev/null > Packages"], "dpkg-scanpackages", cwd=root / "apt")
    return manifests


def manifest(task: Task, home: Path) -> dict | None:
    try:
        return json.loads((kit_dir(home) / "tasks" / f"{task.id}.json").read_text())
    except (OSError, ValueError):
        return None


def verifier_kit(m: dict, home: Path, image_has_python: bool) -> tuple[bytes, dict[str, str]]:
    """(a tar to unpack at / in the verifier's sandbox, the environment additions) for a manifest."""
    root = kit_dir(home)
    buf = io.BytesIO()
    env: dict[str, str] = {}
    with tarfile.open(fileobj=buf, mode="w") as tf:
        def add(src: Path, arc: str) -> None:
            tf.add(src, arcname=arc.lstrip("/"), recursive=True)

        if m.get("uv"):
            uv = root / "tools" / f"uv-{m['uv']}"
            for b in ("uv", "uvx"):
                add(uv / b, f"/root/.local/bin/{b}")
            env_file = tarfile.TarInfo("root/.local/bin/env")
            text = b'case ":${PATH}:" in *:"$HOME/.local/bin":*) ;; *) export PATH="$HOME/.local/bin:$PATH" ;; esac\n'
            env_file.size, env_file.mode = len(text), 0o644
            tf.addfile(env_file, io.BytesIO(text))
            env.update(UV_OFFLINE="1", UV_PYTHON_DOWNLOADS="never", UV_NO_PROGRESS="1")
        if m.get("python"):
            v = m["python"]
            if not image_has_python:
                add(home / "standins" / f"cpython-{v}" / f"python{v}", f"/opt/ale/python{v}")
            link = tarfile.TarInfo(f"{KIT.lstrip('/')}/bin/python{v}")
            link.type, link.linkname = tarfile.SYMTYPE, f"/opt/ale/python{v}/usr/bin/python{v}"
            tf.addfile(link)
        if m.get("wheels"):
            for w in m["wheels"]:
                add(root / "wheels" / w, f"{KIT}/wheels/{w}")
            env.update(UV_FIND_LINKS=f"{KIT}/wheels", PIP_FIND_LINKS=f"{KIT}/wheels", PIP_NO_INDEX="1")
        if m.get("debs"):
            for d in m["debs"]:
                add(root / "apt" / d, f"{KIT}/apt/{d}")
            add(root / "apt" / "Packages", f"{KIT}/apt/Packages")
            src = f"deb [trusted=yes] file:{KIT}/apt ./\n".encode()
            info = tarfile.TarInfo("etc/apt/sources.list.d/ale-verifier.list")
            info.size, info.mode = len(src), 0o644
            tf.addfile(info, io.BytesIO(src))
    return buf.getvalue(), env
