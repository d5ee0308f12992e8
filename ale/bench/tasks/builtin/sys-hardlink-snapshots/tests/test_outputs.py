import os
import stat
import subprocess
from pathlib import Path

BIN = "/usr/local/bin/snapshot"


def snap(*args):
    return subprocess.run([BIN, *map(str, args)], capture_output=True, text=True, timeout=60)


def tree(root):
    out = {}
    for dirpath, dirs, files in os.walk(root):
        for n in dirs + files:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            rel = os.path.relpath(p, root)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(p))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir",)
            else:
                out[rel] = ("file", Path(p).read_bytes(), stat.S_IMODE(st.st_mode), int(st.st_mtime))
    return out


def make_src(tmp_path):
    src = tmp_path / "src dir"
    (src / "sub dir/deep").mkdir(parents=True)
    (src / "empty").mkdir()
    for i, rel in enumerate(["a.txt", "sub dir/b c.txt", "sub dir/deep/d.bin", "same.txt", "mode.txt"]):
        p = src / rel
        p.write_bytes(bytes([i]) * (100 + i))
        os.utime(p, (1700000000 + i, 1700000000 + i))
    os.chmod(src / "mode.txt", 0o640)
    (src / "ln").symlink_to("sub dir/b c.txt")
    (src / "dangling").symlink_to("/nonexistent/target")
    return src


def test_initial_snapshot():
    assert os.readlink("/backup/latest") == "2024-06-01"
    assert tree("/backup/2024-06-01") == tree("/srv/home")


def test_copy_and_links(tmp_path):
    src, dest = make_src(tmp_path), tmp_path / "dest"
    r = snap(src, dest, "s1")
    assert r.returncode == 0, r.stderr
    assert tree(dest / "s1") == tree(src)
    assert os.readlink(dest / "latest") == "s1"
    for rel in ["a.txt", "same.txt"]:
        assert os.stat(dest / "s1" / rel).st_ino != os.stat(src / rel).st_ino


def test_incremental(tmp_path):
    src, dest = make_src(tmp_path), tmp_path / "dest"
    assert snap(src, dest, "s1").returncode == 0
    (src / "a.txt").write_bytes(b"changed content!")        # content+size change
    os.chmod(src / "mode.txt", 0o600)                          # mode change
    os.utime(src / "sub dir/b c.txt", (1800000000, 1800000000))  # mtime change
    (src / "sub dir/deep/d.bin").unlink()
    (src / "new.txt").write_text("new")
    r = snap(src, dest, "s2")
    assert r.returncode == 0, r.stderr
    assert tree(dest / "s2") == tree(src)
    s1, s2 = dest / "s1", dest / "s2"
    assert os.stat(s2 / "same.txt").st_ino == os.stat(s1 / "same.txt").st_ino
    for rel in ["a.txt", "mode.txt", "sub dir/b c.txt"]:
        assert os.stat(s2 / rel).st_ino != os.stat(s1 / rel).st_ino, rel
    assert (s1 / "sub dir/deep/d.bin").exists() and not (s2 / "sub dir/deep/d.bin").exists()
    assert (s1 / "a.txt").read_bytes() == bytes([0]) * 100
    assert os.readlink(dest / "latest") == "s2"


def test_existing_name(tmp_path):
    src, dest = make_src(tmp_path), tmp_path / "dest"
    assert snap(src, dest, "s1").returncode == 0
    before = tree(dest)
    r = snap(src, dest, "s1")
    assert r.returncode == 2 and r.stderr.strip()
    assert tree(dest) == before


def test_keep(tmp_path):
    src, dest = make_src(tmp_path), tmp_path / "dest"
    for i, n in enumerate(["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"]):
        (src / "counter").write_text(str(i))
        assert snap("--keep", 2, src, dest, n).returncode == 0
    assert sorted(os.listdir(dest)) == ["2024-01-03", "2024-01-04", "latest"]
    assert os.readlink(dest / "latest") == "2024-01-04"
    assert os.stat(dest / "2024-01-04/same.txt").st_ino == os.stat(dest / "2024-01-03/same.txt").st_ino


def test_src_untouched(tmp_path):
    src = make_src(tmp_path)
    before = tree(src)
    snap(src, tmp_path / "d", "x")
    assert tree(src) == before
