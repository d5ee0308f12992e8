import math
import re
import sys

import pytest

sys.path.insert(0, "/app")
from calc import CalcNameError, CalcSyntaxError, evaluate  # noqa: E402


@pytest.mark.parametrize("expr,val", [
    ("1 + 2 * 3", 7), ("(1 + 2) * 3", 9), ("10 - 4 - 3", 3), ("100 / 10 / 5", 2),
    ("2 ^ 3 ^ 2", 512), ("-2 ^ 2", -4), ("2 ^ -1", 0.5), ("(-2) ^ 2", 4), ("--3", 3), ("-+-3", 3),
    ("7 % 3", 1), ("-7 % 3", 2), ("7.5 % 2", 1.5), ("2 * -3", -6), ("1 - -1", 2),
    (".5 + 4.", 4.5), ("1e3 + 2.5E-2", 1000.025), ("  3\t*\n4 ", 12), ("2^3*2", 16), ("-2^-2", -0.25),
    ("sqrt(16) + abs(-2)", 6), ("min(3, 1, 2) + max(4)", 5), ("max(1, 2 * 3, -7)", 6),
    ("round(2.5) + round(3.7)", 6), ("2 * pi", 2 * math.pi), ("e ^ 2", math.e ** 2),
    ("sqrt(sqrt(81))", 3),
])
def test_values(expr, val):
    got = evaluate(expr)
    assert isinstance(got, float)
    assert got == pytest.approx(val, rel=1e-12)


def test_variables_and_shadowing():
    assert evaluate("x * y + _z1", {"x": 2, "y": 3.5, "_z1": 1}) == 8.0
    assert evaluate("pi + 1", {"pi": 3}) == 4.0
    assert evaluate("sqrt(4)", {"sqrt": 100}) == 2.0


@pytest.mark.parametrize("expr", ["x + 1", "foo(1)", "sqrt(1, 2)", "min()", "abs()", "pi2"])
def test_name_errors(expr):
    with pytest.raises(CalcNameError):
        evaluate(expr)


@pytest.mark.parametrize("expr,pos", [
    ("", 0), ("2 ** 3", 3), ("(1 + 2", 6), ("1 + 2)", 5), ("1 2", 2), ("3 $ 4", 2), ("1 +", 3),
    ("max(1,)", 6), ("()", 1), ("2 ^ ^ 3", 4), ("(1)(2)", 3),
])
def test_syntax_errors(expr, pos):
    with pytest.raises(CalcSyntaxError) as ei:
        evaluate(expr)
    assert isinstance(ei.value, ValueError)
    assert ei.value.pos == pos


def test_no_python_semantics_leak():
    for expr in ["__import__('os')", "[1]", "1 if 1 else 2", "'a'", "1 and 2", "a.b"]:
        with pytest.raises((CalcSyntaxError, CalcNameError)):
            evaluate(expr)


def test_zero_division_and_domain():
    with pytest.raises(ZeroDivisionError):
        evaluate("1 / (2 - 2)")
    with pytest.raises(ZeroDivisionError):
        evaluate("5 % 0")
    with pytest.raises(ValueError):
        evaluate("sqrt(-1)")


def test_deep_nesting():
    assert evaluate("(" * 200 + "1" + ")" * 200) == 1.0
    assert evaluate("-" * 200 + "5") == 5.0


def test_no_eval_used():
    src = open("/app/calc.py").read()
    assert not re.search(r"(?<![\w.])(eval|exec|compile|__import__)\s*\(", src)
    assert not re.search(r"^\s*(import|from)\s+ast\b", src, re.M)
