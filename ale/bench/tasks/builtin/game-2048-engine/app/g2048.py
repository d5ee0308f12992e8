"""2048 game engine. Boards are lists of 4 rows, each a list of 4 ints (0 = empty cell)."""


def move(board, direction):
    """Apply one move ("left", "right", "up" or "down") to board.

    Returns (new_board, score_gained, moved). Must not modify the input board.
    """
    raise NotImplementedError


def can_move(board):
    """True iff at least one direction changes the board."""
    raise NotImplementedError
