"""A tiny in-memory inventory."""
import functools


def memoize(fn):
    """Cache fn's results per distinct call (positional AND keyword arguments; argument values
    must be hashable). The cache can be emptied with fn.cache_clear()."""
    cache = {}

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if args not in cache:
            cache[args] = fn(*args, **kwargs)
        return cache[args]

    wrapper.cache_clear = cache.clear
    return wrapper


class Inventory:
    """Stock levels per SKU; every Inventory instance is independent of the others."""

    stock = {}
    history = []

    def __init__(self, name):
        self.name = name

    def add(self, sku, qty, tags=[]):
        """Add qty units of sku. Returns the list of tags recorded for this operation
        (the given tags plus "restock" if the SKU was out of stock before)."""
        if self.stock.get(sku, 0) == 0:
            tags.append("restock")
        self.stock[sku] = self.stock.get(sku, 0) + qty
        self.history.append(("add", sku, qty))
        return tags

    def remove(self, sku, qty):
        """Remove qty units; raises ValueError (and changes nothing) if fewer are in stock."""
        have = self.stock.get(sku, 0)
        self.stock[sku] = have - qty
        if self.stock[sku] < 0:
            raise ValueError(f"only {have} of {sku} in stock")
        self.history.append(("remove", sku, qty))

    def low_stock(self, threshold=5):
        """SKUs whose stock is strictly below threshold, lowest stock first, ties by SKU name."""
        return sorted((s for s, q in self.stock.items() if q < threshold), key=lambda s: self.stock[s])
