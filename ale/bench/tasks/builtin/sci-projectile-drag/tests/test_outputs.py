import json
import math

import pytest

# Reference values: RK4 at h=1e-3 and h=5e-4 agree to ~1e-12 relative; case 0 (k=0) matches the
# closed form v0^2 sin(2a)/g, 2 v0 sin(a)/g, (v0 sin a)^2/(2g).
EXPECTED = [
    (91.74311926605505, 4.324812117348913, 22.935779816513755),
    (130.62818329619697, 4.361750591999444, 23.576000875122013),
    (67.87164010302682, 6.5363164909773595, 52.79197920804177),
    (505.5358054464781, 5.697748687391341, 40.083659961275444),
    (5.829297404019709, 2.9736023416382498, 10.802104198274222),
    (710.5596375881487, 15.104532021082626, 296.82817272548),
]


def _results():
    with open("/app/results.json") as fh:
        res = json.load(fh)
    assert isinstance(res, list) and len(res) == len(EXPECTED)
    return res


def test_params_unchanged():
    p = json.load(open("/app/params.json"))
    assert p["g"] == 9.81 and len(p["cases"]) == 6 and p["cases"][5]["v0"] == 300.0


def test_no_drag_case_matches_closed_form():
    r = _results()[0]
    v0, a, g = 30.0, math.radians(45.0), 9.81
    assert r["range"] == pytest.approx(v0 ** 2 * math.sin(2 * a) / g, rel=1e-6)
    assert r["flight_time"] == pytest.approx(2 * v0 * math.sin(a) / g, rel=1e-6)


@pytest.mark.parametrize("i", range(len(EXPECTED)))
def test_case(i):
    r = _results()[i]
    rng, tf, h = EXPECTED[i]
    assert r["range"] == pytest.approx(rng, rel=1e-6)
    assert r["flight_time"] == pytest.approx(tf, rel=1e-6)
    assert r["max_height"] == pytest.approx(h, rel=1e-6)
