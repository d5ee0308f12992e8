import random, csv
random.seed(3)
regions = ["north", "south", "east", "west", "central"]
with open("/app/sales.csv", "w", newline="") as f:
    w = csv.writer(f); w.writerow(["date", "region", "product", "units"])
    for _ in range(900):
        m = random.choice([1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12])  # nobody sold anything in August
        r = random.choice(regions if m != 2 else regions[:4])
        w.writerow([f"2024-{m:02d}-{random.randint(1, 28):02d}", random.choice([r, r.upper(), " " + r]), random.choice("ABCD"), random.randint(1, 40)])
    w.writerow(["2023-12-31", "north", "A", 5])
    w.writerow(["2025-01-01", "south", "B", 7])
