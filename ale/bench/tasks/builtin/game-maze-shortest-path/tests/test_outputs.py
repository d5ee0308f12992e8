import random
import subprocess
from collections import deque


def cell(rows, y, x):
    return rows[y][x] if 0 <= y < len(rows) and 0 <= x < len(rows[y]) else "#"


def find(rows, ch):
    return next((y, x) for y, r in enumerate(rows) for x, c in enumerate(r) if c == ch)


def bfs(rows):
    s = find(rows, "S")
    dist = {s: 0}
    q = deque([s])
    while q:
        y, x = q.popleft()
        for dy, dx in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            n = (y + dy, x + dx)
            if n not in dist and cell(rows, *n) != "#":
                dist[n] = dist[(y, x)] + 1
                q.append(n)
    return dist.get(find(rows, "E"))


def solve(tmp_path, rows):
    p = tmp_path / "m.txt"
    p.write_text("\n".join(rows) + "\n")
    r = subprocess.run(["python3", "/app/solve_maze.py", str(p)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def check(tmp_path, rows):
    out = solve(tmp_path, rows)
    best = bfs(rows)
    if best is None:
        assert out == "NO PATH"
        return
    y, x = find(rows, "S")
    d = {"U": (-1, 0), "D": (1, 0), "L": (0, -1), "R": (0, 1)}
    for m in out:
        y, x = y + d[m][0], x + d[m][1]
        assert cell(rows, y, x) != "#", "walked into a wall"
    assert (y, x) == find(rows, "E")
    assert len(out) == best


def random_maze(rnd, h, w, p):
    rows = [["#" if rnd.random() < p else "." for _ in range(w)] for _ in range(h)]
    cells = rnd.sample([(y, x) for y in range(h) for x in range(w)], 2)
    rows[cells[0][0]][cells[0][1]] = "S"
    rows[cells[1][0]][cells[1][1]] = "E"
    return ["".join(r) for r in rows]


def test_given_maze(tmp_path):
    rows = open("/app/maze.txt").read().splitlines()
    check(tmp_path, rows)


def test_random_mazes(tmp_path):
    rnd = random.Random(8)
    for i in range(12):
        check(tmp_path, random_maze(rnd, rnd.randint(2, 30), rnd.randint(2, 30), 0.3))


def test_unreachable(tmp_path):
    assert solve(tmp_path, ["S.#..", "..#.E", "###.."]) == "NO PATH"


def test_ragged_rows(tmp_path):
    rows = ["S....", ".", "...E"]
    check(tmp_path, rows)
    assert solve(tmp_path, ["S..", "#", "..E"]) == "NO PATH"


def test_large(tmp_path):
    rnd = random.Random(9)
    rows = random_maze(rnd, 200, 200, 0.25)
    check(tmp_path, rows)
