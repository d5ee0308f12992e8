#!/bin/bash
cat > /app/life.py <<'PY'
import sys

rows = [l.strip() for l in open(sys.argv[1]) if l.strip()]
g = [[c == "#" for c in r] for r in rows]
H, W = len(g), len(g[0])
for _ in range(int(sys.argv[2])):
    g = [[(n == 3 or (n == 2 and g[y][x]))
          for x in range(W)
          for n in [sum(g[(y + dy) % H][(x + dx) % W] for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx)]]
         for y in range(H)]
print("\n".join("".join("#" if c else "." for c in r) for r in g))
PY
