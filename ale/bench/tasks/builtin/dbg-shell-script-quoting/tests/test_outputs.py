import gzip
import subprocess
from pathlib import Path

NAMES = ["a.log", "with space.log", "sub dir/deep/x y.log", "-dash.log", "star*.log", "br[1].log",
         "sub dir/keep.txt", "notlog.log.bak", "plain/q.log"]


def make_tree(tmp_path, src_name="src dir"):
    src = tmp_path / src_name
    for i, n in enumerate(NAMES):
        p = src / n
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(f"content {i} {n}\n")
    return src, tmp_path / "dest dir"


def run(*args, cwd):
    return subprocess.run(["bash", "/app/archive_logs.sh", *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=60)


def test_moves_and_gzips(tmp_path):
    src, dest = make_tree(tmp_path)
    (tmp_path / "decoy.log").write_text("in cwd")  # an unquoted glob would expand to this
    r = run(src, dest, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    logs = [n for n in NAMES if n.endswith(".log")]
    for i, n in enumerate(NAMES):
        if n in logs:
            assert not (src / n).exists(), n
            gz = dest / (n + ".gz")
            assert gz.exists(), n
            assert gzip.decompress(gz.read_bytes()).decode() == f"content {i} {n}\n"
        else:
            assert (src / n).exists(), n
    assert (tmp_path / "decoy.log").exists()
    assert r.stdout.strip().splitlines()[-1] == f"archived {len(logs)} files"


def test_trailing_slash(tmp_path):
    src, dest = make_tree(tmp_path, "s")
    r = run(str(src) + "/", dest, cwd=tmp_path)
    assert r.returncode == 0
    assert (dest / "sub dir/deep/x y.log.gz").exists()
    assert r.stdout.strip().endswith("archived 7 files")


def test_no_logs(tmp_path):
    (tmp_path / "empty").mkdir()
    r = run(tmp_path / "empty", tmp_path / "d", cwd=tmp_path)
    assert r.returncode == 0 and r.stdout.strip() == "archived 0 files"


def test_bad_source(tmp_path):
    r = run(tmp_path / "missing dir", tmp_path / "d", cwd=tmp_path)
    assert r.returncode == 1
    assert "not a directory" in r.stderr
    assert "archived" not in r.stdout
