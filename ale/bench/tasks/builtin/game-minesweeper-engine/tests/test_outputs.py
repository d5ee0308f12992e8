import random
import subprocess


def ref(field, moves):
    H, W = len(field), len(field[0])
    mine = lambda r, c: field[r][c] == "*"
    def nb(r, c):
        return [(r + a, c + b) for a in (-1, 0, 1) for b in (-1, 0, 1) if (a or b) and 0 <= r + a < H and 0 <= c + b < W]
    cnt = lambda r, c: sum(mine(*x) for x in nb(r, c))
    rev, fl, st = set(), set(), "playing"
    safe = sum(not mine(r, c) for r in range(H) for c in range(W))
    for op, r, c in moves:
        if st != "playing" or not (0 <= r < H and 0 <= c < W):
            continue
        if op == "f":
            if (r, c) not in rev:
                fl ^= {(r, c)}
        elif (r, c) not in fl and (r, c) not in rev:
            if mine(r, c):
                st = "lost"
                continue
            todo = [(r, c)]
            while todo:
                x = todo.pop()
                if x in rev or x in fl:
                    continue
                rev.add(x)
                if cnt(*x) == 0:
                    todo += nb(*x)
            if len(rev) == safe:
                st = "won"
    rows = []
    for r in range(H):
        s = ""
        for c in range(W):
            if (r, c) in fl:
                s += "F"
            elif (r, c) in rev:
                s += str(cnt(r, c)) if cnt(r, c) else "."
            elif st == "lost" and mine(r, c):
                s += "*"
            else:
                s += "#"
        rows.append(s)
    return rows + [st]


def run(tmp_path, field, moves):
    (tmp_path / "f.txt").write_text("\n".join(field) + "\n")
    (tmp_path / "m.txt").write_text("".join(f"{o} {r} {c}\n" for o, r, c in moves))
    p = subprocess.run(["python3", "/app/mines.py", str(tmp_path / "f.txt"), str(tmp_path / "m.txt")],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    return [l.rstrip() for l in p.stdout.splitlines() if l.strip()]


def test_example(tmp_path):
    out = subprocess.run(["python3", "/app/mines.py", "/app/field.txt", "/app/moves.txt"],
                         capture_output=True, text=True, timeout=30).stdout.split()
    assert out == ["...1#", "22111", "F#1..", "##1..", "playing"]


def test_win(tmp_path):
    field = ["*...", "....", "...."]
    assert run(tmp_path, field, [("r", 2, 3)]) == ["#1..", "11..", "....", "won"]


def test_loss_shows_mines(tmp_path):
    field = ["*..*", "....", "*..."]
    assert run(tmp_path, field, [("f", 0, 0), ("r", 0, 3), ("r", 2, 3)]) == ["F##*", "####", "*###", "lost"]


def test_random_games(tmp_path):
    rnd = random.Random(31)
    for _ in range(40):
        h, w = rnd.randint(1, 12), rnd.randint(1, 12)
        dens = rnd.choice([0.05, 0.12, 0.2])
        field = ["".join("*" if rnd.random() < dens else "." for _ in range(w)) for _ in range(h)]
        moves = [(rnd.choice("rrrf"), rnd.randint(-1, h), rnd.randint(-1, w)) for _ in range(rnd.randint(1, 25))]
        assert run(tmp_path, field, moves) == ref(field, moves), (field, moves)
