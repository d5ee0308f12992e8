"""Small single-skill families: write-word (the easiest), column-sum, log-count, permissions, pyfunc."""
from __future__ import annotations

import random

from ale.bench.generators import family
from ale.bench.generators.common import WORDS, TaskSpec, difficulty_of


@family("write-word")
def write_word(rng: random.Random, index: int, hint: bool = True) -> TaskSpec:
    """The easiest family: one command solves it (a tiny policy's reward can rise on it)."""
    word = rng.choice(WORDS) + str(rng.randint(10, 99))
    text = f"Write the word {word} into the file /workspace/answer.txt."
    if hint:
        text += f" One shell command is enough, e.g. echo {word} > /workspace/answer.txt"
    tests = f'''from pathlib import Path


def test_answer_file():
    assert Path("/workspace/answer.txt").read_text().strip() == {word!r}
'''
    return TaskSpec("", text, "system-administration", "easy", tests, f"echo {word} > /workspace/answer.txt",
                    tags=["trivial"], agent_timeout=600)  # tiny CPU models are slow


@family("column-sum")
def column_sum(rng: random.Random, index: int, rows: int | None = None) -> TaskSpec:
    """Filter a CSV and sum a column; difficulty grows with size and messy rows."""
    rows = rows or rng.randint(5, 200)
    regions = rng.sample(["north", "south", "east", "west", "central"], 3)
    target = regions[0]
    lines, total = ["id,region,units,price"], 0
    for i in range(rows):
        region = rng.choice(regions)
        units = rng.randint(0, 50)
        price = f"{rng.randint(1, 999)}.{rng.randint(0, 99):02d}"
        if region == target:
            total += units
        lines.append(f"{i + 1},{region},{units},{price}")
    messy = rows > 50
    if messy:  # blank lines and padded fields, which a careless parser miscounts
        for k in sorted(rng.sample(range(2, len(lines)), 3), reverse=True):
            lines.insert(k, "")
        lines = [ln.replace(f",{target},", f", {target} ,") if i % 7 == 0 else ln for i, ln in enumerate(lines)]
    text = (f"/workspace/sales.csv has columns id,region,units,price. Compute the total of `units` over the rows "
            f"whose region is {target!r} (ignore blank lines; fields may have surrounding spaces) and write just "
            f"that integer to /workspace/answer.txt.")
    tests = f'''from pathlib import Path


def test_total():
    assert Path("/workspace/answer.txt").read_text().strip() == "{total}"
'''
    solution = ("python3 - <<'EOF'\nimport csv\ntotal = 0\nfor row in csv.DictReader(open('/workspace/sales.csv')):\n"
                f"    if row['region'] and row['region'].strip() == {target!r}:\n        total += int(row['units'])\n"
                "open('/workspace/answer.txt', 'w').write(str(total))\nEOF")
    return TaskSpec("", text, "data-processing", difficulty_of(rows, 50, 150), tests, solution,
                    files={"sales.csv": "\n".join(lines) + "\n"}, tags=["csv"])


@family("log-count")
def log_count(rng: random.Random, index: int, lines: int | None = None) -> TaskSpec:
    """Find the address with the most failed SSH logins in an auth log."""
    n = lines or rng.randint(20, 400)
    ips = [f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}" for _ in range(6)]
    weights = [rng.randint(1, 10) for _ in ips]
    weights[rng.randrange(len(ips))] += 15  # one clear winner
    counts = dict.fromkeys(ips, 0)
    out = []
    for i in range(n):
        ip = rng.choices(ips, weights)[0]
        user = rng.choice(["root", "admin", "deploy", "alice", "bob"])
        ts = f"Mar {1 + i // 100:2d} {10 + (i // 60) % 12:02d}:{i % 60:02d}:{rng.randint(0, 59):02d}"
        if rng.random() < 0.7:
            counts[ip] += 1
            out.append(f"{ts} host sshd[{1000 + i}]: Failed password for {user} from {ip} port {rng.randint(1024, 65535)} ssh2")
        else:
            out.append(f"{ts} host sshd[{1000 + i}]: Accepted password for {user} from {ip} port {rng.randint(1024, 65535)} ssh2")
    best = max(ips, key=lambda ip: (counts[ip], ip))
    if sorted(counts.values())[-1] == sorted(counts.values())[-2]:  # keep the answer unique
        out.append(f"Apr  1 00:00:00 host sshd[9999]: Failed password for root from {best} port 2222 ssh2")
        counts[best] += 1
    text = ("/workspace/auth.log is an sshd log. Find the IP address with the most `Failed password` lines and write "
            "`IP COUNT` (the address, a space, the number of its failed attempts) to /workspace/answer.txt.")
    tests = f'''from pathlib import Path


def test_top_offender():
    assert Path("/workspace/answer.txt").read_text().split() == ["{best}", "{counts[best]}"]
'''
    solution = ("grep 'Failed password' /workspace/auth.log | sed -E 's/.* from ([0-9.]+) port.*/\\1/' | sort | uniq -c "
                "| sort -k1,1nr -k2,2r | head -1 | awk '{print $2, $1}' > /workspace/answer.txt")
    return TaskSpec("", text, "security", difficulty_of(n, 100, 300), tests, solution,
                    files={"auth.log": "\n".join(out) + "\n"}, tags=["logs", "ssh"])


