import math
import sys

import pytest

sys.path.insert(0, "/app")
import quad  # noqa: E402


def test_trapezoid_known_value():
    # h = 1/4: 0.25 * (0.5*(0+1) + 1/16 + 4/16 + 9/16) = 0.34375
    assert quad.trapezoid(lambda x: x * x, 0.0, 1.0, 4) == pytest.approx(0.34375, abs=1e-14)


def test_trapezoid_exact_for_linear():
    assert quad.trapezoid(lambda x: 3 * x + 1, -2.0, 5.0, 7) == pytest.approx(38.5, abs=1e-12)


def test_simpson_exact_for_cubic():
    assert quad.simpson(lambda x: x ** 3 - 2 * x, 0.0, 2.0, 2) == pytest.approx(0.0, abs=1e-12)
    assert quad.simpson(lambda x: x ** 3, 1.0, 3.0, 4) == pytest.approx(20.0, abs=1e-12)


def test_simpson_convergence_order():
    exact = 1 - math.cos(1.0)
    e1 = abs(quad.simpson(math.sin, 0.0, 1.0, 4) - exact)
    e2 = abs(quad.simpson(math.sin, 0.0, 1.0, 8) - exact)
    assert 12 < e1 / e2 < 20  # fourth order: ratio ~16


@pytest.mark.parametrize("n", [0, 3, -2, 2.0])
def test_simpson_rejects_bad_n(n):
    with pytest.raises(ValueError):
        quad.simpson(math.sin, 0.0, 1.0, n)


def test_trapezoid_rejects_bad_n():
    with pytest.raises(ValueError):
        quad.trapezoid(math.sin, 0.0, 1.0, 0)


def test_integrate_to_tolerance():
    assert quad.integrate(math.sin, 0.0, math.pi, 1e-10) == pytest.approx(2.0, abs=1e-9)
    val = quad.integrate(lambda x: math.exp(-x * x), -3.0, 3.0, 1e-11)
    assert val == pytest.approx(math.sqrt(math.pi) * math.erf(3.0), abs=1e-9)
    assert isinstance(val, float)


def test_integrate_gives_up():
    # wildly oscillating integrand: successive estimates never agree to 1e-300
    with pytest.raises(RuntimeError):
        quad.integrate(lambda x: math.sin(1e6 * x), 0.0, 1.0, 1e-300)
