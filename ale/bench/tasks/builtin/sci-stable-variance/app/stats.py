"""Small descriptive-statistics helpers used by the lab's data pipeline."""
import math


def mean(xs):
    xs = list(xs)
    return sum(xs) / len(xs)


def variance(xs, ddof=0):
    """Variance of xs with `ddof` delta degrees of freedom (0: population, 1: sample)."""
    xs = list(xs)
    n = len(xs)
    s = sum(xs)
    s2 = sum(x * x for x in xs)
    return (s2 - s * s / n) / (n - ddof)


def std(xs, ddof=0):
    return math.sqrt(variance(xs, ddof))


class RunningStats:
    """Streaming mean/variance: push values one at a time."""

    def __init__(self):
        self.n = 0
        self.s = 0.0
        self.s2 = 0.0

    def push(self, x):
        self.n += 1
        self.s += x
        self.s2 += x * x

    @property
    def mean(self):
        return self.s / self.n

    def variance(self, ddof=0):
        return (self.s2 - self.s * self.s / self.n) / (self.n - ddof)
