import bisect
import subprocess
import sys
import time

sys.path.insert(0, "/tests")
import gen_data  # noqa: E402  (same generator that built /app's data)


def ip2int(s):
    parts = s.split(".")
    if len(parts) != 4 or not all(p.isdigit() and int(p) <= 255 for p in parts):
        return None
    n = 0
    for p in parts:
        n = n * 256 + int(p)
    return n


def reference(d):
    ranges = []
    for line in (d / "ranges.csv").read_text().splitlines()[1:]:
        a, b, c = line.split(",")
        ranges.append((ip2int(a), ip2int(b), c))
    ranges.sort()
    starts = [r[0] for r in ranges]
    out = []
    for line in (d / "ips.txt").read_text().splitlines():
        ip = line.strip()
        if not ip:
            continue
        n = ip2int(ip)
        if n is None:
            out.append(f"{ip},INVALID")
            continue
        i = bisect.bisect_right(starts, n) - 1
        out.append(f"{ip},{ranges[i][2] if i >= 0 and n <= ranges[i][1] else 'ZZ'}")
    return "\n".join(out) + "\n"


def run(d, timeout):
    t = time.monotonic()
    subprocess.run([sys.executable, "/app/geo.py", str(d / "ranges.csv"), str(d / "ips.txt"), str(d / "out.txt")],
                   check=True, timeout=timeout)
    return time.monotonic() - t


def test_small_input_correct(tmp_path):
    gen_data.make(7, 300, 400, tmp_path)
    run(tmp_path, 60)
    assert (tmp_path / "out.txt").read_text() == reference(tmp_path)


def test_edge_cases(tmp_path):
    (tmp_path / "ranges.csv").write_text("start,end,country\n10.0.0.0,10.0.0.255,AA\n0.0.0.0,0.0.0.0,BB\n255.255.255.0,255.255.255.255,CC\n")
    (tmp_path / "ips.txt").write_text("10.0.0.0\n10.0.0.255\n10.0.1.0\n\n0.0.0.0\n0.0.0.1\n255.255.255.255\n256.1.1.1\n 9.9.9.9 \nx.y\n")
    run(tmp_path, 60)
    assert (tmp_path / "out.txt").read_text() == (
        "10.0.0.0,AA\n10.0.0.255,AA\n10.0.1.0,ZZ\n0.0.0.0,BB\n0.0.0.1,ZZ\n255.255.255.255,CC\n"
        "256.1.1.1,INVALID\n9.9.9.9,ZZ\nx.y,INVALID\n")


def test_full_size_fast_and_correct(tmp_path):
    gen_data.make(12345, 30000, 30000, tmp_path)
    elapsed = run(tmp_path, 30)
    assert (tmp_path / "out.txt").read_text() == reference(tmp_path)
    assert elapsed < 10, f"took {elapsed:.1f}s"
