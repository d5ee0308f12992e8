import random
import re
import sqlite3

import pytest


def original():
    """Rebuild the original data exactly as the image generator did (same seed)."""
    random.seed(5)
    variants = {"US": ["US", "us", "USA", "United States", " US "], "DE": ["DE", "de", "Germany", "DEU"],
                "FR": ["FR", "France", "fra", " fr"], "JP": ["JP", "Japan", "jpn"]}
    customers, orders = {}, []
    for i in range(1, 41):
        c = random.choice(sorted(variants))
        random.choice(variants[c])
        customers[i] = c
    oid = 1
    for _ in range(300):
        cid = random.randint(1, 46)
        y, m, d = 2024, random.randint(1, 12), random.randint(1, 28)
        random.randint(0, 23)  # the generator builds all three formats before choosing
        random.choice([0, 1, 2])
        amt = random.randint(100, 50000)
        orders.append((oid, cid, amt, f"{y}-{m:02d}-{d:02d}"))
        oid += 1
        if random.random() < 0.1:
            orders.append((oid, cid, amt, f"{y}-{m:02d}-{d:02d}"))
            oid += 1
    seen, keep = set(), []
    for o in orders:
        if o[1] in customers and o[1:] not in seen:
            seen.add(o[1:])
            keep.append(o)
    return customers, keep


@pytest.fixture()
def db():
    con = sqlite3.connect("/app/shop.db")
    yield con
    con.close()


def test_countries(db):
    customers, _ = original()
    got = dict(db.execute("SELECT id, country FROM customers"))
    assert got == customers


def test_dates_iso(db):
    for (d,) in db.execute("SELECT created_at FROM orders"):
        assert re.fullmatch(r"2024-\d\d-\d\d", d), d


def test_orders_exact(db):
    _, orders = original()
    got = sorted(db.execute("SELECT id, customer_id, amount_cents, created_at FROM orders"))
    assert got == sorted(orders)


def test_no_orphans(db):
    n = db.execute("SELECT count(*) FROM orders WHERE customer_id NOT IN (SELECT id FROM customers)").fetchone()[0]
    assert n == 0


def test_view_values(db):
    _, orders = original()
    exp = {}
    for _, cid, amt, _ in orders:
        n, t = exp.get(cid, (0, 0))
        exp[cid] = (n + 1, t + amt)
    got = {r[0]: (r[1], r[2]) for r in db.execute("SELECT customer_id, n_orders, total_cents FROM customer_totals")}
    assert got == exp


def test_view_is_live(db):
    cid = db.execute("SELECT customer_id FROM orders LIMIT 1").fetchone()[0]
    before = db.execute("SELECT n_orders, total_cents FROM customer_totals WHERE customer_id=?", (cid,)).fetchone()
    db.execute("INSERT INTO orders(customer_id, amount_cents, created_at) VALUES (?, 7, '2024-12-31')", (cid,))
    after = db.execute("SELECT n_orders, total_cents FROM customer_totals WHERE customer_id=?", (cid,)).fetchone()
    db.rollback()
    assert after == (before[0] + 1, before[1] + 7)
