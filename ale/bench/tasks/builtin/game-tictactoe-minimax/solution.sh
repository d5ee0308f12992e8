#!/bin/bash
cat > /app/ai.py <<'PY'
"""Tic-tac-toe AI.

A board is a string of 9 characters "X", "O" or "." (row by row, index 0 = top-left).
"""
from functools import lru_cache

LINES = [(0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6)]


def _winner(b):
    for i, j, k in LINES:
        if b[i] != "." and b[i] == b[j] == b[k]:
            return b[i]
    return None


@lru_cache(maxsize=None)
def _value(board, player):
    """Value for `player` who is to move: 1 win, 0 draw, -1 loss."""
    other = "O" if player == "X" else "X"
    best = -2
    for i, c in enumerate(board):
        if c == ".":
            nb = board[:i] + player + board[i + 1:]
            if _winner(nb) == player:
                return 1
            v = 0 if "." not in nb else -_value(nb, other)
            best = max(best, v)
    return best


def best_move(board: str, player: str) -> int:
    """Return the index (0-8) of an empty cell where `player` ("X" or "O") should play."""
    other = "O" if player == "X" else "X"
    scored = []
    for i, c in enumerate(board):
        if c == ".":
            nb = board[:i] + player + board[i + 1:]
            if _winner(nb) == player:
                v = 1
            elif "." not in nb:
                v = 0
            else:
                v = -_value(nb, other)
            scored.append((v, -i, i))
    return max(scored)[2]
PY
