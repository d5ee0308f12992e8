#!/bin/bash
cat > /app/mines.py <<'PY'
import sys

field = [l.rstrip("\n") for l in open(sys.argv[1]) if l.strip()]
H, W = len(field), len(field[0])
mine = lambda r, c: field[r][c] == "*"
nbrs = lambda r, c: [(r + a, c + b) for a in (-1, 0, 1) for b in (-1, 0, 1)
                     if (a or b) and 0 <= r + a < H and 0 <= c + b < W]
count = lambda r, c: sum(mine(*n) for n in nbrs(r, c))
revealed, flagged = set(), set()
status = "playing"
safe = sum(not mine(r, c) for r in range(H) for c in range(W))
for line in open(sys.argv[2]):
    parts = line.split()
    if status != "playing" or len(parts) != 3:
        continue
    op, r, c = parts[0], int(parts[1]), int(parts[2])
    if not (0 <= r < H and 0 <= c < W):
        continue
    if op == "f":
        if (r, c) not in revealed:
            flagged ^= {(r, c)}
    elif op == "r":
        if (r, c) in flagged or (r, c) in revealed:
            continue
        if mine(r, c):
            status = "lost"
            continue
        stack = [(r, c)]
        while stack:
            cell = stack.pop()
            if cell in revealed or cell in flagged:
                continue
            revealed.add(cell)
            if count(*cell) == 0:
                stack.extend(nbrs(*cell))
        if len(revealed) == safe:
            status = "won"
for r in range(H):
    row = ""
    for c in range(W):
        if (r, c) in flagged:
            row += "F"
        elif (r, c) in revealed:
            n = count(r, c)
            row += str(n) if n else "."
        elif status == "lost" and mine(r, c):
            row += "*"
        else:
            row += "#"
    print(row)
print(status)
PY
