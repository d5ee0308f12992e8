from .models import Item


class Inventory:
    """In-memory stock keyed by SKU."""

    def __init__(self, items=[]):
        self._items = {}
        self._log = items
        for it in items:
            self._items[it.sku] = it

    def add(self, item):
        """Add stock; an existing SKU gets its quantity increased (name/price are kept)."""
        self._log.append(item)
        if item.sku in self._items:
            self._items[item.sku].qty += item.qty
        else:
            self._items[item.sku] = Item(item.sku, item.name, item.qty, item.unit_price_cents)

    def remove(self, sku, qty):
        """Take qty units out. Unknown SKU -> KeyError; more than in stock -> ValueError (no
        change). An item whose quantity reaches 0 is dropped from the inventory."""
        it = self._items[sku]
        it.qty -= qty
        if it.qty < 0:
            del self._items[sku]

    def get(self, sku):
        return self._items.get(sku)

    def __len__(self):
        return len(self._items)

    def total_value_cents(self):
        return sum(it.qty * it.unit_price_cents for it in self._items.values())

    def low_stock(self, threshold):
        """SKUs with qty <= threshold, sorted."""
        return sorted(sku for sku, it in self._items.items() if it.qty < threshold)

    def page(self, number, size):
        """1-based page `number` of the items sorted by SKU, `size` items per page."""
        items = sorted(self._items.values(), key=lambda it: it.sku)
        return items[number * size:(number + 1) * size]
