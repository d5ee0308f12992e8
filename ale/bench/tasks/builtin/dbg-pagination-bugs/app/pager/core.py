"""Pagination helpers. Pages are numbered from 1."""


def page_count(n_items: int, per_page: int) -> int:
    """Number of pages needed for n_items (at least 1, even when there are no items)."""
    if per_page <= 0:
        raise ValueError("per_page must be positive")
    return max(1, n_items // per_page)


def paginate(items: list, page: int, per_page: int) -> list:
    """Items on the given page; pages outside 1..page_count raise IndexError."""
    pages = page_count(len(items), per_page)
    if page < 1 or page > pages + 1:
        raise IndexError(f"page {page} out of range 1..{pages}")
    start = page * per_page
    return items[start:start + per_page]


def page_window(page: int, pages: int, width: int = 5) -> list:
    """Page numbers to show in a pager bar: `width` consecutive pages centred on `page`
    where possible, clipped to 1..pages (fewer when pages < width)."""
    half = width // 2
    first = max(1, page - half)
    last = min(pages, first + width)
    first = max(1, last - width)
    return list(range(first, last))
