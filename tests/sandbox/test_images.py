"""Images: Dockerfile-subset builds with layer caching, rootfs tarball import, list and remove."""

import io
import subprocess
import tarfile
from pathlib import Path

import pytest

from ale.sandbox import SandboxError, SandboxSpec
from tests.sandbox.conftest import run_in


def test_dockerfile_subset_build_and_cache(manager, tmp_path):
    m, run = manager
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "main.py").write_text("print('from app')\n")
    (tmp_path / "note.txt").write_text("note\n")
    (tmp_path / "Dockerfile").write_text(
        "# comment\nFROM base\nENV GREETING=hello \\\n    OTHER=x\nWORKDIR /app\nCOPY app/ /app/\n"
        "COPY note.txt .\nRUN echo \"$GREETING from $(pwd)\" > built.txt && \\\n    rm /etc/debian_version\n"
        'RUN ["sh", "-c", "echo json-form > /app/json.txt"]\nUSER root\n')
    name = f"test-build-{tmp_path.name}".lower()
    logs: list[str] = []
    img = run(m.build_image(name, tmp_path / "Dockerfile", tmp_path, log=logs.append))
    try:
        assert img.config.workdir == "/app" and img.config.env["GREETING"] == "hello"
        out = run_in(manager, name, "pwd; python3 main.py; cat note.txt built.txt json.txt; "
                                     "test -e /etc/debian_version; echo $?; echo $OTHER")
        assert out == "/app\nfrom app\nnote\nhello from /app\njson-form\n1\nx\n"
        logs.clear()
        run(m.build_image(name, tmp_path / "Dockerfile", tmp_path, log=logs.append))
        assert logs and all("cached" in line for line in logs if ": " in line and "ignored" not in line)
        (tmp_path / "note.txt").write_text("changed\n")  # a COPY input changed: that step and later rebuild
        logs.clear()
        run(m.build_image(name, tmp_path / "Dockerfile", tmp_path, log=logs.append))
        assert any("COPY note.txt" in line for line in logs) and any("RUN" in line for line in logs)
    finally:
        run(m.remove_image(name))
    assert name not in {i.name for i in m.images.list()}


@pytest.mark.parametrize("dockerfile,message", [
    ("RUN true\n", "first instruction must be FROM"),
    ("FROM base\nONBUILD RUN true\n", ":2: unsupported instruction ONBUILD"),
    ("FROM base\nFROBNICATE x\n", ":2: unsupported instruction FROBNICATE"),
    ("FROM base\nRUN --mount=type=bind,source=.,target=/x true\n", ":2: RUN --mount=type=bind.*not supported"),
    ("FROM base\nADD https://example.invalid/x /x\n", "ADD from a URL is not supported"),
    ("FROM base\nCOPY --exclude=*.md . /x\n", ":2: COPY --exclude is not supported"),
    ("FROM base AS one\nFROM two\n", "no such image: two"),
    ("FROM base\nCOPY missing.txt /x\n", "COPY source not found"),
    ("FROM base\nCOPY ../../etc/passwd /x\n", "outside the build context"),
    ("FROM base\nRUN exit 3\n", "RUN failed with exit code 3"),
    ("FROM no-such-image\n", "no such image"),
])
def test_bad_dockerfiles(manager, tmp_path, dockerfile, message):
    m, run = manager
    (tmp_path / "Dockerfile").write_text(dockerfile)
    with pytest.raises(SandboxError, match=message):
        run(m.build_image("test-bad", tmp_path / "Dockerfile", tmp_path))


def _static_hello(tmp_path: Path) -> Path:
    src = tmp_path / "hello.c"
    src.write_text('#include <stdio.h>\nint main(){puts("hello from an imported image");return 0;}\n')
    out = tmp_path / "hello"
    subprocess.run(["cc", "-static", "-O2", "-o", str(out), str(src)], check=True)
    return out


