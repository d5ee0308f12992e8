import sys

import pytest

sys.path.insert(0, "/app")
import shopdb  # noqa: E402


@pytest.fixture()
def db():
    conn = shopdb.connect()
    shopdb.add_user(conn, "admin", "S3cret-admin!", is_admin=True)
    shopdb.add_user(conn, "bob", "hunter2")
    for name, price, stock in [("Green Tea", 450, 10), ("O'Brien's Tea", 700, 3), ("100% Cotton Bag", 1200, 5),
                               ("Tea_Pot", 2500, 1), ("Teapot", 2300, 2), ("Coffee", 900, 0)]:
        shopdb.add_product(conn, name, price, stock)
    return conn


def test_login_normal(db):
    assert shopdb.login(db, "bob", "hunter2") == 2
    assert shopdb.login(db, "bob", "wrong") is None


@pytest.mark.parametrize("user", ["admin' --", "admin'--", "' OR '1'='1' --", "' OR 1=1 --",
                                  "x' UNION SELECT 1 --"])
def test_login_injection(db, user):
    assert shopdb.login(db, user, "anything") is None


def test_login_password_injection(db):
    assert shopdb.login(db, "admin", "' OR '1'='1") is None


def test_quotes_in_values(db):
    shopdb.add_user(db, "d'artagnan", "pa'ss")
    assert shopdb.login(db, "d'artagnan", "pa'ss") is not None
    assert shopdb.search_products(db, "o'brien") == [("O'Brien's Tea", 700)]


def test_add_user_injection(db):
    shopdb.add_user(db, "eve', 'x', 1) --", "pw")
    row = db.execute("SELECT username, is_admin FROM users WHERE username LIKE 'eve%'").fetchone()
    assert row == ("eve', 'x', 1) --", 0)


def test_search_literal_wildcards(db):
    assert shopdb.search_products(db, "%") == [("100% Cotton Bag", 1200)]
    assert shopdb.search_products(db, "a_p") == [("Tea_Pot", 2500)]
    assert shopdb.search_products(db, "TEA") == [("Green Tea", 450), ("O'Brien's Tea", 700),
                                                ("Tea_Pot", 2500), ("Teapot", 2300)]


def test_search_injection(db):
    assert shopdb.search_products(db, "' OR 1=1 --") == []
    assert shopdb.search_products(db, "x%' UNION SELECT username, pw_sha256 FROM users --") == []


def test_search_order(db):
    got = shopdb.search_products(db, "tea", order_by="price_cents", descending=True)
    assert [p for _, p in got] == [2500, 2300, 700, 450]
    assert [n for n, _ in shopdb.search_products(db, "o", order_by="stock")][0] == "Coffee"


@pytest.mark.parametrize("col", ["price_cents; DROP TABLE users", "(SELECT 1)", "id", "NAME",
                                 "name --"])
def test_order_by_whitelist(db, col):
    with pytest.raises(ValueError):
        shopdb.search_products(db, "tea", order_by=col)
    assert db.execute("SELECT COUNT(*) FROM users").fetchone()[0] == 2


def test_set_stock(db):
    assert shopdb.set_stock(db, "Coffee", 7) == 1
    assert shopdb.set_stock(db, "x' OR '1'='1", 0) == 0
    assert db.execute("SELECT SUM(stock) FROM products").fetchone()[0] == 10 + 3 + 5 + 1 + 2 + 7
    assert shopdb.set_stock(db, "O'Brien's Tea", 9) == 1
