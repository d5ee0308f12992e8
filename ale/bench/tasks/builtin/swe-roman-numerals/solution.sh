#!/bin/bash
cat > /app/roman.py <<'PY'
import sys

_PAIRS = [(1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
          (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")]


def to_roman(n):
    if not isinstance(n, int) or isinstance(n, bool):
        raise TypeError("expected an int")
    if not 1 <= n <= 3999:
        raise ValueError("out of range 1..3999")
    out = []
    for v, sym in _PAIRS:
        while n >= v:
            out.append(sym)
            n -= v
    return "".join(out)


_TABLE = {to_roman(i): i for i in range(1, 4000)}


def from_roman(s):
    try:
        return _TABLE[s]
    except (KeyError, TypeError):
        raise ValueError(f"not a canonical Roman numeral: {s!r}") from None


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: roman.py NUMBER|NUMERAL", file=sys.stderr)
        sys.exit(2)
    arg = sys.argv[1]
    try:
        print(to_roman(int(arg)) if arg.isdigit() else from_roman(arg))
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
PY
