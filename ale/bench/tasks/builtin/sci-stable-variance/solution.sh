#!/bin/bash
cat > /app/stats.py <<'PY'
"""Small descriptive-statistics helpers used by the lab's data pipeline."""
import math


def mean(xs):
    xs = list(xs)
    if not xs:
        raise ValueError("empty data")
    return math.fsum(xs) / len(xs)


def variance(xs, ddof=0):
    """Two-pass variance: subtract the mean first so a large offset cannot cancel."""
    xs = list(xs)
    n = len(xs)
    if n == 0 or ddof >= n:
        raise ValueError("need more values than ddof")
    m = mean(xs)
    return math.fsum((x - m) ** 2 for x in xs) / (n - ddof)


def std(xs, ddof=0):
    return math.sqrt(variance(xs, ddof))


class RunningStats:
    """Streaming mean/variance (Welford's algorithm)."""

    def __init__(self):
        self.n = 0
        self._mean = 0.0
        self._m2 = 0.0

    def push(self, x):
        self.n += 1
        d = x - self._mean
        self._mean += d / self.n
        self._m2 += d * (x - self._mean)

    @property
    def mean(self):
        if self.n == 0:
            raise ValueError("no values")
        return self._mean

    def variance(self, ddof=0):
        if self.n == 0 or ddof >= self.n:
            raise ValueError("need more values than ddof")
        return self._m2 / (self.n - ddof)
PY
