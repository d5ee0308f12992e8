#!/bin/bash
cat > /app/sudoku.py <<'PY'
import sys

UNITS = [[r * 9 + c for c in range(9)] for r in range(9)] + [[r * 9 + c for r in range(9)] for c in range(9)] + \
        [[(br + r) * 9 + bc + c for r in range(3) for c in range(3)] for br in (0, 3, 6) for bc in (0, 3, 6)]
PEERS = [sorted({p for u in UNITS if i in u for p in u} - {i}) for i in range(81)]


def solve(grid):
    def cands(i):
        used = {grid[p] for p in PEERS[i]}
        return [d for d in range(1, 10) if d not in used]

    empties = [i for i in range(81) if grid[i] == 0]
    if not empties:
        return True
    best, bc = None, None
    for i in empties:
        c = cands(i)
        if best is None or len(c) < len(bc):
            best, bc = i, c
            if len(c) <= 1:
                break
    for d in bc:
        grid[best] = d
        if solve(grid):
            return True
    grid[best] = 0
    return False


def handle(line):
    s = line.strip()
    if len(s) != 81 or any(ch not in "0123456789." for ch in s):
        return "NO SOLUTION"
    grid = [0 if ch in "0." else int(ch) for ch in s]
    for i in range(81):
        if grid[i] and any(grid[p] == grid[i] for p in PEERS[i]):
            return "NO SOLUTION"
    return "".join(map(str, grid)) if solve(grid) else "NO SOLUTION"


for line in sys.stdin:
    if line.strip():
        print(handle(line))
PY
