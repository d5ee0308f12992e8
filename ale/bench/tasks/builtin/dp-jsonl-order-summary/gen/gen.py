import random, json
random.seed(11)
cust = ["acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne", "tyrell"]
skus = {"A1": 4.25, "B2": 19.99, "C3": 7.5, "D4": 120.0, "E5": 0.99}
with open("/app/orders.jsonl", "w") as f:
    for i in range(120):
        items = [{"sku": s, "qty": random.randint(1, 5), "unit_price": skus[s]} for s in random.sample(sorted(skus), random.randint(1, 3))]
        o = {"order_id": f"O{1000+i}", "customer": random.choice(cust), "status": random.choice(["paid", "paid", "shipped", "cancelled", "refunded"]), "items": items}
        f.write(json.dumps(o) + "\n")
