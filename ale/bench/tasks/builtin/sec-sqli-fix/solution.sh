#!/bin/bash
cd /app
python3 - <<'PY'
s = open("shopdb.py").read()
head = s[: s.index("def add_user")]
body = '''def add_user(conn, username, password, is_admin=False):
    digest = hashlib.sha256(password.encode()).hexdigest()
    conn.execute("INSERT INTO users (username, pw_sha256, is_admin) VALUES (?, ?, ?)",
                 (username, digest, int(is_admin)))


def login(conn, username, password):
    """Return the user's id if username and password match, else None."""
    digest = hashlib.sha256(password.encode()).hexdigest()
    row = conn.execute("SELECT id FROM users WHERE username = ? AND pw_sha256 = ?",
                       (username, digest)).fetchone()
    return row[0] if row else None


def add_product(conn, name, price_cents, stock):
    conn.execute("INSERT INTO products (name, price_cents, stock) VALUES (?, ?, ?)",
                 (name, int(price_cents), int(stock)))


_ORDER_COLUMNS = {"name", "price_cents", "stock"}


def search_products(conn, term, order_by="name", descending=False):
    """Products whose name contains `term` literally (case-insensitive for ASCII; the characters
    % and _ in term have no special meaning), as (name, price_cents) tuples, ordered by
    order_by, which must be one of "name", "price_cents", "stock" (anything else: ValueError)."""
    if order_by not in _ORDER_COLUMNS:
        raise ValueError(f"cannot order by {order_by!r}")
    direction = "DESC" if descending else "ASC"
    escaped = term.replace("\\\\", "\\\\\\\\").replace("%", "\\\\%").replace("_", "\\\\_")
    sql = (f"SELECT name, price_cents FROM products WHERE name LIKE ? ESCAPE '\\\\' "
           f"ORDER BY {order_by} {direction}")  # order_by is whitelisted above
    return conn.execute(sql, ("%" + escaped + "%",)).fetchall()


def set_stock(conn, product_name, stock):
    """Set the stock of the product with exactly this name; return the number of rows changed."""
    cur = conn.execute("UPDATE products SET stock = ? WHERE name = ?", (int(stock), product_name))
    return cur.rowcount
'''
open("shopdb.py", "w").write(head + body)
PY
