"""Images from a registry without Docker: a real registry (Debian's docker-registry, the distribution
server) on 127.0.0.1, an image made by umoci (two layers: a whiteout and an opaque directory in the
second), pushed by skopeo, pulled and run by ALE; `docker save`-style archives imported; task images
rebuilt when the base's digest changes. Nothing leaves loopback."""

import json
import secrets
import shutil
import socket
import subprocess
import time

import httpx
import pytest

from ale.sandbox import NotFound, SandboxError, SandboxSpec
from ale.sandbox import oci

pytestmark = pytest.mark.skipif(not all(shutil.which(t) for t in ("skopeo", "umoci", "docker-registry")),
                                reason="needs skopeo, umoci and docker-registry (apt)")


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """A registry on 127.0.0.1:<free port>, storage in a temp dir; yields 'host:port'."""
    d = tmp_path_factory.mktemp("registry")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (d / "config.yml").write_text(
        f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {d}/data\n  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\nlog:\n  level: error\n")
    proc = subprocess.Popen(["docker-registry", "serve", str(d / "config.yml")], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/v2/", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            pytest.fail("the test registry did not start")
        yield f"127.0.0.1:{port}"
    finally:
        proc.kill()
        proc.wait()


def _sh(*cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, (cmd, r.stderr)
    return r.stdout


def _make_image(tmp, tag: str, extra: str | None = None):
    """An OCI layout made with umoci: layer 1 a static binary and files, layer 2 a whiteout of
    /etc/gone.txt and an opaque /data holding only new.txt; config Env, WorkingDir, User, Cmd."""
    layout = tmp / "layout"
    root = tmp / "rootfs"
    if not layout.exists():
        (root / "bin").mkdir(parents=True)
        (root / "etc").mkdir()
        (root / "data").mkdir()
        src = tmp / "hello.c"
        src.write_text('#include <stdio.h>\n#include <stdlib.h>\n'
                       'int main(){printf("hello %s\\n", getenv("FOO"));return 0;}\n')
        _sh("cc", "-static", "-O2", "-o", str(root / "bin" / "hello"), str(src))
        (root / "etc" / "passwd").write_text("root:x:0:0::/:/bin/hello\napp:x:1234:1234::/data:/bin/hello\n")
        (root / "etc" / "group").write_text("root:x:0:\napp:x:1234:\n")
        (root / "etc" / "gone.txt").write_text("gone\n")
        (root / "data" / "old.txt").write_text("old\n")
        (tmp / "newdata").mkdir()
        (tmp / "newdata" / "new.txt").write_text("new\n")
        _sh("umoci", "init", "--layout", str(layout))
        _sh("umoci", "new", "--image", f"{layout}:{tag}")
        _sh("umoci", "insert", "--image", f"{layout}:{tag}", str(root), "/")
        _sh("umoci", "insert", "--image", f"{layout}:{tag}", "--whiteout", "/etc/gone.txt")
        _sh("umoci", "insert", "--image", f"{layout}:{tag}", "--opaque", str(tmp / "newdata"), "/data")
        _sh("umoci", "config", "--image", f"{layout}:{tag}", "--config.env", "FOO=from-config",
            "--config.workingdir", "/data", "--config.user", "app", "--config.cmd", "/bin/hello")
    if extra is not None:  # a new version of the same tag: one more layer
        (tmp / "extra.txt").write_text(extra)
        _sh("umoci", "insert", "--image", f"{layout}:{tag}", str(tmp / "extra.txt"), "/etc/extra.txt")
    return layout


def _push(layout, tag, registry, ref):
    _sh("skopeo", "--insecure-policy", "copy", "--quiet", "--dest-tls-verify=false", f"oci:{layout}:{tag}",
        f"docker://{registry}/{ref}")
    inspect = json.loads(_sh("skopeo", "inspect", "--tls-verify=false", f"docker://{registry}/{ref}"))
    return inspect["Digest"]


def _run(m, run, image, cmd, **kw):
    info = run(m.create(SandboxSpec(image=image, **kw)))
    try:
        return run(m.execute(info.id, cmd))
    finally:
        run(m.delete(info.id))


def test_pull_from_a_loopback_registry_honours_layers_whiteouts_and_config(manager, registry, tmp_path):
    m, run = manager
    layout = _make_image(tmp_path, "v1")
    ref = f"{registry}/ale-test/hello-{secrets.token_hex(3)}:v1"
    digest = _push(layout, "v1", registry, ref.split("/", 1)[1])
    img = oci.pull_image(m.images, ref, log=lambda s: None)
    try:
        assert img.digest == digest and img.source == f"docker://{ref}"
        assert len(img.layers) == 3 and all(lid.startswith("o") for lid in img.layers)
        assert img.config.env["FOO"] == "from-config" and img.config.workdir == "/data"
        assert img.config.user == "1234:1234" and img.cmd == ["/bin/hello"]
        r = _run(m, run, ref, ["/bin/hello"])
        assert r.exit_code == 0 and r.stdout == "hello from-config\n"
        info = run(m.create(SandboxSpec(image=ref)))
        try:
            names = {e.name for e in run(m.list_files(info.id, "/etc"))}
            assert "passwd" in names and "gone.txt" not in names  # the whiteout hides layer 1's file
            assert {e.name for e in run(m.list_files(info.id, "/data"))} == {"new.txt"}  # opaque dir
            assert run(m.execute(info.id, ["/bin/hello"], cwd="/data")).exit_code == 0
        finally:
            run(m.delete(info.id))
        # a corrupted layer is refused: its content no longer matches the config's diff_id
        bad = tmp_path / "bad"
        shutil.copytree(layout, bad)
        manifest = json.loads((bad / "index.json").read_text())["manifests"][0]["digest"].split(":")[1]
        layer = json.loads((bad / "blobs/sha256" / manifest).read_text())["layers"][0]["digest"].split(":")[1]
        cfg_digest = json.loads((bad / "blobs/sha256" / manifest).read_text())["config"]["digest"].split(":")[1]
        cfg = json.loads((bad / "blobs/sha256" / cfg_digest).read_text())
        cfg["rootfs"]["diff_ids"][0] = "sha256:" + "0" * 64
        (bad / "blobs/sha256" / cfg_digest).write_text(json.dumps(cfg))
        with pytest.raises(SandboxError, match="does not match the image config's diff_id"):
            oci.unpack_layout(m.images, bad, "test-bad-layer", source="test", log=lambda s: None)
        assert layer  # the layout really had layers
    finally:
        run(m.remove_image(ref))


def test_from_pulls_and_a_new_base_digest_rebuilds(manager, registry, tmp_path, monkeypatch):
    """FROM a registry name pulls it (ALE_PULL=missing); pulling a new digest of the base rebuilds the task
    image that ensure_built (what `ale bench` uses) had cached."""
    m, run = manager
    monkeypatch.setenv("ALE_PULL", "missing")
    (tmp_path / "img").mkdir()
    layout = _make_image(tmp_path / "img", "v1")
    ref = f"{registry}/ale-test/base-{secrets.token_hex(3)}:v1"
    _push(layout, "v1", registry, ref.split("/", 1)[1])
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(f"FROM {ref}\nCOPY note.txt /note.txt\n")
    (ctx / "note.txt").write_text("note\n")
    name = f"test-task-{secrets.token_hex(3)}".lower()
    logs: list[str] = []
    try:
        first = run(m.build_image(name, ctx / "Dockerfile", ctx, rebuild_changed=True, log=logs.append))
        assert any(f"pulling {ref}" in line for line in logs) and m.images.exists(ref)
        same = run(m.build_image(name, ctx / "Dockerfile", ctx, rebuild_changed=True, log=logs.append))
        assert same.created == first.created
        _make_image(tmp_path / "img", "v1", extra="v2\n")
        new_digest = _push(layout, "v1", registry, ref.split("/", 1)[1])
        assert oci.pull_image(m.images, ref, log=lambda s: None).digest == new_digest
        logs.clear()
        second = run(m.build_image(name, ctx / "Dockerfile", ctx, rebuild_changed=True, log=logs.append))
        assert second.build_key != first.build_key and any("rebuilding" in line for line in logs)
        assert _run(m, run, name, ["/bin/hello"]).stdout == "hello from-config\n"
        info = run(m.create(SandboxSpec(image=name)))
        try:
            assert run(m.read_file(info.id, "/etc/extra.txt")) == b"v2\n"
            assert run(m.read_file(info.id, "/note.txt")) == b"note\n"
        finally:
            run(m.delete(info.id))
    finally:
        for n in (name, ref):
            if m.images.exists(n):
                run(m.remove_image(n))


def test_import_docker_and_oci_archives(manager, tmp_path):
    """What `docker save` writes (docker-archive) and an OCI layout tarball import with their tags;
    re-importing a changed archive under the same name changes its digest, and the image built on it rebuilds."""
    m, run = manager
    layout = _make_image(tmp_path, "v1")
    tag = f"ale-test/archived-{secrets.token_hex(3)}:v1"
    task = f"test-on-import-{secrets.token_hex(3)}"
    docker_tar, oci_tar = tmp_path / "saved.tar", tmp_path / "oci.tar"
    _sh("skopeo", "--insecure-policy", "copy", "--quiet", f"oci:{layout}:v1", f"docker-archive:{docker_tar}:{tag}")
    _sh("skopeo", "--insecure-policy", "copy", "--quiet", f"oci:{layout}:v1", f"oci-archive:{oci_tar}:{tag}")
    assert oci.archive_kind(docker_tar) == "docker-archive" and oci.archive_kind(oci_tar) == "oci-archive"
    try:
        img = oci.import_archive(m.images, docker_tar, log=lambda s: None)
        assert img.name == tag and img.config.user == "1234:1234"
        assert _run(m, run, tag, ["/bin/hello"]).stdout == "hello from-config\n"
        img2 = oci.import_archive(m.images, oci_tar, "ale-test/from-oci:v1", log=lambda s: None)
        assert img2.layers == img.layers  # same layer contents: shared, unpacked once
        ctx = tmp_path / "ctx"
        ctx.mkdir()
        (ctx / "Dockerfile").write_text(f"FROM {tag}\nCOPY Dockerfile /Dockerfile\n")
        first = run(m.build_image(task, ctx / "Dockerfile", ctx, rebuild_changed=True, log=lambda s: None))
        _make_image(tmp_path, "v1", extra="changed\n")
        _sh("skopeo", "--insecure-policy", "copy", "--quiet", f"oci:{layout}:v1", f"docker-archive:{tmp_path}/v2.tar:{tag}")
        img3 = oci.import_archive(m.images, tmp_path / "v2.tar", log=lambda s: None)
        assert img3.digest != img.digest and len(img3.layers) == len(img.layers) + 1
        logs: list[str] = []  # the re-imported base rebuilds the image built on it
        second = run(m.build_image(task, ctx / "Dockerfile", ctx, rebuild_changed=True, log=logs.append))
        assert second.build_key != first.build_key and any("rebuilding" in line for line in logs)
        assert second.layers[1:] == img3.layers
    finally:
        for n in (task, tag, "ale-test/from-oci:v1"):
            if m.images.exists(n):
                run(m.remove_image(n))


def test_missing_image_says_the_ways_forward(manager, tmp_path):
    m, run = manager
    missing = f"ale-test/missing-{secrets.token_hex(3)}:24.04"
    (tmp_path / "Dockerfile").write_text(f"FROM {missing}\n")
    with pytest.raises(NotFound) as e:  # ALE_PULL=never in tests: nothing is sent anywhere
        run(m.build_image("test-missing", tmp_path / "Dockerfile", tmp_path))
    msg = e.value.message
    assert "\n" not in msg and f"no such image: {missing}" in msg
    for way in (f"ale sandbox image pull {missing}", "ale sandbox image import", f"--image-map {missing}=",
                "ale sandbox image standin"):
        assert way in msg


def test_image_map_resolves_from_names(manager, tmp_path, monkeypatch):
    m, run = manager
    mapfile = tmp_path / "image-map.yaml"
    tag = secrets.token_hex(3)  # names nobody has (the store is shared with other test runs)
    mapfile.write_text(f"ale-test/python:{tag}: base\n")
    monkeypatch.setenv("ALE_IMAGE_MAP", str(mapfile))
    (tmp_path / "Dockerfile").write_text(f"FROM ale-test/python:{tag}\nFROM ale-test/ubuntu:{tag}\nRUN true\n")
    name = f"test-map-{tag}"
    img = run(m.build_image(name, tmp_path / "Dockerfile", tmp_path, image_map={f"ale-test/ubuntu:{tag}": "base"},
                            log=lambda s: None))
    try:
        assert img.layers[1:] == m.images.get("base").layers
    finally:
        run(m.remove_image(name))
    with pytest.raises(SandboxError, match="--image-map takes NAME=IMAGE"):
        oci.parse_image_map_options(["ubuntu"])


def test_cli_import_and_pull_errors_are_one_line(manager, tmp_path):
    """`ale sandbox image import FILE` names the image after the archive's tag; a registry that does not
    answer (a closed port on loopback) is one error line, exit 1."""
    from typer.testing import CliRunner

    from ale.sandbox import cli

    m, run = manager
    runner = CliRunner()
    layout = _make_image(tmp_path, "v1")
    tag = f"ale-test/cli-{secrets.token_hex(3)}:v1"
    _sh("skopeo", "--insecure-policy", "copy", "--quiet", f"oci:{layout}:v1", f"docker-archive:{tmp_path}/s.tar:{tag}")
    try:
        r = runner.invoke(cli.app, ["image", "import", str(tmp_path / "s.tar")])
        assert r.exit_code == 0 and r.stdout.strip() == f"imported {tag}"
    finally:
        if m.images.exists(tag):
            run(m.remove_image(tag))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when this block ends: nothing listens there
    r = runner.invoke(cli.app, ["image", "pull", f"127.0.0.1:{port}/nothing:1"])
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]  # a progress line, then the error
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert lines[-1].startswith(f"error: cannot pull 127.0.0.1:{port}/nothing:1: ") and lines[:-1] == [
        f"pulling 127.0.0.1:{port}/nothing:1"]
