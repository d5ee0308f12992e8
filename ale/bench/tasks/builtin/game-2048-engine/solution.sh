#!/bin/bash
cat > /app/g2048.py <<'PY'
"""2048 game engine. Boards are lists of 4 rows, each a list of 4 ints (0 = empty cell)."""


def _slide_left(row):
    tiles = [v for v in row if v]
    out, score, i = [], 0, 0
    while i < len(tiles):
        if i + 1 < len(tiles) and tiles[i] == tiles[i + 1]:
            out.append(tiles[i] * 2)
            score += tiles[i] * 2
            i += 2
        else:
            out.append(tiles[i])
            i += 1
    return out + [0] * (len(row) - len(out)), score


def move(board, direction):
    """Apply one move ("left", "right", "up" or "down") to board.

    Returns (new_board, score_gained, moved). Must not modify the input board.
    """
    b = [list(r) for r in board]
    if direction in ("up", "down"):
        b = [list(c) for c in zip(*b)]
    if direction in ("right", "down"):
        b = [r[::-1] for r in b]
    score = 0
    res = []
    for r in b:
        nr, s = _slide_left(r)
        res.append(nr)
        score += s
    if direction in ("right", "down"):
        res = [r[::-1] for r in res]
    if direction in ("up", "down"):
        res = [list(c) for c in zip(*res)]
    return res, score, res != [list(r) for r in board]


def can_move(board):
    """True iff at least one direction changes the board."""
    return any(move(board, d)[2] for d in ("left", "right", "up", "down"))
PY
