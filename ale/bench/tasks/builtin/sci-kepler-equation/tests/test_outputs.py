import csv
import math


def _inputs():
    with open("/app/orbits.csv") as fh:
        return list(csv.DictReader(fh))


def _outputs():
    with open("/app/anomalies.csv") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["id", "E"]
    return rows[1:]


def test_input_untouched():
    rows = _inputs()
    assert len(rows) == 600
    assert sum(float(r["e"]) > 0.95 for r in rows) >= 100


def test_same_ids_same_order():
    assert [r[0] for r in _outputs()] == [r["id"] for r in _inputs()]


def test_residuals_and_range():
    bad = []
    for inp, (oid, E) in zip(_inputs(), _outputs()):
        M, e, E = float(inp["M"]), float(inp["e"]), float(E)
        if not (0 <= E < 2 * math.pi) or abs(E - e * math.sin(E) - M) >= 1e-12:
            bad.append((oid, M, e, E))
    assert not bad, f"{len(bad)} bad rows, e.g. {bad[:3]}"


def test_near_parabolic_cases_present_and_solved():
    worst = 0.0
    for inp, (_, E) in zip(_inputs(), _outputs()):
        M, e = float(inp["M"]), float(inp["e"])
        if e > 0.95 and (M < 0.05 or M > 6.23):
            E = float(E)
            worst = max(worst, abs(E - e * math.sin(E) - M))
    assert worst < 1e-12
