import sys

import pytest

sys.path.insert(0, "/app")
from iniparse import ParseError, parse  # noqa: E402


def test_basic_and_order():
    text = "name = demo\n\n[server]\nHost = example.org\nport: 8080\n[empty]\n[client]\nretries=3\n"
    r = parse(text)
    assert r == {"": {"name": "demo"}, "server": {"host": "example.org", "port": "8080"},
                 "empty": {}, "client": {"retries": "3"}}
    assert list(r) == ["", "server", "empty", "client"]
    assert list(r["server"]) == ["host", "port"]


def test_comments_and_no_inline_comments():
    text = "; top\n# also\n[a]\n  ; indented comment\nx = 1 ; not a comment\nurl = http://h/#frag\n"
    assert parse(text) == {"a": {"x": "1 ; not a comment", "url": "http://h/#frag"}}


def test_first_separator_wins():
    r = parse("[s]\ntime: 12:30 = noon\nexpr = a:b\n")
    assert r["s"] == {"time": "12:30 = noon", "expr": "a:b"}


def test_section_whitespace_and_key_case():
    assert parse("[  My Section ]  \nKEY = V\n") == {"My Section": {"key": "V"}}


def test_quoted_values():
    text = '[q]\na = "  padded  "\nb = "say \\"hi\\"\\n\\tand \\\\ bye"\nc = ""\nd = "x = y ; z"\n'
    assert parse(text)["q"] == {"a": "  padded  ", "b": 'say "hi"\n\tand \\ bye', "c": "",
                                "d": "x = y ; z"}


def test_continuation():
    text = "[c]\nmotd = first line\n   second line\n\tthird\nnext = 2\n"
    assert parse(text)["c"] == {"motd": "first line\nsecond line\nthird", "next": "2"}


def test_continuation_after_blank_and_comment_lines():
    assert parse("[c]\nk = a\n\n# note\n  b\n")["c"] == {"k": "a\nb"}


@pytest.mark.parametrize("text,lineno", [
    ("[a]\nx = 1\n[a]\n", 3),
    ("[a]\nx = 1\nX = 2\n", 3),
    ("[]\n", 1),
    ("[a\n", 1),
    ("[a]\njust text\n", 2),
    ("[a]\n = v\n", 2),
    ("  indented = 1\n", 1),
    ("[a]\n  cont\n", 2),
    ('[a]\nq = "abc\n', 2),
    ('[a]\nq = "abc" tail\n', 2),
    ('[a]\nq = "bad \\q escape"\n', 2),
    ('[a]\nq = "quoted"\n  more\n', 3),
    ("[a]\nk = v\n[b]\n  cont\n", 4),
])
def test_errors(text, lineno):
    with pytest.raises(ParseError) as ei:
        parse(text)
    assert isinstance(ei.value, ValueError)
    assert ei.value.lineno == lineno


def test_does_not_use_configparser():
    assert "configparser" not in open("/app/iniparse.py").read()
