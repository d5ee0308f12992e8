"""Data access for the shop (sqlite3). All functions take an open sqlite3 connection."""
import hashlib
import sqlite3

SCHEMA = """
CREATE TABLE users (id INTEGER PRIMARY KEY, username TEXT UNIQUE, pw_sha256 TEXT, is_admin INTEGER);
CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT, price_cents INTEGER, stock INTEGER);
"""


def connect(path=":memory:"):
    conn = sqlite3.connect(path)
    conn.executescript(SCHEMA)
    return conn


def add_user(conn, username, password, is_admin=False):
    digest = hashlib.sha256(password.encode()).hexdigest()
    conn.execute(f"INSERT INTO users (username, pw_sha256, is_admin) "
                 f"VALUES ('{username}', '{digest}', {int(is_admin)})")


def login(conn, username, password):
    """Return the user's id if username and password match, else None."""
    digest = hashlib.sha256(password.encode()).hexdigest()
    row = conn.execute(f"SELECT id FROM users WHERE username = '{username}' "
                       f"AND pw_sha256 = '{digest}'").fetchone()
    return row[0] if row else None


def add_product(conn, name, price_cents, stock):
    conn.execute(f"INSERT INTO products (name, price_cents, stock) VALUES ('{name}', {price_cents}, {stock})")


def search_products(conn, term, order_by="name", descending=False):
    """Products whose name contains `term` literally (case-insensitive for ASCII; the characters
    % and _ in term have no special meaning), as (name, price_cents) tuples, ordered by
    order_by, which must be one of "name", "price_cents", "stock" (anything else: ValueError)."""
    direction = "DESC" if descending else "ASC"
    sql = (f"SELECT name, price_cents FROM products WHERE name LIKE '%{term}%' "
           f"ORDER BY {order_by} {direction}")
    return conn.execute(sql).fetchall()


def set_stock(conn, product_name, stock):
    """Set the stock of the product with exactly this name; return the number of rows changed."""
    cur = conn.execute(f"UPDATE products SET stock = {stock} WHERE name = '{product_name}'")
    return cur.rowcount