@family("permissions")
def permissions(rng: random.Random, index: int, n_files: int | None = None) -> TaskSpec:
    """Set owner-only / group / world modes on a small tree as a policy table says."""
    k = n_files or rng.randint(2, 8)
    names = rng.sample(["secrets.env", "id_rsa", "deploy.sh", "backup.tar", "notes.txt", "app.conf", "cron.sh",
                        "db.sqlite", "run.sh", "token.txt", "README", "audit.log"], k)
    modes = {n: rng.choice([0o600, 0o640, 0o644, 0o700, 0o750, 0o755, 0o400]) for n in names}
    files = {f"srv/{n}": f"content of {n}\n" for n in names}
    table = "\n".join(f"  /workspace/srv/{n}  ->  {modes[n]:o}" for n in names)
    text = (f"Apply this permission policy (octal modes) to the files under /workspace/srv, and make the "
            f"directory /workspace/srv itself 750:\n{table}\nDo not change file contents.")
    tests = f'''import os
import stat

MODES = {{{", ".join(f"{n!r}: 0o{m:o}" for n, m in modes.items())}}}


def test_modes():
    for name, mode in MODES.items():
        assert stat.S_IMODE(os.stat("/workspace/srv/" + name).st_mode) == mode, name


def test_dir_mode():
    assert stat.S_IMODE(os.stat("/workspace/srv").st_mode) == 0o750


def test_contents_kept():
    for name in MODES:
        assert open("/workspace/srv/" + name).read() == "content of " + name + "\\n"
'''
    solution = "\n".join([f"chmod {m:o} /workspace/srv/{n}" for n, m in modes.items()] + ["chmod 750 /workspace/srv"])
    return TaskSpec("", text, "system-administration", difficulty_of(k, 3, 6), tests, solution, files=files,
                    setup=["chmod 666 /workspace/srv/* && chmod 777 /workspace/srv"], tags=["chmod"])


# pyfunc: implement a small function to a spec; the hidden tests compare with a reference on seeded inputs.
_FUNCS = {
    "caesar": ("def caesar(text: str) -> str:\n    \"\"\"Shift each ASCII letter {k} places forward in the alphabet "
               "(wrapping, keeping case); leave other characters alone.\"\"\"",
               "def caesar(text):\n    out = []\n    for c in text:\n        if 'a' <= c <= 'z':\n"
               "            out.append(chr((ord(c) - 97 + {k}) % 26 + 97))\n        elif 'A' <= c <= 'Z':\n"
               "            out.append(chr((ord(c) - 65 + {k}) % 26 + 65))\n        else:\n            out.append(c)\n"
               "    return ''.join(out)\n"),
    "rle": ("def rle(text: str) -> str:\n    \"\"\"Run-length encode: each run of a character becomes the character "
            "followed by the run length when the run is at least {k} long, else the run itself unchanged.\"\"\"",
            "def rle(text):\n    out, i = [], 0\n    while i < len(text):\n        j = i\n"
            "        while j < len(text) and text[j] == text[i]:\n            j += 1\n"
            "        out.append(text[i] + str(j - i) if j - i >= {k} else text[i:j])\n        i = j\n    return ''.join(out)\n"),
    "digits": ("def digits(n: int) -> list[int]:\n    \"\"\"The digits of the non-negative integer n written in base {k}, most "
               "significant first ([0] for 0).\"\"\"",
               "def digits(n):\n    if n == 0:\n        return [0]\n    out = []\n    while n:\n        out.append(n % {k})\n"
               "        n //= {k}\n    return out[::-1]\n"),
    "chunks": ("def chunks(items: list) -> list[list]:\n    \"\"\"Split items into consecutive lists of {k} elements; the last may "
               "be shorter; [] for an empty input.\"\"\"",
               "def chunks(items):\n    return [list(items[i:i + {k}]) for i in range(0, len(items), {k})]\n"),
}


def _pyfunc_inputs(rng: random.Random, name: str) -> list:
    if name in ("caesar", "rle"):
        alphabet = "aabbbcXYZ z!" if name == "rle" else "abcxyzABCXYZ ,.!"
        return ["", *("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 30))) for _ in range(11))]
    if name == "digits":
        return [0, 1, *(rng.randint(2, 10 ** rng.randint(1, 12)) for _ in range(10))]
    return [[], [1], list(range(rng.randint(2, 20))), *([rng.randint(0, 9) for _ in range(rng.randint(1, 30))] for _ in range(9))]


@family("pyfunc")
def pyfunc(rng: random.Random, index: int, name: str | None = None) -> TaskSpec:
    """Implement a function to its docstring in /workspace/impl.py."""
    name = name or rng.choice(sorted(_FUNCS))
    if name not in _FUNCS:
        raise ValueError(f"pyfunc name must be one of {', '.join(sorted(_FUNCS))}")
    k = {"caesar": rng.randint(1, 25), "rle": rng.randint(2, 4), "digits": rng.randint(2, 16),
         "chunks": rng.randint(2, 6)}[name]
    stub, ref = (s.replace("{k}", str(k)) for s in _FUNCS[name])
    ns: dict = {}
    exec(ref, ns)
    cases = [(x, ns[name](x)) for x in _pyfunc_inputs(rng, name)]
    text = (f"Implement `{name}` in /workspace/impl.py to its docstring (replace the `raise NotImplementedError`). "
            "Use only the standard library.")
    tests = f'''import sys

sys.path.insert(0, "/workspace")
from impl import {name}

CASES = {cases!r}


def test_cases():
    for arg, want in CASES:
        assert {name}(arg) == want, arg
'''
    solution = f"cat > /workspace/impl.py <<'EOF'\n{ref}EOF"
    return TaskSpec("", text, "software-engineering", "easy" if name in ("chunks", "digits") else "medium", tests,
                    solution, files={"impl.py": f"{stub}\n    raise NotImplementedError\n"}, tags=["python", name])
