import pytest

from inventory import Inventory, Item, apply_discount, bulk_price, csv_report


def make():
    inv = Inventory()
    inv.add(Item("B-2", "Bolt", 10, 25))
    inv.add(Item("A-1", "Anchor", 3, 1999))
    inv.add(Item("C-3", "Cable, 2m", 1, 450))
    return inv


def test_fresh_inventories_are_independent():
    make()
    assert len(Inventory()) == 0


def test_remove_to_zero_drops_item():
    inv = make()
    inv.remove("C-3", 1)
    assert inv.get("C-3") is None


def test_remove_too_many():
    inv = make()
    with pytest.raises(ValueError):
        inv.remove("A-1", 4)
    assert inv.get("A-1").qty == 3


def test_discount_rounds_half_up():
    assert apply_discount(125, 10) == 113


def test_pages():
    inv = make()
    assert [it.sku for it in inv.page(1, 2)] == ["A-1", "B-2"]


def test_report_quotes_commas():
    assert '"Cable, 2m"' in csv_report(make())
