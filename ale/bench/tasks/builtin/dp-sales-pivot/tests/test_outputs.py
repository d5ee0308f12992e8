import csv
from pathlib import Path


def expected():
    t = {}
    for r in csv.DictReader(open("/app/sales.csv", newline="")):
        if r["date"][:4] == "2024":
            row = t.setdefault(r["region"].strip().lower(), [0] * 12)
            row[int(r["date"][5:7]) - 1] += int(r["units"])
    return t


def table():
    p = Path("/app/pivot.csv")
    assert p.exists()
    return list(csv.reader(p.open(newline="")))


def test_header():
    assert table()[0] == ["region"] + [f"2024-{m:02d}" for m in range(1, 13)] + ["total"]


def test_regions_sorted():
    assert [r[0] for r in table()[1:]] == ["central", "east", "north", "south", "west", "TOTAL"]


def test_cells():
    exp = expected()
    for r in table()[1:-1]:
        vals = [int(x) for x in r[1:]]
        assert vals[:12] == exp[r[0]], r[0]
        assert vals[12] == sum(exp[r[0]])


def test_empty_month_zero():
    for r in table()[1:]:
        assert r[8] == "0"


def test_total_row():
    exp = expected()
    last = table()[-1]
    assert last[0] == "TOTAL"
    cols = [sum(v[i] for v in exp.values()) for i in range(12)]
    assert [int(x) for x in last[1:]] == cols + [sum(cols)]
