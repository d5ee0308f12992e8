import json
import random
import zlib
from pathlib import Path


def originals():
    """Regenerate the original (undamaged) lines with the image generator's seed."""
    random.seed(99)
    lines, recs = [], {}
    for i in range(1, 3001):
        user, action, value = f"u{random.randint(1, 300)}", random.choice(["view", "click", "buy", "refund"]), random.randint(0, 10**6)
        check = zlib.crc32(f"{i}|{user}|{action}|{value}".encode())
        rec = {"id": i, "user": user, "action": action, "value": value, "check": check}
        recs[i] = rec
        lines.append(json.dumps(rec))
    corrupted = set(random.sample(range(3000), 25))
    return lines, recs, corrupted


def expected():
    lines, recs, corrupted = originals()
    plain = zlib.decompressobj(31).decompress(Path("/app/events.jsonl.gz").read_bytes())
    n_complete = plain.count(b"\n")
    assert 1000 < n_complete < 2900  # the archive really is truncated
    good = [recs[j + 1] for j in range(n_complete) if j not in corrupted]
    return good, n_complete - len(good)


def recovered():
    p = Path("/app/recovered.jsonl")
    assert p.exists()
    return [json.loads(l) for l in p.read_text().splitlines() if l.strip()]


def test_records_exact():
    good, _ = expected()
    assert recovered() == good


def test_records_integrity():
    for r in recovered():
        assert zlib.crc32(f"{r['id']}|{r['user']}|{r['action']}|{r['value']}".encode()) == r["check"]


def test_order():
    ids = [r["id"] for r in recovered()]
    assert ids == sorted(ids) and len(ids) > 1000


def test_report():
    good, bad = expected()
    rep = json.loads(Path("/app/recovery_report.json").read_text())
    assert rep == {"recovered": len(good), "corrupt": bad}
