import calendar
import gzip
import os
import random
from pathlib import Path

CUT = calendar.timegm((2023, 7, 1, 0, 0, 0))


def original():
    """Replay the image generator (same seed): path -> (size, mtime, byte)."""
    rnd = random.Random(12)
    files = {}
    for i in range(60):
        d = rnd.choice(["logs", "logs/old", "cache", "uploads", "uploads/tmp", "reports"])
        ext = rnd.choice([".log", ".log.1", ".log.2.gz", ".tmp", ".csv", ".pdf", ".cache", ""])
        name = f"/srv/data/{d}/f{i:02d}{ext}"
        if rnd.random() < 0.08:
            name = f"/srv/data/{d}/with space {i}{ext}"
        size = rnd.choice([0, 10, 2000, 600_000, 1_500_000, 3_000_000])
        y = rnd.choice([2022, 2023, 2023, 2024])
        t = calendar.timegm((y, rnd.randint(1, 12), rnd.randint(1, 28), 12, 0, 0))
        files[name] = (size, t, bytes([65 + i % 26]))
    return files


def plan():
    deleted, gz, kept = [], [], []
    for p, (size, t, _) in original().items():
        if p.endswith((".tmp", ".cache")):
            deleted.append(p)
        elif p.startswith("/srv/data/logs/") and p.endswith((".log", ".log.1", ".log.2.gz")) and t < CUT:
            deleted.append(p)
        elif size > 1_000_000 and not p.endswith(".gz"):
            gz.append(p)
        else:
            kept.append(p)
    return sorted(deleted, key=lambda s: s.encode()), gz, kept


def test_report():
    deleted, _, _ = plan()
    assert len(deleted) > 10
    assert Path("/root/cleanup_report.txt").read_text().splitlines() == deleted


def test_deleted_are_gone():
    deleted, _, _ = plan()
    for p in deleted:
        assert not os.path.lexists(p), p


def test_compressed():
    _, gz, _ = plan()
    orig = original()
    assert gz
    for p in gz:
        assert not os.path.exists(p), p
        size, t, b = orig[p]
        with gzip.open(p + ".gz") as f:
            assert f.read() == b * size
        assert int(os.stat(p + ".gz").st_mtime) == t


def test_kept_untouched():
    _, _, kept = plan()
    orig = original()
    for p in kept:
        size, t, b = orig[p]
        st = os.stat(p)
        assert st.st_size == size and int(st.st_mtime) == t, p
        with open(p, "rb") as f:
            assert f.read(10) == (b * size)[:10]


def test_links_and_dirs_untouched():
    assert os.path.islink("/srv/data/cache/passwd-link.tmp")
    assert os.path.isdir("/srv/data/keep.tmp")
    assert Path("/etc/passwd").stat().st_size > 0
