import pytest

from pager import page_count, page_window, paginate


def test_page_count():
    assert page_count(0, 10) == 1
    assert page_count(10, 10) == 1
    assert page_count(11, 10) == 2


def test_paginate():
    items = list(range(25))
    assert paginate(items, 1, 10) == list(range(10))
    assert paginate(items, 3, 10) == [20, 21, 22, 23, 24]
    with pytest.raises(IndexError):
        paginate(items, 4, 10)


def test_window():
    assert page_window(1, 10) == [1, 2, 3, 4, 5]
    assert page_window(6, 10) == [4, 5, 6, 7, 8]
    assert page_window(10, 10) == [6, 7, 8, 9, 10]
    assert page_window(2, 3) == [1, 2, 3]
