import csv
import json
import re
from collections import defaultdict
from pathlib import Path

OUT = Path("/app/summary.csv")


def expected():
    agg = defaultdict(lambda: [0, 0, 0])
    for line in Path("/app/orders.jsonl").read_text().splitlines():
        o = json.loads(line)
        if o["status"] in ("paid", "shipped"):
            a = agg[o["customer"]]
            a[0] += 1
            for it in o["items"]:
                a[1] += it["qty"]
                a[2] += it["qty"] * round(it["unit_price"] * 100)  # exact cents
    return agg


def rows():
    assert OUT.exists(), "/app/summary.csv missing"
    with OUT.open(newline="") as f:
        r = list(csv.reader(f))
    assert r[0] == ["customer", "orders", "items", "revenue"]
    return r[1:]


def test_customers():
    assert sorted(r[0] for r in rows()) == sorted(expected())


def test_counts():
    exp = expected()
    for c, n, q, _ in rows():
        assert int(n) == exp[c][0], c
        assert int(q) == exp[c][1], c


def test_revenue_two_decimals():
    exp = expected()
    for c, _, _, rev in rows():
        assert re.fullmatch(r"\d+\.\d\d", rev), rev
        assert round(float(rev) * 100) == exp[c][2], c


def test_order():
    r = rows()
    keys = [(-round(float(x[3]) * 100), x[0]) for x in r]
    assert keys == sorted(keys)
    assert len(r) == 8
