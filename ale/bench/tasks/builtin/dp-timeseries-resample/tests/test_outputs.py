import csv
from datetime import datetime, timedelta, timezone
from pathlib import Path


def expected():
    last = {}
    for r in csv.DictReader(open("/app/readings.csv", newline="")):
        t = datetime.fromisoformat(r["timestamp"]).astimezone(timezone.utc)
        last[(r["sensor_id"], t)] = r["value"]
    per = {}
    for (s, t), v in last.items():
        if v.strip() and v.lower() != "nan":
            per.setdefault(s, {}).setdefault(t.replace(minute=0, second=0), []).append(float(v))
    out = []
    for s in sorted(per):
        hs = per[s]
        known = sorted(hs)
        mean = {h: sum(v) / len(v) for h, v in hs.items()}
        h = known[0]
        while h <= known[-1]:
            if h in hs:
                out.append((s, h, mean[h], len(hs[h])))
            else:
                p = max(k for k in known if k < h)
                n = min(k for k in known if k > h)
                out.append((s, h, mean[p] + (mean[n] - mean[p]) * ((h - p) / (n - p)), 0))
            h += timedelta(hours=1)
    return out


def got():
    p = Path("/app/hourly.csv")
    assert p.exists()
    rows = list(csv.reader(p.open(newline="")))
    assert rows[0] == ["sensor_id", "hour", "mean", "count"]
    return rows[1:]


def test_rows_and_hours():
    exp = expected()
    g = got()
    assert [(r[0], r[1]) for r in g] == [(s, h.strftime("%Y-%m-%dT%H:00Z")) for s, h, _, _ in exp]


def test_counts():
    assert [int(r[3]) for r in got()] == [e[3] for e in expected()]


def test_means_measured_hours():
    for r, e in zip(got(), expected()):
        if e[3]:
            assert abs(float(r[2]) - e[2]) < 0.0011, (r, e)


def test_means_interpolated_hours():
    exp = expected()
    gaps = [(r, e) for r, e in zip(got(), exp) if e[3] == 0]
    assert len(gaps) > 20
    for r, e in gaps:
        assert abs(float(r[2]) - e[2]) < 0.0011, (r, e)


def test_three_decimals():
    for r in got():
        assert len(r[2].split(".")[1]) == 3, r
