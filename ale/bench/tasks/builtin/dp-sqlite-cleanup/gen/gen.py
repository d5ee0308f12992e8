import random, sqlite3
random.seed(5)
db = sqlite3.connect("/app/shop.db")
db.executescript("""
CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT, email TEXT, country TEXT);
CREATE TABLE orders(id INTEGER PRIMARY KEY, customer_id INTEGER, amount_cents INTEGER, created_at TEXT);
""")
variants = {"US": ["US", "us", "USA", "United States", " US "], "DE": ["DE", "de", "Germany", "DEU"],
            "FR": ["FR", "France", "fra", " fr"], "JP": ["JP", "Japan", "jpn"]}
for i in range(1, 41):
    c = random.choice(sorted(variants))
    db.execute("INSERT INTO customers VALUES (?,?,?,?)", (i, f"cust{i}", f"c{i}@ex.com", random.choice(variants[c])))
oid = 1
for k in range(300):
    cid = random.randint(1, 46)  # 41..46 do not exist
    y, m, d = 2024, random.randint(1, 12), random.randint(1, 28)
    fmt = random.choice([f"{y}-{m:02d}-{d:02d}", f"{d:02d}/{m:02d}/{y}", f"{y}-{m:02d}-{d:02d}T{random.randint(0,23):02d}:15:00"])
    amt = random.randint(100, 50000)
    db.execute("INSERT INTO orders VALUES (?,?,?,?)", (oid, cid, amt, fmt)); oid += 1
    if random.random() < 0.1:  # exact duplicate row with a new id
        db.execute("INSERT INTO orders VALUES (?,?,?,?)", (oid, cid, amt, fmt)); oid += 1
db.commit()
