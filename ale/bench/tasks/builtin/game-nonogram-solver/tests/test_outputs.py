import random
import subprocess


def clues(line):
    out, n = [], 0
    for v in list(line) + [0]:
        if v:
            n += 1
        elif n:
            out.append(n)
            n = 0
    return out or [0]


def make(seed, R, C, d):
    rnd = random.Random(seed)
    g = [[1 if rnd.random() < d else 0 for _ in range(C)] for _ in range(R)]
    return rowcol(g)


def rowcol(g):
    R, C = len(g), len(g[0])
    return [clues(r) for r in g], [clues([g[r][c] for r in range(R)]) for c in range(C)]


def fmt(rows, cols):
    return f"{len(rows)} {len(cols)}\n" + "".join(" ".join(map(str, c)) + "\n" for c in rows + cols)


def solve(tmp_path, rows, cols):
    p = tmp_path / "p.txt"
    p.write_text(fmt(rows, cols))
    r = subprocess.run(["python3", "/app/nonogram.py", str(p)], capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, r.stderr
    return [l.strip() for l in r.stdout.splitlines() if l.strip()]


def check(tmp_path, rows, cols):
    out = solve(tmp_path, rows, cols)
    assert len(out) == len(rows) and all(len(l) == len(cols) and set(l) <= {"#", "."} for l in out), out
    g = [[1 if ch == "#" else 0 for ch in l] for l in out]
    assert rowcol(g) == (rows, cols)


def test_example(tmp_path):
    lines = open("/app/example.txt").read().splitlines()
    rows = [[int(x) for x in l.split()] for l in lines[1:6]]
    cols = [[int(x) for x in l.split()] for l in lines[6:11]]
    check(tmp_path, rows, cols)


def test_line_solvable_sizes(tmp_path):
    for seed, (R, C, d) in enumerate([(10, 10, 0.55), (15, 15, 0.6), (20, 25, 0.65), (30, 30, 0.6)]):
        check(tmp_path, *make(seed + 1, R, C, d))


def test_needs_guessing(tmp_path):
    check(tmp_path, [[1], [1]], [[1], [1]])
    g = [[int(c == "#") for c in r] for r in ("#.#.", ".#.#", "....", "#..#")]
    check(tmp_path, *rowcol(g))
    for seed in (41, 46):
        check(tmp_path, *make(seed, 12, 12, 0.3))


def test_empty_and_full(tmp_path):
    check(tmp_path, [[0]] * 3, [[0]] * 4)
    check(tmp_path, [[4]] * 3, [[3]] * 4)


def test_no_solution(tmp_path):
    assert solve(tmp_path, [[2], [0]], [[1], [0]]) == ["NO SOLUTION"]
    assert solve(tmp_path, [[1, 1], [0]], [[1], [1]]) == ["NO SOLUTION"]
