import subprocess
import sys

import pytest

sys.path.insert(0, "/app")
from pager import page_count, page_window, paginate  # noqa: E402


def test_repo_suite_passes():
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "/app/tests"],
                       cwd="/app", capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout[-2000:]


@pytest.mark.parametrize("n,per,exp", [(0, 3, 1), (1, 3, 1), (3, 3, 1), (4, 3, 2), (9, 3, 3), (10, 3, 4), (100, 1, 100)])
def test_page_count(n, per, exp):
    assert page_count(n, per) == exp


def test_page_count_rejects_bad_size():
    with pytest.raises(ValueError):
        page_count(5, 0)


def test_paginate_covers_every_item_once():
    for n in range(0, 30):
        items = list(range(n))
        for per in range(1, 8):
            pages = page_count(n, per)
            got = [x for p in range(1, pages + 1) for x in paginate(items, p, per)]
            assert got == items
            with pytest.raises(IndexError):
                paginate(items, pages + 1, per)
            with pytest.raises(IndexError):
                paginate(items, 0, per)


def test_page_window():
    for pages in range(1, 15):
        for page in range(1, pages + 1):
            for width in (1, 3, 4, 5, 7):
                w = page_window(page, pages, width)
                assert w == list(range(w[0], w[-1] + 1))
                assert len(w) == min(width, pages)
                assert page in w and w[0] >= 1 and w[-1] <= pages
                half = width // 2
                if width % 2 and page - half >= 1 and page + half <= pages:
                    assert w == list(range(page - half, page + half + 1))
