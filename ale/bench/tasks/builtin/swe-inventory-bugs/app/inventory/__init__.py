from .models import Item
from .pricing import apply_discount, bulk_price
from .report import csv_report
from .store import Inventory

__all__ = ["Item", "Inventory", "apply_discount", "bulk_price", "csv_report"]
