#!/bin/bash
cat > /app/semver_sort.py <<'PY'
import argparse
import functools
import re
import sys

NUM = r"(0|[1-9]\d*)"
PRE_ID = r"(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)"
RX = re.compile(rf"^{NUM}\.{NUM}\.{NUM}(?:-({PRE_ID}(?:\.{PRE_ID})*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$")


def parse(v):
    m = RX.match(v)
    if not m:
        return None
    pre = m.group(4).split(".") if m.group(4) else []
    return int(m.group(1)), int(m.group(2)), int(m.group(3)), pre


def cmp_pre(a, b):
    if not a or not b:
        return (len(a) == 0) - (len(b) == 0) if (a or b) else 0
    for x, y in zip(a, b):
        if x == y:
            continue
        xd, yd = x.isdigit(), y.isdigit()
        if xd and yd:
            return -1 if int(x) < int(y) else 1
        if xd != yd:
            return -1 if xd else 1
        return -1 if x < y else 1
    return (len(a) > len(b)) - (len(a) < len(b))


def cmp(p, q):
    if p[:3] != q[:3]:
        return -1 if p[:3] < q[:3] else 1
    return cmp_pre(p[3], q[3])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reverse", action="store_true")
    ap.add_argument("--unique", action="store_true")
    args = ap.parse_args()
    items, bad = [], False
    for line in sys.stdin:
        v = line.strip()
        if not v:
            continue
        p = parse(v)
        if p is None:
            print(f"invalid: {v}", file=sys.stderr)
            bad = True
        else:
            items.append((p, v))
    key = functools.cmp_to_key(lambda a, b: cmp(a[0], b[0]))
    items.sort(key=key)
    groups = []
    for it in items:
        if groups and cmp(groups[-1][0][0], it[0]) == 0:
            groups[-1].append(it)
        else:
            groups.append([it])
    if args.reverse:
        groups.reverse()
    for g in groups:
        for p, v in (g[:1] if args.unique else g):
            print(v)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
PY
