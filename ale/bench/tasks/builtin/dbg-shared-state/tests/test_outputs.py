import subprocess
import sys

import pytest

sys.path.insert(0, "/app")
from stock import Inventory, memoize  # noqa: E402


def test_instances_independent():
    a, b = Inventory("a"), Inventory("b")
    a.add("bolt", 5)
    assert b.stock == {} and b.history == []
    b.add("nut", 1)
    assert a.stock == {"bolt": 5}
    assert a.history == [("add", "bolt", 5)]


def test_tags_do_not_leak():
    inv = Inventory("x")
    assert inv.add("a", 1) == ["restock"]
    assert inv.add("a", 1) == []
    assert inv.add("b", 1) == ["restock"]
    mine = ["fragile"]
    assert inv.add("c", 2, mine) == ["fragile", "restock"]
    assert mine == ["fragile"], "caller's list must not be modified"
    assert inv.add("c", 2, ["x"]) == ["x"]


def test_failed_remove_changes_nothing():
    inv = Inventory("x")
    inv.add("a", 2)
    with pytest.raises(ValueError):
        inv.remove("a", 3)
    with pytest.raises(ValueError):
        inv.remove("zzz", 1)
    assert inv.stock.get("a") == 2 and inv.stock.get("zzz", 0) == 0
    assert inv.history == [("add", "a", 2)]
    inv.remove("a", 2)
    assert inv.stock["a"] == 0


def test_low_stock_order():
    inv = Inventory("x")
    for sku, q in [("d", 1), ("b", 3), ("a", 3), ("c", 1), ("e", 9)]:
        inv.add(sku, q)
    assert inv.low_stock() == ["c", "d", "a", "b"]
    assert inv.low_stock(threshold=2) == ["c", "d"]


def test_memoize_keyword_arguments():
    calls = []

    @memoize
    def power(x, exp=2):
        calls.append((x, exp))
        return x ** exp

    assert power(3) == 9
    assert power(3, exp=3) == 27
    assert power(3, exp=2) == 9
    assert power(2, exp=3) == 8 and power(2, exp=3) == 8
    assert calls.count((2, 3)) == 1
    assert power.__name__ == "power"
    power.cache_clear()
    power(2, exp=3)
    assert calls.count((2, 3)) == 2


def test_repo_tests_pass():
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], cwd="/app",
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout[-1500:]
