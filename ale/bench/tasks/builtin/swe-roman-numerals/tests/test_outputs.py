import subprocess
import sys

import pytest

sys.path.insert(0, "/app")
from roman import from_roman, to_roman  # noqa: E402


def test_known_values():
    cases = {1: "I", 4: "IV", 9: "IX", 14: "XIV", 40: "XL", 90: "XC", 400: "CD", 944: "CMXLIV",
             1994: "MCMXCIV", 2024: "MMXXIV", 3999: "MMMCMXCIX", 3888: "MMMDCCCLXXXVIII"}
    for n, s in cases.items():
        assert to_roman(n) == s
        assert from_roman(s) == n


def test_roundtrip_all():
    seen = set()
    for n in range(1, 4000):
        s = to_roman(n)
        assert from_roman(s) == n
        seen.add(s)
    assert len(seen) == 3999


@pytest.mark.parametrize("bad", ["IIII", "IC", "VX", "MMMM", "iv", "", " X", "XIIV", "IL", "VV",
                                 "DD", "IXI", "XM", "CMC", "ABC", "IIV"])
def test_from_roman_rejects(bad):
    with pytest.raises(ValueError):
        from_roman(bad)


@pytest.mark.parametrize("bad", [0, -1, 4000])
def test_to_roman_range(bad):
    with pytest.raises(ValueError):
        to_roman(bad)


@pytest.mark.parametrize("bad", [1.0, "5", True, None])
def test_to_roman_type(bad):
    with pytest.raises(TypeError):
        to_roman(bad)


def run(arg):
    return subprocess.run([sys.executable, "/app/roman.py", arg], capture_output=True, text=True,
                          timeout=30)


def test_cli():
    r = run("1994")
    assert r.returncode == 0 and r.stdout.strip() == "MCMXCIV"
    r = run("MMXXIV")
    assert r.returncode == 0 and r.stdout.strip() == "2024"
    r = run("IIII")
    assert r.returncode == 2 and r.stderr.strip() and not r.stdout.strip()
    r = run("5000")
    assert r.returncode == 2
