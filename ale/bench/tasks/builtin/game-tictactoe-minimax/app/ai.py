"""Tic-tac-toe AI.

A board is a string of 9 characters "X", "O" or "." (row by row, index 0 = top-left).
"""


def best_move(board: str, player: str) -> int:
    """Return the index (0-8) of an empty cell where `player` ("X" or "O") should play.

    Current version: plays the first empty cell. Replace it with perfect play.
    """
    return board.index(".")
