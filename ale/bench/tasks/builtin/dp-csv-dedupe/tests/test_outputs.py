import csv
import hashlib
from pathlib import Path

SRC = Path("/app/data/customers.csv")
OUT = Path("/app/data/customers_dedup.csv")


def expected():
    rows = list(csv.DictReader(SRC.open(newline="")))
    best = {}
    for r in rows:
        key = r["email"].strip().lower()
        cand = (r["signup_date"], int(r["id"]))
        if key not in best or cand < best[key][0]:
            best[key] = (cand, dict(r, email=key))
    return sorted((v[1] for v in best.values()), key=lambda r: int(r["id"]))


def read_out():
    assert OUT.exists(), "customers_dedup.csv missing"
    return list(csv.DictReader(OUT.open(newline="")))


def test_input_untouched():
    assert hashlib.sha256(SRC.read_bytes()).hexdigest() == "a1cbd20afe00278cd3f0a8ab4a843bd0fe070b4a34da7c66479a9acc7e512b08"


def test_header():
    with OUT.open(newline="") as f:
        assert next(csv.reader(f)) == ["id", "name", "email", "signup_date"]


def test_one_row_per_customer():
    out = read_out()
    assert len(out) == 19
    assert len({r["email"] for r in out}) == 19


def test_emails_normalised():
    for r in read_out():
        assert r["email"] == r["email"].strip().lower()


def test_rows_match_expected():
    assert read_out() == expected()


def test_sorted_by_id():
    ids = [int(r["id"]) for r in read_out()]
    assert ids == sorted(ids)
