import os
import subprocess
import time
from pathlib import Path

import pytest

APP = Path("/app")
SRC_SUMS = {}


def make(*args):
    return subprocess.run(["make", *args], cwd=APP, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module", autouse=True)
def fresh_build():
    for p in ["src/main.c", "src/stats.c", "include/stats.h"]:
        SRC_SUMS[p] = (APP / p).read_bytes()
    r = make("clean")
    assert r.returncode == 0, r.stderr
    r = make()
    assert r.returncode == 0, r.stdout + r.stderr


def run_stats(inp):
    return subprocess.run([str(APP / "bin/stats")], input=inp, capture_output=True, text=True, timeout=10).stdout.strip()


def test_binary_works():
    assert run_stats("1 2 3") == "n=3 mean=2.000 median=2.000 sd=0.816"
    assert run_stats("4 1 3 2") == "n=4 mean=2.500 median=2.500 sd=1.118"


def test_objects_in_build():
    assert (APP / "build/main.o").exists() and (APP / "build/stats.o").exists()


def test_second_make_is_noop():
    r = make()
    assert r.returncode == 0
    assert "gcc" not in r.stdout and "cc " not in r.stdout, "second make recompiled: " + r.stdout


def touch_later(path):
    t = time.time() + 5
    os.utime(path, (t, t))


def test_header_change_rebuilds():
    touch_later(APP / "include/stats.h")
    r = make("-n")
    assert "stats.c" in r.stdout and "main.c" in r.stdout
    assert make().returncode == 0


def test_source_change_rebuilds_only_that():
    make()
    later = time.time() + 10
    for p in ["build/main.o", "build/stats.o", "bin/stats"]:
        os.utime(APP / p, (later, later))
    t = later + 5
    os.utime(APP / "src/stats.c", (t, t))
    r = make("-n")
    assert "src/stats.c" in r.stdout and "src/main.c" not in r.stdout


def test_clean_is_safe_and_phony():
    (APP / "clean").write_text("")  # a file named clean must not stop `make clean`
    try:
        r = make("clean")
        assert r.returncode == 0
        assert not (APP / "build").exists() and not (APP / "bin").exists()
        for p, data in SRC_SUMS.items():
            assert (APP / p).read_bytes() == data
    finally:
        (APP / "clean").unlink()
    assert make().returncode == 0
