from .inventory import Inventory, memoize

__all__ = ["Inventory", "memoize"]
