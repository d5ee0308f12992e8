"""File API: ranges, uploads, downloads, and that paths never reach host files."""

import io
import tarfile

import pytest

from ale.sandbox import NotFound, SandboxError


def test_write_read_ranges_list(sb):
    sb.write_file("/workspace/dir/a.txt", "l1\nl2\nl3\nl4\n")
    assert sb.read_file("/workspace/dir/a.txt", start_line=2, end_line=3) == "l2\nl3\n"
    assert sb.read_bytes("/workspace/dir/a.txt", offset=3, length=2) == b"l2"
    names = {e.name: e for e in sb.list_files("/workspace/dir")}
    assert names["a.txt"].size == 12 and names["a.txt"].type == "file"
    # written files belong to root inside the sandbox and are editable there
    assert sb.exec("stat -c %u /workspace/dir/a.txt && echo more >> /workspace/dir/a.txt").exit_code == 0


def test_upload_and_download_tar(sb, tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "m.py").write_text("print(42)\n")
    (tmp_path / "pkg" / "sub").mkdir()
    (tmp_path / "pkg" / "sub" / "d.bin").write_bytes(bytes(range(256)))
    assert sb.upload(tmp_path / "pkg", "/workspace/pkg") == 3
    assert sb.exec("python3 /workspace/pkg/m.py").stdout == "42\n"
    data, is_tar = sb.download("/workspace/pkg")
    assert is_tar
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        assert tf.extractfile("pkg/sub/d.bin").read() == bytes(range(256))
    data, is_tar = sb.download("/workspace/pkg/m.py")
    assert not is_tar and data == b"print(42)\n"


def test_missing_file_is_not_found(sb):
    with pytest.raises(NotFound):
        sb.read_file("/nope")


@pytest.fixture
def host_secret(tmp_path_factory):
    d = tmp_path_factory.mktemp("host")
    p = d / "secret.txt"
    p.write_text("HOST-SECRET")
    return p


def test_symlinks_and_dotdot_never_reach_host(sb, host_secret):
    sb.exec(f"mkdir -p {host_secret.parent} && echo SANDBOX-COPY > {host_secret}")  # same path inside
    sb.exec(f"ln -s {host_secret} /workspace/link; ln -s / /workspace/root; ln -s ../../../../.. /workspace/up")
    for path in ["/workspace/link", f"/workspace/root{host_secret}", f"/workspace/up{host_secret}",
                 f"/../../..{host_secret}"]:
        assert sb.read_file(path) == "SANDBOX-COPY\n", path
    sb.write_file("/workspace/link", "overwritten")
    assert host_secret.read_text() == "HOST-SECRET"
    assert sb.read_file(str(host_secret)) == "overwritten"


def test_host_only_paths_are_absent(sb, host_secret):
    with pytest.raises(NotFound):
        sb.read_file(str(host_secret))
    sb.exec("ln -s /proc/1/root /workspace/proc1")
    with pytest.raises(SandboxError):
        sb.read_file(f"/workspace/proc1{host_secret}")


def test_malicious_tar_is_refused(sb):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        info = tarfile.TarInfo("../../escape.txt")
        info.size = 1
        tf.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(SandboxError, match="escapes"):
        sb.upload(buf.getvalue(), "/workspace")
