#!/bin/bash
cat > /app/solve_maze.py <<'PY'
import sys
from collections import deque

rows = open(sys.argv[1]).read().splitlines()
cell = lambda y, x: rows[y][x] if 0 <= y < len(rows) and 0 <= x < len(rows[y]) else "#"
start = next((y, x) for y, r in enumerate(rows) for x, c in enumerate(r) if c == "S")
prev = {start: None}
q = deque([start])
moves = {"U": (-1, 0), "D": (1, 0), "L": (0, -1), "R": (0, 1)}
end = None
while q:
    y, x = q.popleft()
    if cell(y, x) == "E":
        end = (y, x)
        break
    for m, (dy, dx) in moves.items():
        n = (y + dy, x + dx)
        if n not in prev and cell(*n) != "#":
            prev[n] = ((y, x), m)
            q.append(n)
if end is None:
    print("NO PATH")
else:
    path = []
    while prev[end]:
        end, m = prev[end]
        path.append(m)
    print("".join(reversed(path)))
PY
