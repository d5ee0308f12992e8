import subprocess
from pathlib import Path

EXTRA = [
    # a small level not shown to the agent
    ["#######",
     "#.  @ #",
     "# $$  #",
     "#.    #",
     "#######"],
    ["  ####",
     "###  ####",
     "#     $ #",
     "# #  #$ #",
     "# . .#@ #",
     "#########"],
]
DEAD = ["#####", "#$ .#", "# @ #", "#####"]  # box starts in a corner that is no goal: unsolvable


def levels_of(text):
    levels, cur = [], []
    for line in text.split("\n"):
        if not line.strip() or line.lstrip().startswith(";"):
            if cur:
                levels.append(cur)
            cur = []
        else:
            cur.append(line)
    if cur:
        levels.append(cur)
    return levels


def simulate(level, moves):
    walls, goals, boxes, pl = set(), set(), set(), None
    for y, row in enumerate(level):
        for x, ch in enumerate(row):
            if ch == "#":
                walls.add((y, x))
            if ch in ".+*":
                goals.add((y, x))
            if ch in "$*":
                boxes.add((y, x))
            if ch in "@+":
                pl = (y, x)
    d = {"u": (-1, 0), "d": (1, 0), "l": (0, -1), "r": (0, 1)}
    H = len(level)
    for m in moves:
        dy, dx = d[m.lower()]
        n = (pl[0] + dy, pl[1] + dx)
        assert n not in walls and 0 <= n[0] < H and 0 <= n[1] < len(level[n[0]]), "move into a wall"
        if n in boxes:
            b2 = (n[0] + dy, n[1] + dx)
            assert b2 not in walls and b2 not in boxes, "illegal push"
            assert 0 <= b2[0] < H and 0 <= b2[1] < len(level[b2[0]])
            boxes.remove(n)
            boxes.add(b2)
        pl = n
    return boxes == goals


def run(tmp_path, levels):
    p = tmp_path / "levels.txt"
    p.write_text("\n\n".join("\n".join(l) for l in levels) + "\n")
    r = subprocess.run(["python3", "/app/sokoban.py", str(p)], capture_output=True, text=True,
                       timeout=60 * len(levels))
    assert r.returncode == 0, r.stderr
    return [l.strip() for l in r.stdout.splitlines() if l.strip()]


def test_given_levels(tmp_path):
    text = Path("/app/levels.txt").read_text()
    levels = levels_of(text)
    r = subprocess.run(["python3", "/app/sokoban.py", "/app/levels.txt"], capture_output=True, text=True, timeout=180)
    out = [l.strip() for l in r.stdout.splitlines() if l.strip()]
    assert len(out) == len(levels) == 3
    for lv, mv in zip(levels, out):
        assert simulate(lv, mv), lv


def test_hidden_levels(tmp_path):
    out = run(tmp_path, EXTRA)
    assert len(out) == len(EXTRA)
    for lv, mv in zip(EXTRA, out):
        assert mv != "NO SOLUTION" and simulate(lv, mv), lv


def test_unsolvable(tmp_path):
    out = run(tmp_path, [DEAD, EXTRA[0]])
    assert out[0] == "NO SOLUTION"
    assert simulate(EXTRA[0], out[1])
