import csv
import random
import subprocess
from pathlib import Path


def H(d, a):
    return f"H{d}{a:<20}"


def D(d, t, c, desc):
    return f"D{d}{t}{c:012d}{desc:<30}"


def T(n, net):
    return f"T{n:06d}{'+' if net >= 0 else '-'}{abs(net):013d}"


def make(seed, corrupt=None):
    rnd = random.Random(seed)
    lines, exp = ["# generated"], []
    for b in range(rnd.randint(2, 4)):
        acct = f"AC{rnd.randint(0, 99999):05d}-{b}"
        lines.append(H("20231231", acct))
        n = net = 0
        for _ in range(rnd.randint(0, 8)):
            d = f"2023{rnd.randint(1, 12):02d}{rnd.randint(1, 28):02d}"
            t = rnd.choice(["CR", "DB"])
            c = rnd.choice([0, 5, 99, 100, rnd.randint(1, 10**9)])
            desc = rnd.choice(["coffee", "rent, flat 2", 'say "hi"', "  padded  ", "x" * 30, ""])
            line = D(d, t, c, desc)
            lines.append(line.rstrip() if rnd.random() < 0.4 else line)
            s = c if t == "CR" else -c
            n += 1
            net += s
            exp.append([acct, f"{d[:4]}-{d[4:6]}-{d[6:]}", t,
                        ("-" if s < 0 else "") + f"{abs(s) // 100}.{abs(s) % 100:02d}", desc.strip()])
        if corrupt == b:
            net += 1
        lines.append(T(n, net))
        if rnd.random() < 0.5:
            lines.append("")
    return "\n".join(lines) + "\n", exp


def run(tmp_path, text):
    src, dst = tmp_path / "in.dat", tmp_path / "out.csv"
    src.write_text(text)
    p = subprocess.run(["python3", "/app/fwparse.py", str(src), str(dst)], capture_output=True, text=True, timeout=60)
    rows = list(csv.reader(dst.open(newline=""))) if dst.exists() else None
    return p, rows


def test_sample(tmp_path):
    p, rows = run(tmp_path, Path("/app/sample.dat").read_text())
    assert p.returncode == 0, p.stderr
    assert rows[0] == ["account", "date", "type", "amount", "description"]
    assert rows[1] == ["ACC-001", "2024-01-02", "CR", "1500.00", "Salary, January"]
    assert rows[2] == ["ACC-001", "2024-01-05", "DB", "-45.99", 'Grocery "Fresh" Mart']
    assert rows[3] == ["ACC-001", "2024-01-10", "DB", "-0.07", "fee"]
    assert rows[4] == ["SAV-9", "2024-01-15", "CR", "1.00", "interest"]
    assert len(rows) == 5


def test_random_files(tmp_path):
    for seed in range(8):
        text, exp = make(seed)
        p, rows = run(tmp_path, text)
        assert p.returncode == 0, (seed, p.stderr)
        assert rows[1:] == exp, seed


def test_trailer_mismatch(tmp_path):
    text, exp = make(42, corrupt=1)
    p, rows = run(tmp_path, text)
    assert p.returncode == 1
    bad_acct = exp and [l for l in text.splitlines() if l.startswith("H")][1][9:29].strip()
    assert "mismatch" in p.stderr and bad_acct in p.stderr
    assert rows[1:] == exp


def test_count_mismatch(tmp_path):
    text = "\n".join([H("20240101", "ZZ"), D("20240101", "CR", 5, "a"), T(2, 5)]) + "\n"
    p, rows = run(tmp_path, text)
    assert p.returncode == 1 and "ZZ" in p.stderr
    assert rows[1:] == [["ZZ", "2024-01-01", "CR", "0.05", "a"]]
