import csv
import io
import subprocess
import sys

import pytest

sys.path.insert(0, "/app")
from inventory import Inventory, Item, apply_discount, bulk_price, csv_report  # noqa: E402


def make():
    inv = Inventory()
    inv.add(Item("B-2", "Bolt", 10, 25))
    inv.add(Item("A-1", "Anchor", 3, 1999))
    inv.add(Item("C-3", 'Cable, 2m "pro"', 1, 450))
    inv.add(Item("D-4", "Drill", 5, 8900))
    inv.add(Item("E-5", "Eye", 7, 10))
    return inv


def test_visible_suite_passes():
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
                       cwd="/app", capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout[-2000:]
    assert "6 passed" in r.stdout


def test_independent_instances():
    a = Inventory()
    a.add(Item("X", "x", 1, 1))
    b = Inventory()
    assert len(b) == 0 and b.get("X") is None


def test_constructor_items():
    inv = Inventory([Item("A", "a", 1, 5), Item("A", "a", 2, 5)])
    assert inv.get("A").qty == 3


def test_remove_rules():
    inv = make()
    inv.remove("B-2", 4)
    assert inv.get("B-2").qty == 6
    with pytest.raises(ValueError):
        inv.remove("B-2", 7)
    assert inv.get("B-2").qty == 6
    inv.remove("B-2", 6)
    assert inv.get("B-2") is None and len(inv) == 4
    with pytest.raises(KeyError):
        inv.remove("ZZZ", 1)


def test_total_value():
    assert make().total_value_cents() == 10 * 25 + 3 * 1999 + 450 + 5 * 8900 + 70


def test_low_stock_inclusive():
    assert make().low_stock(5) == ["A-1", "C-3", "D-4"]


def test_pages():
    inv = make()
    assert [it.sku for it in inv.page(1, 2)] == ["A-1", "B-2"]
    assert [it.sku for it in inv.page(3, 2)] == ["E-5"]
    assert inv.page(4, 2) == []


@pytest.mark.parametrize("price,pct,expected", [
    (125, 10, 113), (1000, 15, 850), (999, 50, 500), (1, 50, 1), (3, 50, 2), (0, 30, 0),
    (1999, 0, 1999), (1999, 100, 0), (105, 10, 95), (115, 10, 104), (2005, 10, 1805),
])
def test_discount_half_up(price, pct, expected):
    assert apply_discount(price, pct) == expected


def test_discount_range():
    with pytest.raises(ValueError):
        apply_discount(100, 101)


def test_bulk_tiers_boundaries():
    assert bulk_price(100, 9) == 900
    assert bulk_price(100, 10) == 950
    assert bulk_price(100, 50) == 4500
    assert bulk_price(100, 100) == 8500
    assert bulk_price(33, 10) == 314  # 330 * 0.95 = 313.5 -> 314


def test_csv_report_roundtrip():
    text = csv_report(make())
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["sku", "name", "qty", "value_cents"]
    assert rows[3] == ["C-3", 'Cable, 2m "pro"', "1", "450"]
    assert [r[0] for r in rows[1:]] == ["A-1", "B-2", "C-3", "D-4", "E-5"]
    assert text.endswith("\n") and "\r" not in text


def test_visible_tests_untouched():
    src = open("/app/tests/test_inventory.py").read()
    for needle in ["apply_discount(125, 10) == 113", '"Cable, 2m"', 'inv.page(1, 2)',
                   "inv.remove(\"A-1\", 4)", "len(Inventory()) == 0"]:
        assert needle in src
