import math
import sys

import numpy as np
import pytest

sys.path.insert(0, "/app")
import numerics as nm  # noqa: E402


@pytest.fixture(autouse=True)
def strict_fp():
    # underflow of exp() to 0 is harmless and expected; everything else must not happen
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        yield


def test_logsumexp_large():
    assert float(nm.logsumexp(np.array([1000.0, 1000.0]))) == pytest.approx(1000 + math.log(2), rel=1e-14)
    assert float(nm.logsumexp(np.array([-1000.0, -1001.0]))) == pytest.approx(
        -1000 + math.log1p(math.exp(-1)), rel=1e-14)


def test_logsumexp_axis_and_shape():
    x = np.array([[1000.0, 0.0, -5.0], [3.0, 2.0, 1.0]])
    r = nm.logsumexp(x, axis=1)
    assert r.shape == (2,)
    assert r[0] == pytest.approx(1000.0, rel=1e-15)
    assert r[1] == pytest.approx(math.log(math.exp(3) + math.exp(2) + math.exp(1)), rel=1e-13)
    r0 = nm.logsumexp(x, axis=0)
    assert r0.shape == (3,)
    assert r0[2] == pytest.approx(math.log(math.exp(-5) + math.exp(1)), rel=1e-13)
    assert float(nm.logsumexp(np.array([[1.0, 2.0], [3.0, 4.0]]))) == pytest.approx(
        math.log(sum(math.exp(v) for v in (1, 2, 3, 4))), rel=1e-13)


def test_softmax():
    s = nm.softmax(np.array([[1000.0, 0.0], [-1000.0, -1000.0]]))
    assert np.all(np.isfinite(s))
    assert s[0, 0] == pytest.approx(1.0) and s[0, 1] == pytest.approx(0.0, abs=1e-300)
    assert np.allclose(s[1], [0.5, 0.5])
    s2 = nm.softmax(np.array([[1.0, 2.0], [3.0, 5.0]]), axis=0)
    assert np.allclose(s2.sum(axis=0), 1.0)
    assert s2[0, 1] == pytest.approx(1 / (1 + math.exp(3)), rel=1e-12)


def test_log_softmax_tail():
    ls = nm.log_softmax(np.array([0.0, -1000.0, 1000.0]))
    assert ls[0] == pytest.approx(-1000.0, rel=1e-14)
    assert ls[1] == pytest.approx(-2000.0, rel=1e-14)
    assert ls[2] == pytest.approx(0.0, abs=1e-12)


def test_sigmoid():
    x = np.array([-1000.0, -700.0, -50.0, 0.0, 50.0, 1000.0])
    s = nm.sigmoid(x)
    assert s[0] == 0.0 or s[0] < 1e-300
    assert s[1] == pytest.approx(math.exp(-700), rel=1e-12)
    assert s[2] == pytest.approx(math.exp(-50) / (1 + math.exp(-50)), rel=1e-12)
    assert s[3] == 0.5
    assert s[4] == pytest.approx(1.0, rel=1e-15) and s[5] == 1.0


def test_softplus():
    x = np.array([-1000.0, -40.0, 0.0, 30.0, 1000.0])
    sp = nm.softplus(x)
    assert sp[1] == pytest.approx(math.log1p(math.exp(-40)), rel=1e-12)
    assert sp[2] == pytest.approx(math.log(2), rel=1e-15)
    assert sp[3] == pytest.approx(30 + math.log1p(math.exp(-30)), rel=1e-15)
    assert sp[4] == pytest.approx(1000.0, rel=1e-15)
    assert 0 <= sp[0] < 1e-300


def test_ordinary_values_match_definitions():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(4, 5))
    assert np.allclose(nm.softmax(x), np.exp(x) / np.exp(x).sum(axis=-1, keepdims=True), rtol=1e-12)
    assert np.allclose(nm.log_softmax(x, axis=0), np.log(np.exp(x) / np.exp(x).sum(axis=0)), rtol=1e-12)
    assert np.allclose(nm.sigmoid(x), 1 / (1 + np.exp(-x)), rtol=1e-12)
    assert np.allclose(nm.softplus(x), np.log1p(np.exp(x)), rtol=1e-12)
