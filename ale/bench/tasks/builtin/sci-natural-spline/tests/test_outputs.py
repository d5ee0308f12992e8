import sys
import time

import numpy as np
import pytest

sys.path.insert(0, "/app")
from spline import NaturalCubicSpline  # noqa: E402


def ref_moments(x, y):
    """Dense reference: second derivatives at the knots of the natural cubic spline."""
    n = len(x)
    h = np.diff(x)
    A = np.zeros((n, n))
    r = np.zeros(n)
    A[0, 0] = A[-1, -1] = 1.0
    for i in range(1, n - 1):
        A[i, i - 1], A[i, i], A[i, i + 1] = h[i - 1], 2 * (h[i - 1] + h[i]), h[i]
        r[i] = 6 * ((y[i + 1] - y[i]) / h[i] - (y[i] - y[i - 1]) / h[i - 1])
    return np.linalg.solve(A, r)


def ref_eval(x, y, M, t):
    i = min(max(np.searchsorted(x, t, side="right") - 1, 0), len(x) - 2)
    h = x[i + 1] - x[i]
    A, B = (x[i + 1] - t) / h, (t - x[i]) / h
    return A * y[i] + B * y[i + 1] + ((A ** 3 - A) * M[i] + (B ** 3 - B) * M[i + 1]) * h * h / 6


def data(seed=0, n=25):
    rng = np.random.default_rng(seed)
    x = np.cumsum(rng.uniform(0.1, 1.0, n))
    return x, np.sin(x) + rng.normal(scale=0.3, size=n)


def test_matches_reference_values():
    x, y = data()
    s = NaturalCubicSpline(x, y)
    M = ref_moments(x, y)
    tq = np.linspace(x[0], x[-1], 777)
    got = s(tq)
    assert isinstance(got, np.ndarray) and got.shape == tq.shape
    assert np.allclose(got, [ref_eval(x, y, M, t) for t in tq], atol=1e-10)
    assert isinstance(s(float(x[3]) + 0.1), float)


def test_interpolates_and_natural_ends():
    x, y = data(1)
    s = NaturalCubicSpline(x, y)
    assert np.allclose(s(x), y, atol=1e-12)
    assert s.derivative(x[0], 2) == pytest.approx(0.0, abs=1e-10)
    assert s.derivative(x[-1], 2) == pytest.approx(0.0, abs=1e-10)


def test_derivatives_consistent():
    x, y = data(2)
    s = NaturalCubicSpline(x, y)
    t = np.linspace(x[0] + 1e-3, x[-1] - 1e-3, 200)
    eps = 1e-6
    fd1 = (s(t + eps) - s(t - eps)) / (2 * eps)
    assert np.allclose(s.derivative(t), fd1, atol=1e-5)
    fd2 = (s.derivative(t + eps) - s.derivative(t - eps)) / (2 * eps)
    assert np.allclose(s.derivative(t, order=2), fd2, atol=1e-4)
    # C2 continuity at interior knots
    k = x[5]
    assert s.derivative(k - 1e-9, 2) == pytest.approx(s.derivative(k + 1e-9, 2), abs=1e-6)


def test_integral():
    x, y = data(3)
    s = NaturalCubicSpline(x, y)
    a, b = x[0] + 0.37, x[-1] - 1.1
    t = np.linspace(a, b, 200001)
    v = s(t)
    simpson = (b - a) / 200000 / 3 * (v[0] + v[-1] + 4 * v[1:-1:2].sum() + 2 * v[2:-1:2].sum())
    assert s.integrate(a, b) == pytest.approx(simpson, abs=1e-8)
    assert s.integrate(b, a) == pytest.approx(-simpson, abs=1e-8)
    assert s.integrate(x[0], x[-1]) == pytest.approx(
        s.integrate(x[0], x[7]) + s.integrate(x[7], x[-1]), abs=1e-10)


def test_two_knots_is_line():
    s = NaturalCubicSpline([0.0, 2.0], [1.0, 5.0])
    assert s(0.5) == pytest.approx(2.0)
    assert s.derivative(1.7) == pytest.approx(2.0)
    assert s.integrate(0.0, 2.0) == pytest.approx(6.0)


def test_reproduces_linear_function():
    x = np.array([0.0, 0.3, 1.0, 1.1, 4.0, 5.5])
    s = NaturalCubicSpline(x, 3 * x - 2)
    t = np.linspace(0, 5.5, 50)
    assert np.allclose(s(t), 3 * t - 2, atol=1e-12)


@pytest.mark.parametrize("args", [([0, 1, 1, 2], [0, 1, 2, 3]), ([0, 1], [1]), ([0], [0]),
                                  ([0, 2, 1], [1, 2, 3])])
def test_bad_input(args):
    with pytest.raises(ValueError):
        NaturalCubicSpline(*args)


def test_out_of_range():
    s = NaturalCubicSpline([0, 1, 2], [0, 1, 0])
    with pytest.raises(ValueError):
        s(2.5)
    with pytest.raises(ValueError):
        s(np.array([0.5, -0.1]))


def test_large_fast():
    rng = np.random.default_rng(5)
    x = np.cumsum(rng.uniform(0.01, 1, 100000))
    y = np.cos(x / 10)
    t0 = time.perf_counter()
    s = NaturalCubicSpline(x, y)
    v = s(rng.uniform(x[0], x[-1], 100000))
    assert time.perf_counter() - t0 < 10
    assert np.all(np.abs(v) < 1.01)
