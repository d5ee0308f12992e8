import os
import re
import subprocess
import sys
import tarfile

import pytest

sys.path.insert(0, "/app")
import logtool  # noqa: E402

MARK = "/tmp/INJECTED"
NAMES = ["plain.log", "with space.log", "quote'd.log", 'dq"x.log', "$(touch INJECTED).log",
         "semi; touch INJECTED.log", "-rf.log", "--help.log", "back`touch INJECTED`tick.log"]
TEXT = "alpha a.c\nbeta abc\n-v flag\nit's here\nalpha again\n"


@pytest.fixture()
def work(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for n in NAMES:
        (tmp_path / n).write_text(TEXT)
    for p in (MARK, str(tmp_path / "INJECTED")):
        if os.path.exists(p):
            os.remove(p)
    yield tmp_path
    assert not os.path.exists(MARK) and not os.path.exists(tmp_path / "INJECTED"), "command injected!"


def test_no_shell_in_source():
    src = open("/app/logtool.py").read()
    assert not re.search(r"os\.(system|popen)|shell\s*=\s*True|commands\.", src)


@pytest.mark.parametrize("name", NAMES)
def test_count_any_filename(work, name):
    assert logtool.count_matches(name, "alpha") == 2


@pytest.mark.parametrize("pattern,n", [("a.c", 1), ("-v", 1), ("it's", 1), ("'; touch /tmp/INJECTED; echo '", 0),
                                       ("$(touch /tmp/INJECTED)", 0), ("zzz", 0), ("a", 4)])
def test_count_patterns(work, pattern, n):
    assert logtool.count_matches("plain.log", pattern) == n


def test_count_missing_file(work):
    with pytest.raises(FileNotFoundError):
        logtool.count_matches("nope; touch /tmp/INJECTED", "x")


def test_archive(work):
    logtool.archive(NAMES, "out; touch INJECTED.tgz")
    with tarfile.open(work / "out; touch INJECTED.tgz") as tf:
        assert sorted(tf.getnames()) == sorted(NAMES)
        assert tf.extractfile("-rf.log").read().decode() == TEXT


def test_archive_failure_raises(work):
    with pytest.raises(subprocess.CalledProcessError):
        logtool.archive(["does-not-exist.log"], "bad.tgz")


@pytest.mark.parametrize("name", NAMES)
def test_file_size(work, name):
    assert logtool.file_size(name) == len(TEXT)


def test_cli(work):
    r = subprocess.run([sys.executable, "/app/logtool.py", "count", "-v", "-rf.log"],
                       capture_output=True, text=True, timeout=30)
    assert r.stdout.strip() == "1"
    r = subprocess.run([sys.executable, "/app/logtool.py", "size", "semi; touch INJECTED.log"],
                       capture_output=True, text=True, timeout=30)
    assert r.stdout.strip() == str(len(TEXT))
