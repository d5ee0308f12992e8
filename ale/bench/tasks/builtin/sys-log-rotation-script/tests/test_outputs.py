import gzip
import os
import stat
import subprocess
from pathlib import Path

BIN = "/usr/local/bin/rotate-logs"


def rot(d, *keep):
    return subprocess.run([BIN, str(d), *map(str, keep)], capture_output=True, text=True, timeout=60)


def gz(p):
    return gzip.decompress(Path(p).read_bytes()).decode()


def test_initial_run_done():
    d = Path("/var/log/myapp")
    assert (d / "app.log.1").read_text() == "line 1\nline 2\n"
    new = d / "app.log"
    st = new.stat()
    assert st.st_size == 0 and stat.S_IMODE(st.st_mode) == 0o640
    assert st.st_uid == (d / "app.log.1").stat().st_uid != 0
    assert (d / "empty.log").exists() and not (d / "empty.log.1").exists()


def test_generations(tmp_path):
    log = tmp_path / "my app.log"
    for gen in range(1, 8):
        log.write_text(f"gen {gen}\n")
        r = rot(tmp_path)
        assert r.returncode == 0, r.stderr
    assert log.read_text() == ""
    assert (tmp_path / "my app.log.1").read_text() == "gen 7\n"
    assert gz(tmp_path / "my app.log.2.gz") == "gen 6\n"
    assert gz(tmp_path / "my app.log.3.gz") == "gen 5\n"
    assert gz(tmp_path / "my app.log.4.gz") == "gen 4\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["my app.log", "my app.log.1", "my app.log.2.gz",
                                                         "my app.log.3.gz", "my app.log.4.gz"]


def test_keep_values(tmp_path):
    for keep in (1, 2, 6):
        d = tmp_path / f"k{keep}"
        d.mkdir()
        for gen in range(1, 10):
            (d / "x.log").write_text(f"g{gen}\n")
            assert rot(d, keep).returncode == 0
        names = sorted(p.name for p in d.iterdir())
        assert names == sorted(["x.log", "x.log.1"] + [f"x.log.{i}.gz" for i in range(2, keep + 1)]), (keep, names)
        assert (d / "x.log.1").read_text() == "g9\n"
        for i in range(2, keep + 1):
            assert gz(d / f"x.log.{i}.gz") == f"g{10 - i}\n"


def test_empty_and_other_files(tmp_path):
    (tmp_path / "quiet.log").write_text("")
    (tmp_path / "quiet.log.1").write_text("old\n")
    (tmp_path / "notes.txt").write_text("n\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub/inner.log").write_text("inner\n")
    assert rot(tmp_path).returncode == 0
    assert (tmp_path / "quiet.log.1").read_text() == "old\n"
    assert not (tmp_path / "quiet.log.2.gz").exists()
    assert (tmp_path / "notes.txt").read_text() == "n\n"
    assert (tmp_path / "sub/inner.log").read_text() == "inner\n"


def test_mode_preserved(tmp_path):
    log = tmp_path / "m.log"
    log.write_text("data\n")
    os.chmod(log, 0o600)
    os.chown(log, 1, 1)
    assert rot(tmp_path).returncode == 0
    st = log.stat()
    assert stat.S_IMODE(st.st_mode) == 0o600 and (st.st_uid, st.st_gid) == (1, 1)


def test_bad_dir(tmp_path):
    r = rot(tmp_path / "nope")
    assert r.returncode == 2 and r.stderr.strip()
