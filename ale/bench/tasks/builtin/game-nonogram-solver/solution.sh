#!/bin/bash
cat > /app/nonogram.py <<'PY'
"""Nonogram solver: line solving by dynamic programming to a fixpoint, then backtracking."""
import sys
from functools import lru_cache

sys.setrecursionlimit(10000)


def solve_line(clue, line):
    """Return the line with every cell forced by (clue, known cells) fixed, or None if impossible.

    line: tuple of -1 unknown, 0 empty, 1 filled."""
    n = len(line)
    clue = tuple(c for c in clue if c)
    # can_fill[i]: no known empty cell in line[i:j]; prefix sums for speed
    empty_pre = [0]
    for v in line:
        empty_pre.append(empty_pre[-1] + (v == 0))
    filled_pre = [0]
    for v in line:
        filled_pre.append(filled_pre[-1] + (v == 1))

    @lru_cache(maxsize=None)
    def ok(i, k):
        """Can cells i.. be completed with clue[k:]?"""
        if k == len(clue):
            return filled_pre[n] - filled_pre[i] == 0
        if i >= n:
            return False
        res = False
        if line[i] != 1 and ok(i + 1, k):
            res = True
        L = clue[k]
        if not res and i + L <= n and empty_pre[i + L] - empty_pre[i] == 0 and (i + L == n or line[i + L] != 1):
            res = ok(min(i + L + 1, n), k + 1) if i + L < n else k + 1 == len(clue)
        return res

    if not ok(0, 0):
        return None
    can0, can1 = [False] * n, [False] * n
    seen = set()
    stack = [(0, 0)]
    while stack:  # walk every state on some valid path and record which values each cell can take
        i, k = stack.pop()
        if (i, k) in seen:
            continue
        seen.add((i, k))
        if k == len(clue):
            for j in range(i, n):
                can0[j] = True
            continue
        if line[i] != 1 and ok(i + 1, k):
            can0[i] = True
            stack.append((i + 1, k))
        L = clue[k]
        if i + L <= n and empty_pre[i + L] - empty_pre[i] == 0 and (i + L == n or line[i + L] != 1):
            nxt_ok = ok(i + L + 1, k + 1) if i + L < n else k + 1 == len(clue)
            if nxt_ok:
                for j in range(i, i + L):
                    can1[j] = True
                if i + L < n:
                    can0[i + L] = True
                    stack.append((i + L + 1, k + 1)) if i + L + 1 <= n else None
                else:
                    stack.append((n, k + 1))
    out = []
    for j in range(n):
        if can0[j] and can1[j]:
            out.append(-1)
        elif can1[j]:
            out.append(1)
        elif can0[j]:
            out.append(0)
        else:
            return None
    return tuple(out)


def propagate(grid, rows, cols):
    R, C = len(rows), len(cols)
    changed = True
    while changed:
        changed = False
        for r in range(R):
            new = solve_line(rows[r], tuple(grid[r]))
            if new is None:
                return False
            if list(new) != grid[r]:
                grid[r] = list(new)
                changed = True
        for c in range(C):
            col = tuple(grid[r][c] for r in range(R))
            new = solve_line(cols[c], col)
            if new is None:
                return False
            if new != col:
                for r in range(R):
                    grid[r][c] = new[r]
                changed = True
    return True


def search(grid, rows, cols):
    if not propagate(grid, rows, cols):
        return None
    for r, row in enumerate(grid):
        for c, v in enumerate(row):
            if v == -1:
                for guess in (1, 0):
                    g2 = [list(x) for x in grid]
                    g2[r][c] = guess
                    res = search(g2, rows, cols)
                    if res:
                        return res
                return None
    return grid


def main():
    lines = [l.split() for l in open(sys.argv[1]) if l.strip()]
    R, C = int(lines[0][0]), int(lines[0][1])
    rows = [tuple(int(x) for x in l) for l in lines[1:1 + R]]
    cols = [tuple(int(x) for x in l) for l in lines[1 + R:1 + R + C]]
    res = search([[-1] * C for _ in range(R)], rows, cols)
    if res is None:
        print("NO SOLUTION")
        return
    for row in res:
        print("".join("#" if v else "." for v in row))


main()
PY
