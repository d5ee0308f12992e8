import random
import sys
import tracemalloc
from fractions import Fraction

import pytest

sys.path.insert(0, "/app")
import stats  # noqa: E402


def exact_var(xs, ddof):
    fx = [Fraction(x) for x in xs]
    m = sum(fx) / len(fx)
    return float(sum((x - m) ** 2 for x in fx) / (len(fx) - ddof))


OFFSET = [1e9 + 4, 1e9 + 7, 1e9 + 13, 1e9 + 16]


def big_data():
    rng = random.Random(7)
    return [1.5e9 + rng.gauss(0, 3) for _ in range(5000)]


def test_documented_example():
    assert stats.variance(OFFSET) == pytest.approx(22.5, rel=1e-12)
    assert stats.variance(OFFSET, ddof=1) == pytest.approx(30.0, rel=1e-12)
    assert stats.std(OFFSET, ddof=1) == pytest.approx(30.0 ** 0.5, rel=1e-12)


def test_large_offset_random():
    xs = big_data()
    for ddof in (0, 1):
        assert stats.variance(xs, ddof) == pytest.approx(exact_var(xs, ddof), rel=1e-9)
    assert stats.mean(xs) == pytest.approx(float(sum(Fraction(x) for x in xs) / len(xs)), rel=1e-15)


def test_running_stats_stable():
    xs = big_data()
    rs = stats.RunningStats()
    for x in xs:
        rs.push(x)
    assert rs.n == len(xs)
    # streaming updates round the running mean at every step; 1e-6 is far tighter than the naive
    # formula (which is off by orders of magnitude here) and loose enough for Welford's method
    assert rs.variance() == pytest.approx(exact_var(xs, 0), rel=1e-6)
    assert rs.variance(1) == pytest.approx(exact_var(xs, 1), rel=1e-6)
    assert rs.mean == pytest.approx(stats.mean(xs), rel=1e-14)


def test_running_stats_is_streaming():
    tracemalloc.start()
    try:
        rs = stats.RunningStats()
        for x in range(200000):
            rs.push(float(x))
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # storing 200k floats would hold several MB
    assert held < 300_000, f"RunningStats holds {held} bytes: it must not keep all values"
    assert rs.variance() == pytest.approx(exact_var(list(range(200000)), 0), rel=1e-9)


def test_plain_values_still_right():
    xs = [2, 4, 4, 4, 5, 5, 7, 9]
    assert stats.mean(xs) == 5
    assert stats.variance(xs) == pytest.approx(4.0)
    assert stats.std(xs) == pytest.approx(2.0)


@pytest.mark.parametrize("call", [
    lambda: stats.mean([]),
    lambda: stats.variance([]),
    lambda: stats.std([]),
    lambda: stats.variance([1.0], ddof=1),
    lambda: stats.variance([1.0, 2.0], ddof=2),
    lambda: stats.RunningStats().variance(),
    lambda: stats.RunningStats().mean,
])
def test_invalid_input_raises_value_error(call):
    with pytest.raises(ValueError):
        call()
