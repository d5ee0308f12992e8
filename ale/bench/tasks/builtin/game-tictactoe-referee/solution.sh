#!/bin/bash
cat > /app/ttt.py <<'PY'
import sys

LINES = [(0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6)]


def wins(b, p):
    return any(all(b[i] == p for i in l) for l in LINES)


def judge(b):
    if len(b) != 9 or set(b) - set("XO."):
        return "invalid"
    x, o = b.count("X"), b.count("O")
    if not (x == o or x == o + 1):
        return "invalid"
    xw, ow = wins(b, "X"), wins(b, "O")
    if xw and ow:
        return "invalid"
    if xw:
        return "X wins" if x == o + 1 else "invalid"
    if ow:
        return "O wins" if x == o else "invalid"
    if "." not in b:
        return "draw"
    return "X to move" if x == o else "O to move"


for line in sys.stdin:
    print(judge(line.rstrip("\n")))
PY
