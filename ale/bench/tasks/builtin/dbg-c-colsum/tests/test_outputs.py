import random
import subprocess
from pathlib import Path

import pytest


def expected(text):
    lines = text.replace("\r\n", "\n").split("\n")
    if lines and lines[-1] == "":
        lines = lines[:-1]
    names = lines[0].split(",")
    sums = [0] * len(names)
    for l in lines[1:]:
        for i, v in enumerate(l.split(",")[: len(names)]):
            sums[i] += int(v) if v else 0
    return [f"{n}={s}" for n, s in zip(names, sums)]


@pytest.fixture(scope="module")
def binaries(tmp_path_factory):
    d = tmp_path_factory.mktemp("bin")
    r = subprocess.run(["make", "-B", "colsum"], cwd="/app", capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    asan = d / "colsum_asan"
    r = subprocess.run(["gcc", "-g", "-O1", "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
                        "-o", str(asan), "/app/colsum.c"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return ["/app/colsum", str(asan)]


def run(binary, path):
    return subprocess.run([binary, str(path)], capture_output=True, text=True, timeout=60,
                          env={"ASAN_OPTIONS": "detect_leaks=0", "PATH": "/usr/bin:/bin"})


def cases():
    rnd = random.Random(17)
    out = {"sample": Path("/app/sample.csv").read_text()}
    out["empty_fields"] = "x,y,z\n,,\n1,,3\n,2,\n5\n"
    out["crlf"] = "first,second\r\n1,2\r\n3,4\r\n"
    cols = 300
    hdr = ",".join(f"column_with_a_rather_long_name_{i}" for i in range(cols))
    rows = [",".join(str(rnd.randint(-10**12, 10**12)) for _ in range(cols)) for _ in range(50)]
    out["wide"] = hdr + "\n" + "\n".join(rows) + "\n"
    out["big_numbers"] = "a,b\n" + "".join(f"{4 * 10**15},{-3 * 10**15}\n" for _ in range(1000))
    out["extra_fields"] = "a\n1,2,3\n4,5\n"
    out["no_trailing_newline"] = "p,q\n1,2\n3,4"
    return out


@pytest.mark.parametrize("name", list(cases()))
def test_outputs(binaries, tmp_path, name):
    text = cases()[name]
    p = tmp_path / f"{name}.csv"
    p.write_bytes(text.encode())
    for b in binaries:
        r = run(b, p)
        assert r.returncode == 0, (b, r.stderr[-1500:])
        assert r.stdout.splitlines() == expected(text), (b, name)


def test_missing_file(binaries, tmp_path):
    for b in binaries:
        r = run(b, tmp_path / "nope.csv")
        assert r.returncode == 1, b
