import random
import subprocess
import time


def run(tmp_path, text, timeout=60):
    p = tmp_path / "e.txt"
    p.write_text(text)
    t = time.monotonic()
    r = subprocess.run(["python3", "/app/sexpr.py", str(p)], capture_output=True, text=True, timeout=timeout)
    return r, time.monotonic() - t


def ok(tmp_path, text):
    r, _ = run(tmp_path, text)
    assert r.returncode == 0, r.stderr[-500:]
    return r.stdout.strip()


def test_small_cases(tmp_path):
    assert ok(tmp_path, "42") == "value=42 depth=0"
    assert ok(tmp_path, "(+ 1 (* 2 3) (- 4))") == "value=3 depth=2"
    assert ok(tmp_path, "(- 10 1 2)") == "value=7 depth=1"
    assert ok(tmp_path, "(*)") == "value=1 depth=1"
    assert ok(tmp_path, "(+)") == "value=0 depth=1"
    assert ok(tmp_path, "(max 3 (min 9 -2) 7)") == "value=7 depth=2"
    assert ok(tmp_path, "(*(+ 1 2)(- 5 -5))") == "value=30 depth=2"


def test_errors(tmp_path):
    for bad in ["(+ 1 2", "(+ 1 2))", "(foo 1)", "(+ 1 x)", "(-)", "(max)", "1 2", ")", "", "(", "((+ 1))"]:
        r, _ = run(tmp_path, bad)
        assert r.returncode == 1, bad
        assert r.stderr.startswith("error:"), bad
        assert r.stdout == "", bad


def test_deep_nesting(tmp_path):
    n = 300_000
    text = "(+ 1 " * n + "0" + ")" * n
    r, dt = run(tmp_path, text)
    assert r.returncode == 0, r.stderr[-500:]
    assert r.stdout.strip() == f"value={n} depth={n}"
    assert dt < 20


def test_deep_mixed(tmp_path):
    rnd = random.Random(3)
    n = 120_000
    ops = [rnd.choice(["+", "-", "max", "min"]) for _ in range(n)]
    nums = [rnd.randint(-5, 5) for _ in range(n)]
    text = "".join(f"({o} {v} " for o, v in zip(ops, nums)) + "1" + ")" * n
    val = 1
    for o, v in zip(reversed(ops), reversed(nums)):
        val = {"+": v + val, "-": v - val, "max": max(v, val), "min": min(v, val)}[o]
    assert ok(tmp_path, text) == f"value={val} depth={n}"


def test_deep_error(tmp_path):
    n = 200_000
    r, _ = run(tmp_path, "(+ " * n + "1" + ")" * (n - 1))
    assert r.returncode == 1 and r.stderr.startswith("error:")


def test_wide(tmp_path):
    n = 300_000
    text = "(+ " + " ".join(str(i % 7) for i in range(n)) + " (* 2 3))"
    assert ok(tmp_path, text) == f"value={sum(i % 7 for i in range(n)) + 6} depth=2"
