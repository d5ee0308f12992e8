import copy
import random
import sys

sys.path.insert(0, "/app")
import g2048  # noqa: E402


def ref_row(row):
    tiles = [v for v in row if v]
    out, score, i = [], 0, 0
    while i < len(tiles):
        if i + 1 < len(tiles) and tiles[i] == tiles[i + 1]:
            out.append(2 * tiles[i])
            score += 2 * tiles[i]
            i += 2
        else:
            out.append(tiles[i])
            i += 1
    return out + [0] * (4 - len(out)), score


def ref(board, d):
    t = {"left": lambda b: b, "right": lambda b: [r[::-1] for r in b],
         "up": lambda b: [list(c) for c in zip(*b)], "down": lambda b: [list(c)[::-1] for c in zip(*b)]}
    inv = {"left": lambda b: b, "right": lambda b: [r[::-1] for r in b],
           "up": lambda b: [list(c) for c in zip(*b)], "down": lambda b: [list(c) for c in zip(*[r[::-1] for r in b])]}
    rows = [ref_row(r) for r in t[d](board)]
    out = inv[d]([r for r, _ in rows])
    return out, sum(s for _, s in rows), out != board


def test_examples():
    assert g2048.move([[2, 2, 2, 0], [2, 2, 2, 2], [4, 4, 8, 0], [0, 0, 0, 2]], "left") == (
        [[4, 2, 0, 0], [4, 4, 0, 0], [8, 8, 0, 0], [2, 0, 0, 0]], 20, True)
    assert g2048.move([[2, 2, 2, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]], "right") == (
        [[0, 0, 2, 4], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]], 4, True)
    col = [[2, 0, 0, 0], [2, 0, 0, 0], [4, 0, 0, 0], [4, 0, 0, 0]]
    assert g2048.move(col, "up") == ([[4, 0, 0, 0], [8, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]], 12, True)
    assert g2048.move(col, "down") == ([[0, 0, 0, 0], [0, 0, 0, 0], [4, 0, 0, 0], [8, 0, 0, 0]], 12, True)


def test_no_change():
    b = [[2, 4, 8, 16], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]
    assert g2048.move(b, "left") == (b, 0, False)
    assert g2048.move(b, "up") == (b, 0, False)


def test_random_boards_all_directions():
    rnd = random.Random(2048)
    for _ in range(2000):
        b = [[rnd.choice([0, 0, 0, 2, 2, 4, 4, 8, 16]) for _ in range(4)] for _ in range(4)]
        for d in ("left", "right", "up", "down"):
            before = copy.deepcopy(b)
            got = g2048.move(b, d)
            assert b == before, "move() modified its input"
            new, score, moved = got
            assert (new, score, bool(moved)) == ref(b, d), (b, d)


def test_can_move():
    full_stuck = [[2, 4, 2, 4], [4, 2, 4, 2], [2, 4, 2, 4], [4, 2, 4, 2]]
    assert not g2048.can_move(full_stuck)
    assert g2048.can_move([[2, 4, 2, 4], [4, 2, 4, 2], [2, 4, 2, 4], [4, 2, 4, 4]])
    assert g2048.can_move([[2, 4, 2, 4], [4, 2, 4, 2], [2, 4, 2, 4], [4, 2, 4, 0]])
    rnd = random.Random(5)
    for _ in range(500):
        b = [[rnd.choice([2, 4, 8, 16, 32, 64]) for _ in range(4)] for _ in range(4)]
        assert bool(g2048.can_move(b)) == any(ref(b, d)[2] for d in ("left", "right", "up", "down"))
