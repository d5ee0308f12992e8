import re
import shutil
import subprocess

import pytest

TEXT = """The cat and the dog. THE END? Don't stop: the cat's toy, the cat!
A dog, a cat, and a bird; and a fish. 42 fish 42
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    d = tmp_path_factory.mktemp("b") / "proj"
    shutil.copytree("/app", d, ignore=shutil.ignore_patterns("wordfreq", "*.o"))
    r = subprocess.run(["make", "-C", str(d)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    return d


def run(d, *args, text=TEXT):
    return subprocess.run([str(d / "wordfreq"), *args], input=text, capture_output=True, text=True,
                          timeout=30)


def test_flags_kept():
    mk = open("/app/Makefile").read()
    m = re.search(r"^CFLAGS\s*=(.*)$", mk, re.M)
    assert m, "CFLAGS line missing"
    flags = m.group(1).split()
    for f in ("-std=c11", "-Wall", "-Wextra", "-Werror"):
        assert f in flags
    assert "-fcommon" not in mk and "-D" not in mk.replace("-Iinclude", "")


def test_clean_build(built):
    assert (built / "wordfreq").exists()


def test_output_default(built):
    r = run(built)
    assert r.returncode == 0
    assert r.stdout.splitlines() == ["5 the", "4 a", "3 and", "3 cat", "2 42", "2 dog", "2 fish",
                                     "1 bird", "1 cat's", "1 don't"]


def test_output_top_n(built):
    assert run(built, "3").stdout.splitlines() == ["5 the", "4 a", "3 and"]


def test_globals_defined_once():
    src = ""
    for p in ("include/config.h", "include/util.h", "include/wordfreq.h"):
        src += open("/app/" + p).read()
    assert not re.search(r"^\s*int\s+verbose\s*=", src, re.M), "verbose still defined in a header"


def test_large_input(built):
    words = " ".join(f"w{i % 50}" for i in range(20000))
    out = run(built, "2", text=words).stdout.splitlines()
    assert out == ["400 w0", "400 w1"]
