import subprocess
import sys

import pytest

sys.path.insert(0, "/app")
from textkit import slugify  # noqa: E402



def test_visible_suite_passes():
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "/app/tests"],
                       cwd="/app", capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout[-2000:]


def test_visible_tests_not_weakened():
    src = open("/app/tests/test_slug.py").read()
    for needle in ['"hello-world"', '"creme-brulee"', '"already-a-slug"', '"the-quick"', '"a_b_c"']:
        assert needle in src


@pytest.mark.parametrize("text,kw,expected", [
    ("Hello, World!", {}, "hello-world"),
    ("***", {}, ""),
    ("Ünïcödé   ÇAFÉ", {}, "unicode-cafe"),
    ("日本 text 2024", {}, "text-2024"),
    ("a--b__c", {}, "a-b-c"),
    ("The quick brown fox", {"max_length": 9}, "the-quick"),
    ("The quick brown fox", {"max_length": 10}, "the-quick"),
    ("The quick brown fox", {"max_length": 100}, "the-quick-brown-fox"),
    ("Supercalifragilistic", {"max_length": 5}, "super"),
    ("x  y", {"separator": "_"}, "x_y"),
    ("__x  y__", {"separator": "_", "max_length": 3}, "x_y"),
])
def test_slugify_spec(text, kw, expected):
    assert slugify(text, **kw) == expected


def test_max_length_never_exceeded_or_trailing():
    text = "alpha beta gamma delta epsilon zeta eta theta"
    for n in range(1, 50):
        s = slugify(text, max_length=n)
        assert len(s) <= n and not s.endswith("-") and not s.startswith("-")
