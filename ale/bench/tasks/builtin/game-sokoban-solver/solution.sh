#!/bin/bash
cat > /app/sokoban.py <<'PY'
"""Sokoban solver: breadth-first search over box configurations (pushes), with the player's
reachable region normalised, and simple dead-square pruning (non-goal corners)."""
import sys
from collections import deque

DIRS = {"u": (-1, 0), "d": (1, 0), "l": (0, -1), "r": (0, 1)}


def parse(lines):
    walls, goals, boxes, player = set(), set(), set(), None
    for y, row in enumerate(lines):
        for x, ch in enumerate(row):
            if ch == "#":
                walls.add((y, x))
            if ch in ".+*":
                goals.add((y, x))
            if ch in "$*":
                boxes.add((y, x))
            if ch in "@+":
                player = (y, x)
    return walls, goals, frozenset(boxes), player


def reach(walls, boxes, start):
    """Cells reachable by the player, with a path (move string) to each."""
    paths = {start: ""}
    q = deque([start])
    while q:
        y, x = q.popleft()
        for m, (dy, dx) in DIRS.items():
            n = (y + dy, x + dx)
            if n not in paths and n not in walls and n not in boxes:
                paths[n] = paths[(y, x)] + m
                q.append(n)
    return paths


def solve(walls, goals, boxes, player):
    def dead(c):
        if c in goals:
            return False
        y, x = c
        v = (y - 1, x) in walls or (y + 1, x) in walls
        h = (y, x - 1) in walls or (y, x + 1) in walls
        return v and h

    start_reach = reach(walls, boxes, player)
    key = (boxes, min(start_reach))
    seen = {key}
    q = deque([(boxes, player, "")])
    while q:
        bx, pl, path = q.popleft()
        if bx <= goals:
            return path
        paths = reach(walls, bx, pl)
        for b in bx:
            for m, (dy, dx) in DIRS.items():
                stand = (b[0] - dy, b[1] - dx)
                dest = (b[0] + dy, b[1] + dx)
                if stand not in paths or dest in walls or dest in bx or dead(dest):
                    continue
                nb = (bx - {b}) | {dest}
                k = (nb, min(reach(walls, nb, b)))
                if k in seen:
                    continue
                seen.add(k)
                q.append((nb, b, path + paths[stand] + m.upper()))
    return None


def main():
    text = open(sys.argv[1]).read()
    levels, cur = [], []
    for line in text.split("\n"):
        if line.strip() == "" or line.lstrip().startswith(";"):
            if cur:
                levels.append(cur)
                cur = []
        else:
            cur.append(line)
    if cur:
        levels.append(cur)
    for lv in levels:
        res = solve(*parse(lv))
        print("NO SOLUTION" if res is None else res)


main()
PY
