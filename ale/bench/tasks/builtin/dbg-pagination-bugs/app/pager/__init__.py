from .core import page_count, paginate, page_window

__all__ = ["page_count", "paginate", "page_window"]
