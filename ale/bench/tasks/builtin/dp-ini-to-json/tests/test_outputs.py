import json
import subprocess


def run(tmp_path, text):
    p = tmp_path / "c.ini"
    p.write_text(text)
    return subprocess.run(["python3", "/app/ini2json.py", str(p)], capture_output=True, text=True, timeout=30)


def ok(tmp_path, text):
    r = run(tmp_path, text)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_example(tmp_path):
    r = subprocess.run(["python3", "/app/ini2json.py", "/app/example.ini"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0
    assert json.loads(r.stdout) == {
        "server": {"host": "example.org", "port": 8080, "url": "http://example.org:8080/",
                   "motd": "Welcome\nto the server", "root": "/srv", "debug": False},
        "paths": {"data": "/srv/data", "logs": "/srv/data/logs", "price": "$5", "root": "/srv", "debug": False},
    }


def test_separators_comments_case(tmp_path):
    text = "[ A ]\nKey = x: y\nother: a=b\n  # indented comment\n; c\nKEY = z\n[b]\nn = -42\nf = 4.5\nt = True\ne =\n[A]\nlate = 1\n"
    assert ok(tmp_path, text) == {
        "A": {"key": "z", "other": "a=b", "late": 1},
        "b": {"n": -42, "f": "4.5", "t": True, "e": ""},
    }


def test_default_inheritance_and_override(tmp_path):
    text = "x = 1\ny = ${x}0\n[s]\nx = 7\n[t]\n"
    assert ok(tmp_path, text) == {"s": {"x": 7, "y": 70}, "t": {"x": 1, "y": 10}}


def test_cross_section_and_recursion(tmp_path):
    text = "[a]\np = ${b:q}/a\n[b]\nq = ${R}-b\nr = $${not}${a:Z}\n[c]\nz = deep\n[a]\nz = ${c:z}\n"
    assert ok(tmp_path, text) == {
        "a": {"p": "${not}deep-b/a", "z": "deep"},
        "b": {"q": "${not}deep-b", "r": "${not}deep"},
        "c": {"z": "deep"},
    }


def test_continuation(tmp_path):
    text = "[m]\nlines = one\n\ttwo\n   three  \nnext = ${lines}!\n"
    assert ok(tmp_path, text) == {"m": {"lines": "one\ntwo\nthree", "next": "one\ntwo\nthree!"}}


def test_cycle_is_error(tmp_path):
    r = run(tmp_path, "[a]\nx = ${y}\ny = ${b:z}\n[b]\nz = ${a:x}\n")
    assert r.returncode == 2 and r.stdout.strip() == "" and r.stderr.strip()


def test_missing_is_error(tmp_path):
    r = run(tmp_path, "[a]\nx = ${nope}\n")
    assert r.returncode == 2 and r.stdout.strip() == ""
    r = run(tmp_path, "[a]\nx = ${zz:x}\n")
    assert r.returncode == 2
