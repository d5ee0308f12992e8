import subprocess
import sys
from pathlib import Path

REPO = "/app/timekit"
ORIG = Path("/root/.timekit_orig_head").read_text().strip()


def git(*a):
    return subprocess.run(["git", *a], cwd=REPO, capture_output=True, text=True, check=True).stdout


def works_at(rev, probe='import timekit; assert timekit.parse_duration("45s") == 45'):
    src = git("show", f"{rev}:timekit.py")
    code = f"import sys, types\nm = types.ModuleType('timekit')\nexec({src!r}, m.__dict__)\nsys.modules['timekit'] = m\n{probe}"
    return subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0


def first_bad():
    revs = git("rev-list", "--reverse", ORIG).split()
    return next(r for r in revs if not works_at(r))


def test_first_bad_commit():
    got = Path("/app/first_bad_commit.txt").read_text().strip()
    assert got == first_bad()


def test_history_kept():
    assert subprocess.run(["git", "merge-base", "--is-ancestor", ORIG, "main"], cwd=REPO).returncode == 0
    assert git("rev-parse", "main").strip() != ORIG, "the fix must be a new commit"
    assert git("rev-parse", "--abbrev-ref", "HEAD").strip() == "main"


def test_fixed_at_head_committed():
    assert git("status", "--porcelain", "--untracked-files=no").strip() == ""
    probe = ("import timekit as t\n"
             "assert t.parse_duration('45s') == 45\n"
             "assert t.parse_duration('1h30m') == 5400\n"
             "assert t.parse_duration('2d 4h') == 187200\n"
             "assert t.parse_duration('100m') == 6000\n"
             "assert t.parse_duration('7s') == 7\n"
             "for bad in ['', 'abc', '5x', 'h']:\n"
             "    try:\n"
             "        t.parse_duration(bad)\n"
             "    except ValueError:\n"
             "        pass\n"
             "    else:\n"
             "        raise AssertionError(bad)\n")
    assert works_at("main", probe)


def test_later_work_kept():
    probe = ("import timekit as t\n"
             "assert t.format_duration(5400) == '1h30m' and t.format_duration(0) == '0s'\n"
             "assert t.helper_33(2) == 66 and t.helper_38(1) == 38 and t.helper_5(1) == 5\n"
             "assert t.parse_duration(t.format_duration(93784)) == 93784\n")
    assert works_at("main", probe)
