import json
import re
from collections import Counter
from pathlib import Path

PAT = re.compile(
    r'^(\d+\.\d+\.\d+\.\d+) - - \[(\d\d)/Mar/(2024):(\d\d):\d\d:\d\d \+0000\] '
    r'"[A-Z]+ \S+ HTTP/1\.1" (\d{3}) (\d+|-) "[^"]*" "[^"]*"$'
)


def expected():
    lines = Path("/app/access.log").read_bytes().decode("utf-8", "replace").split("\n")[:-1]
    ok = [m for m in (PAT.match(l) for l in lines) if m]
    st = Counter(m.group(5) for m in ok)
    ips = Counter(m.group(1) for m in ok)
    hours = Counter(f"2024-03-{m.group(2)}T{m.group(4)}" for m in ok)
    return {
        "total_requests": len(ok),
        "malformed": len(lines) - len(ok),
        "status_counts": dict(st),
        "bytes_total": sum(0 if m.group(6) == "-" else int(m.group(6)) for m in ok),
        "top_ips": [list(t) for t in sorted(ips.items(), key=lambda kv: (-kv[1], kv[0]))[:3]],
        "busiest_hour": sorted(hours.items(), key=lambda kv: (-kv[1], kv[0]))[0][0],
    }


def report():
    p = Path("/app/report.json")
    assert p.exists(), "report.json missing"
    return json.loads(p.read_text())


def test_keys():
    assert set(report()) == {"total_requests", "malformed", "status_counts", "bytes_total", "top_ips", "busiest_hour"}


def test_counts():
    r, e = report(), expected()
    assert e["malformed"] >= 10
    assert r["total_requests"] == e["total_requests"]
    assert r["malformed"] == e["malformed"]


def test_status_counts():
    assert {str(k): v for k, v in report()["status_counts"].items()} == expected()["status_counts"]


def test_bytes_total():
    assert report()["bytes_total"] == expected()["bytes_total"]


def test_top_ips():
    assert [list(x) for x in report()["top_ips"]] == expected()["top_ips"]


def test_busiest_hour():
    assert report()["busiest_hour"] == expected()["busiest_hour"]
