#!/bin/bash
cat > /app/lru.py <<'PY'
"""LRU cache with optional TTL on an OrderedDict (front = least recently used)."""
import time
from collections import OrderedDict


class LRUCache:
    def __init__(self, capacity, ttl=None, clock=time.monotonic):
        if not isinstance(capacity, int) or capacity < 1:
            raise ValueError("capacity must be an int >= 1")
        self.capacity, self.ttl, self.clock = capacity, ttl, clock
        self._d = OrderedDict()  # key -> (value, written_at)
        self._stats = {"hits": 0, "misses": 0, "evictions": 0, "expirations": 0}

    def _expired(self, written):
        return self.ttl is not None and self.clock() - written >= self.ttl

    def _live(self, key):
        item = self._d.get(key)
        if item is None:
            return None
        if self._expired(item[1]):
            del self._d[key]
            self._stats["expirations"] += 1
            return None
        return item

    def _purge(self):
        if self.ttl is None:
            return
        for k in [k for k, (_, w) in self._d.items() if self._expired(w)]:
            del self._d[k]
            self._stats["expirations"] += 1

    def get(self, key, default=None):
        item = self._live(key)
        if item is None:
            self._stats["misses"] += 1
            return default
        self._d.move_to_end(key)
        self._stats["hits"] += 1
        return item[0]

    def put(self, key, value):
        self._d[key] = (value, self.clock())
        self._d.move_to_end(key)
        if len(self._d) > self.capacity:
            k, (_, w) = self._d.popitem(last=False)
            self._stats["expirations" if self._expired(w) else "evictions"] += 1

    def delete(self, key):
        if self._live(key) is None:
            return False
        del self._d[key]
        return True

    def __contains__(self, key):
        return self._live(key) is not None

    def __len__(self):
        self._purge()
        return len(self._d)

    def keys(self):
        self._purge()
        return list(self._d)

    def stats(self):
        return dict(self._stats)
PY
