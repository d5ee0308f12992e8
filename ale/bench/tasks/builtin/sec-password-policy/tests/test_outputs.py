import subprocess
import sys

import pytest

sys.path.insert(0, "/app")
from policy import check_password  # noqa: E402


@pytest.mark.parametrize("pw,user,codes", [
    ("Tr0ub4dor&3xyz", "alice", []),
    ("short1A!", "alice", ["TOO_SHORT"]),
    ("A1!" + "x" * 126, "alice", ["REPEATED", "TOO_LONG"]),
    ("alllowercaseletters", "bob", ["FEW_CLASSES"]),
    ("ALLUPPER12345678", "bob", ["FEW_CLASSES", "SEQUENCE"]),
    ("ALLUPPER-1357-x", "bob", []),
    ("ALLUPPERONLYWORD", "bob", ["FEW_CLASSES"]),
    ("has spaces and 9", "bob", []),
    ("ünïcödé-PASS-ok", "bob", []),
    ("my-Alice-pass-9", "alice", ["CONTAINS_USERNAME"]),
    ("my-Al-pass-9xyz", "al", []),
    ("Dragon2024!!", "zed", ["COMMON"]),
    ("DRAGON2024!!x", "zed", []),
    ("CorrectHorseBatteryStaple", "zed", ["COMMON", "FEW_CLASSES"]),
    ("P@ssw0rd", "zed", ["COMMON", "TOO_SHORT"]),
    ("Zaaaa-bcde-99", "zed", ["REPEATED", "SEQUENCE"]),
    ("Good-Pass-aaa-1", "zed", []),
    ("Xx-WXYZ-long-1", "zed", ["SEQUENCE"]),
    ("Xx-dcba-long-1", "zed", ["SEQUENCE"]),
    ("Xx-XyZ-long-12", "zed", []),
    ("Xx-9876-long-a", "zed", ["SEQUENCE"]),
    ("Xx-1235-long-a", "zed", []),
    ("Xx-yz01-long-a", "zed", []),
    ("Xx-abc1-long-b", "zed", []),
])
def test_policy(pw, user, codes):
    assert check_password(pw, user) == codes


def test_common_list_is_read_from_file():
    assert check_password("Trustno1", "zed") == ["COMMON", "TOO_SHORT"]
    assert check_password("summer2024!", "zed") == ["COMMON", "TOO_SHORT"]


def run(user, pw):
    return subprocess.run([sys.executable, "/app/policy.py", user], input=pw + "\n",
                          capture_output=True, text=True, timeout=30)


def test_cli():
    r = run("alice", "Tr0ub4dor&3xyz")
    assert r.returncode == 0 and r.stdout.strip() == "OK"
    r = run("alice", "alice")
    assert r.returncode == 1
    assert r.stdout.strip() == "CONTAINS_USERNAME,FEW_CLASSES,TOO_SHORT"
    r = run("x", "  spaced  Pass1  ")
    assert r.returncode == 0, r.stdout