def test_import_rootfs_tarball(manager, tmp_path):
    m, run = manager
    hello = _static_hello(tmp_path)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for d in ["bin", "etc", "tmp", "workspace"]:
            ti = tarfile.TarInfo(d)
            ti.type, ti.mode = tarfile.DIRTYPE, 0o755
            tf.addfile(ti)
        tf.add(hello, arcname="bin/hello")
        link = tarfile.TarInfo("bin/hi")
        link.type, link.linkname = tarfile.SYMTYPE, "/bin/hello"
        tf.addfile(link)
        hard = tarfile.TarInfo("bin/hello2")
        hard.type, hard.linkname = tarfile.LNKTYPE, "bin/hello"
        tf.addfile(hard)
        data = b"imported\n"
        f = tarfile.TarInfo("etc/marker")
        f.size = len(data)
        tf.addfile(f, io.BytesIO(data))
    tar = tmp_path / "rootfs.tar"
    tar.write_bytes(buf.getvalue())
    img = m.images.import_tar("test-imported", tar)
    try:
        info = run(m.create(SandboxSpec(image=img.name)))
        for prog in (["/bin/hello"], ["/bin/hi"], ["/bin/hello2"]):
            r = run(m.execute(info.id, prog))
            assert r.stdout == "hello from an imported image\n", prog
        assert run(m.read_file(info.id, "/etc/marker")) == b"imported\n"
        run(m.delete(info.id))
    finally:
        run(m.remove_image("test-imported"))


def test_import_refuses_writing_through_links(manager, tmp_path):
    m, _ = manager
    victim = tmp_path / "victim"
    victim.mkdir()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        link = tarfile.TarInfo("etc")
        link.type, link.linkname = tarfile.SYMTYPE, str(victim)
        tf.addfile(link)
        f = tarfile.TarInfo("etc/pwned")
        f.size = 1
        tf.addfile(f, io.BytesIO(b"x"))
    tar = tmp_path / "evil.tar"
    tar.write_bytes(buf.getvalue())
    with pytest.raises(SandboxError, match="link|non-directory"):
        m.images.import_tar("test-evil", tar)
    assert list(victim.iterdir()) == []
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        f = tarfile.TarInfo("../escape")
        f.size = 1
        tf.addfile(f, io.BytesIO(b"x"))
    tar.write_bytes(buf.getvalue())
    with pytest.raises(SandboxError, match="escapes"):
        m.images.import_tar("test-evil", tar)


def test_user_directive(manager, tmp_path):
    m, run = manager
    (tmp_path / "Dockerfile").write_text(
        "FROM base\nRUN useradd -m -u 1234 app\nUSER app\nWORKDIR /home/app\nRUN id -un > who.txt\n"
        "COPY --chown=app:app data/ /home/app/data/\nCOPY plain.txt /home/app/\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.txt").write_text("a\n")
    (tmp_path / "plain.txt").write_text("p\n")
    name = f"test-user-{tmp_path.name}".lower()
    img = run(m.build_image(name, tmp_path / "Dockerfile", tmp_path))
    try:
        assert img.config.user == "1234:1234"
        out = run_in(manager, name, "id -u; cat who.txt; stat -c %U who.txt; pwd; touch /etc/x 2>/dev/null || echo ro; "
                                     "stat -c %U:%G data data/a.txt plain.txt; test -e /.ale-chown || echo no-list")
        assert out.split() == ["1234", "app", "app", "/home/app", "ro", "app:app", "app:app", "root:root", "no-list"]
        info = run(m.create(SandboxSpec(image=name, user="root")))  # a spec can override the image's user
        assert run(m.execute(info.id, ["id", "-u"])).stdout == "0\n"
        run(m.delete(info.id))
    finally:
        run(m.remove_image(name))
    (tmp_path / "Dockerfile").write_text("FROM base\nUSER nosuchuser\n")
    with pytest.raises(SandboxError, match="no such user"):
        run(m.build_image("test-bad-user", tmp_path / "Dockerfile", tmp_path))


def test_gc_keeps_layers_that_any_live_sandbox_mounts(manager, tmp_path):
    """`ale sandbox gc` runs in its own process: it must see layers other servers' sandboxes use."""
    from ale.sandbox import images

    m, run = manager
    layer = f"gctest{tmp_path.name[-8:]}".lower()
    (m.images.layers_dir / layer).mkdir()
    (m.images.layers_dir / layer / "marker").write_text("x")
    base = m.images.get("base")
    name = f"test-gc-{tmp_path.name}".lower()
    m.images.save(images.Image(name, [layer, *base.layers], base.config))
    info = run(m.create(SandboxSpec(image=name)))
    try:
        assert run(m.execute(info.id, ["cat", "/marker"])).stdout == "x"
        m.images._meta(name).unlink()  # the image is gone (say another server removed it)
        other = images.ImageStore(m.images.home)  # what a separate `ale sandbox gc` process sees
        assert layer in other.mounted_layers()
        assert layer not in other.gc()
        assert (m.images.layers_dir / layer).exists()
    finally:
        run(m.delete(info.id))
    assert layer in images.ImageStore(m.images.home).gc()
    assert not (m.images.layers_dir / layer).exists()
