#!/bin/bash
cat > /app/game.py <<'PY'
"""Take-and-break game analyser using Sprague-Grundy values (mex over all moves of a single heap)."""
import json
import sys


def grundy_table(n, take, split):
    g = [0] * (n + 1)
    for h in range(1, n + 1):
        seen = set()
        for k in take:
            if k <= h:
                r = h - k
                seen.add(g[r])
                if split:
                    for a in range(1, r // 2 + 1):
                        seen.add(g[a] ^ g[r - a])
        m = 0
        while m in seen:
            m += 1
        g[h] = m
    return g


def main():
    spec = json.load(sys.stdin)
    take, split, heaps = sorted(set(spec["take"])), bool(spec["split"]), spec["heaps"]
    g = grundy_table(max(heaps, default=0), take, split)
    total = 0
    for h in heaps:
        total ^= g[h]
    moves = []
    if total:
        for i, h in enumerate(heaps):
            rest = total ^ g[h]
            for k in take:
                if k > h:
                    continue
                r = h - k
                if g[r] == rest:
                    moves.append({"heap": i, "take": k, "result": [r] if r else []})
                if split:
                    for a in range(1, r // 2 + 1):
                        if g[a] ^ g[r - a] == rest:
                            moves.append({"heap": i, "take": k, "result": [a, r - a]})
    moves.sort(key=lambda m: (m["heap"], m["take"], m["result"]))
    print(json.dumps({"winner": "first" if total else "second", "winning_moves": moves}))


main()
PY
