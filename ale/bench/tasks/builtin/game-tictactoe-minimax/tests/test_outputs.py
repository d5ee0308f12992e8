import sys
from functools import lru_cache

sys.path.insert(0, "/app")
import ai  # noqa: E402

LINES = [(0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6)]


def winner(b):
    for i, j, k in LINES:
        if b[i] != "." and b[i] == b[j] == b[k]:
            return b[i]
    return None


@lru_cache(maxsize=None)
def value(b, p):
    """Minimax value for p to move (1 win, 0 draw, -1 loss)."""
    o = "O" if p == "X" else "X"
    vals = []
    for i in range(9):
        if b[i] == ".":
            nb = b[:i] + p + b[i + 1:]
            vals.append(1 if winner(nb) == p else 0 if "." not in nb else -value(nb, o))
    return max(vals)


def after(b, i, p):
    nb = b[:i] + p + b[i + 1:]
    o = "O" if p == "X" else "X"
    return 1 if winner(nb) == p else 0 if "." not in nb else -value(nb, o)


def positions():
    seen = set()
    def go(b, p):
        if b in seen or winner(b) or "." not in b:
            return
        seen.add(b)
        for i in range(9):
            if b[i] == ".":
                go(b[:i] + p + b[i + 1:], "O" if p == "X" else "X")
    go("." * 9, "X")
    return seen


def test_all_positions_optimal():
    bad = []
    for b in sorted(positions()):
        p = "X" if b.count("X") == b.count("O") else "O"
        m = ai.best_move(b, p)
        if not (isinstance(m, int) and 0 <= m < 9 and b[m] == "."):
            bad.append((b, p, m, "illegal"))
        elif after(b, m, p) != value(b, p):
            bad.append((b, p, m, "suboptimal"))
    assert not bad, bad[:10]


def test_takes_immediate_win():
    assert ai.best_move("XX.OO....", "X") == 2
    assert ai.best_move("XX.OO.X..", "O") == 5


def test_blocks():
    assert ai.best_move("XX..O....", "O") == 2
