import random
import re
import subprocess
import time
from pathlib import Path

# Same language as the original regex, written without nested quantifiers (checked by brute force
# against the original on short strings when the task was written).
SAFE = re.compile(r'^[a-zA-Z0-9]+(?:[._-][a-zA-Z0-9]+)*@[a-zA-Z0-9]+(?:-[a-zA-Z0-9]+)*(?:\.[a-zA-Z]{2,})+$')
ORIGINAL = re.compile(r'^([a-zA-Z0-9]+[._-]?)*[a-zA-Z0-9]+@([a-zA-Z0-9]+-?)*[a-zA-Z0-9]+(\.[a-zA-Z]{2,})+$')


def run(path, timeout):
    t = time.monotonic()
    r = subprocess.run(["python3", "/app/checker.py", str(path)], capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip(), time.monotonic() - t


def test_given_file_output():
    lines = Path("/app/addresses.txt").read_text().split("\n")[:-1]
    valid = [l for l in lines if SAFE.match(l)]
    assert Path("/app/addresses.txt.valid").read_text() == "".join(v + "\n" for v in valid)
    out, _ = run("/app/addresses.txt", 30)
    assert out == f"valid={len(valid)} invalid={len(lines) - len(valid)}"


def test_pathological_fast(tmp_path):
    evil = []
    for n in (30, 100, 1000, 3000):
        evil += ["a" * n + "!", "a" * n + "@" + "b" * n + "!", "a." * n + "@x", "a@" + "b-" * n + "c.d", "a-" * n + "@b.cc"]
    p = tmp_path / "evil.txt"
    p.write_text("\n".join(evil * 20) + "\n")
    out, dt = run(p, 60)
    assert dt < 10, f"{dt:.1f}s"
    assert out == f"valid={sum(bool(SAFE.match(e)) for e in evil) * 20} invalid={sum(not SAFE.match(e) for e in evil) * 20}"


def test_same_language_as_original(tmp_path):
    rnd = random.Random(9)
    cands = ["".join(rnd.choice("aZ9._-@.q") for _ in range(rnd.randint(0, 14))) for _ in range(20000)]
    cands += ["john.doe@example.com", "a@b.cd", "a@b.c", "a_b-c.d@x-y.zz.com", "a..b@c.de", "a@b-.cd", "a@b.c1", "@b.cd",
              " a@b.cd", "a@b.cd ", "a@b.cd.", "a@1.de", "a@b.de.fg"]
    p = tmp_path / "c.txt"
    p.write_text("\n".join(cands) + "\n")
    run(p, 60)
    got = (tmp_path / "c.txt.valid").read_text().split("\n")[:-1]
    assert got == [c for c in cands if ORIGINAL.match(c)]
