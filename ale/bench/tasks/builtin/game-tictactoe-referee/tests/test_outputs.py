import itertools
import subprocess

LINES = [(0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6)]


def wins(b, p):
    return any(all(b[i] == p for i in l) for l in LINES)


def reachable():
    """Every position reachable by legal play, mapped to its verdict (found by playing all games)."""
    seen = {}
    def go(b, turn):
        s = "".join(b)
        if s in seen:
            return
        if wins(b, "X"):
            seen[s] = "X wins"
            return
        if wins(b, "O"):
            seen[s] = "O wins"
            return
        if "." not in b:
            seen[s] = "draw"
            return
        seen[s] = f"{turn} to move"
        for i in range(9):
            if b[i] == ".":
                b[i] = turn
                go(b, "O" if turn == "X" else "X")
                b[i] = "."
    go(["."] * 9, "X")
    return seen


def judge(lines):
    r = subprocess.run(["python3", "/app/ttt.py"], input="".join(l + "\n" for l in lines),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout.splitlines()


def test_example():
    with open("/app/boards.txt") as f:
        lines = f.read().splitlines()
    assert judge(lines) == ["X wins", "draw", "X to move", "invalid"]


def test_all_boards():
    truth = reachable()
    boards = ["".join(p) for p in itertools.product("XO.", repeat=9)]
    got = judge(boards)
    assert len(got) == len(boards)
    wrong = [(b, g, truth.get(b, "invalid")) for b, g in zip(boards, got) if g != truth.get(b, "invalid")]
    assert not wrong, wrong[:10]


def test_malformed():
    assert judge(["XO", "XOXOXOXOXO", "xo.......", "X O......"]) == ["invalid"] * 4
