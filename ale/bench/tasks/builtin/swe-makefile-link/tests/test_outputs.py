import os
import re
import shutil
import subprocess
import time

import pytest

SRC = "/app"


@pytest.fixture()
def tree(tmp_path):
    # work on a copy so the tests start from a clean tree whatever the agent left behind
    d = tmp_path / "proj"
    shutil.copytree(SRC, d, ignore=shutil.ignore_patterns("build", "bin", "*.o", "*.d"))
    return d


def make(d, *args):
    return subprocess.run(["make", "-C", str(d), *args], capture_output=True, text=True, timeout=120)


def test_sources_unchanged():
    src = open("/app/src/stats.c").read() + open("/app/include/stats.h").read()
    assert "sqrt(s / n)" in src and "STATS_PRECISION 3" in src


def test_builds_and_runs(tree):
    r = make(tree)
    assert r.returncode == 0, r.stdout + r.stderr
    out = subprocess.run([str(tree / "bin/vecstat")], input="2 4 4 4 5 5 7 9\n", capture_output=True,
                         text=True, timeout=30)
    assert out.returncode == 0
    assert out.stdout.strip() == "n=8 mean=5.000 stddev=2.000"


def test_header_change_triggers_rebuild(tree):
    assert make(tree).returncode == 0
    assert make(tree, "-q").returncode == 0, "fresh build should be up to date"
    h = tree / "include/stats.h"
    h.write_text(h.read_text().replace("STATS_PRECISION 3", "STATS_PRECISION 1"))
    later = time.time() + 5
    os.utime(h, (later, later))
    r = make(tree)
    assert r.returncode == 0
    out = subprocess.run([str(tree / "bin/vecstat")], input="1 2\n", capture_output=True, text=True,
                         timeout=30)
    assert out.stdout.strip() == "n=2 mean=1.5 stddev=0.5"


def test_clean(tree):
    assert make(tree).returncode == 0
    assert make(tree, "clean").returncode == 0
    assert not (tree / "bin").exists() and not (tree / "build").exists()
    assert make(tree).returncode == 0 and (tree / "bin/vecstat").exists()


def test_phony_declared():
    text = open("/app/Makefile").read()
    phony = " ".join(re.findall(r"^\.PHONY\s*:(.*)$", text, re.M)).split()
    assert "clean" in phony and "all" in phony
