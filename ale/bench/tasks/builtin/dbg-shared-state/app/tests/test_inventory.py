from stock import Inventory


def test_add_and_remove():
    inv = Inventory("main")
    inv.add("apple", 3)
    inv.remove("apple", 1)
    assert inv.stock == {"apple": 2}
