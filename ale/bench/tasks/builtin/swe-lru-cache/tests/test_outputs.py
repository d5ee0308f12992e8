import sys
import time

import pytest

sys.path.insert(0, "/app")
from lru import LRUCache  # noqa: E402


class FakeClock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


def test_capacity_validation():
    for bad in (0, -1, 1.5):
        with pytest.raises(ValueError):
            LRUCache(bad)


def test_lru_order_and_eviction():
    c = LRUCache(3)
    for k in "abc":
        c.put(k, k.upper())
    assert c.get("a") == "A"          # a becomes most recent
    c.put("d", "D")                   # evicts b
    assert "b" not in c
    assert c.keys() == ["c", "a", "d"]
    c.put("c", "C2")                  # overwrite refreshes recency
    c.put("e", "E")                   # evicts a
    assert c.keys() == ["d", "c", "e"]
    assert c.get("c") == "C2"
    assert c.stats()["evictions"] == 2


def test_contains_does_not_touch_recency():
    c = LRUCache(2)
    c.put(1, "x")
    c.put(2, "y")
    assert 1 in c
    c.put(3, "z")
    assert 1 not in c and 2 in c and 3 in c


def test_get_default_and_stats():
    c = LRUCache(2)
    assert c.get("nope") is None
    assert c.get("nope", 42) == 42
    c.put("k", 0)
    assert c.get("k", 42) == 0        # falsy values are real hits
    assert c.stats() == {"hits": 1, "misses": 2, "evictions": 0, "expirations": 0}


def test_delete():
    c = LRUCache(2)
    c.put("a", 1)
    assert c.delete("a") is True
    assert c.delete("a") is False
    assert len(c) == 0


def test_ttl_expiry():
    clk = FakeClock()
    c = LRUCache(10, ttl=5, clock=clk)
    c.put("a", 1)
    clk.t += 3
    c.put("b", 2)
    assert c.get("a") == 1            # reading does not refresh ttl
    clk.t += 2.5                      # a written 5.5 s ago, b 2.5 s ago
    assert c.get("a") is None
    assert c.get("b") == 2
    assert len(c) == 1 and c.keys() == ["b"]
    c.put("b", 3)                     # overwrite refreshes ttl
    clk.t += 4
    assert "b" in c
    clk.t += 1.5
    assert "b" not in c and len(c) == 0
    s = c.stats()
    assert s["expirations"] == 2 and s["hits"] == 2 and s["misses"] == 1


def test_expired_not_counted_or_deletable():
    clk = FakeClock()
    c = LRUCache(3, ttl=1, clock=clk)
    c.put("x", 1)
    c.put("y", 2)
    clk.t += 2
    c.put("z", 3)
    assert len(c) == 1
    assert c.delete("x") is False
    assert c.stats()["expirations"] == 2


def test_performance():
    c = LRUCache(100000)
    t = time.perf_counter()
    for i in range(300000):
        c.put(i, i)
        if i % 3 == 0:
            c.get(i // 2)
    assert time.perf_counter() - t < 20
    assert len(c) == 100000
    assert c.keys()[-1] == 299999 and c.get(250000) == 250000 and c.get(0) is None
