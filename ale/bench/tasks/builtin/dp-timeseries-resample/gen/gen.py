import random
from datetime import datetime, timedelta, timezone
random.seed(21)
rows = []
base = datetime(2024, 5, 1, 0, 0, tzinfo=timezone.utc)
for s in ["s1", "s2", "s3", "s4"]:
    t = base + timedelta(minutes=random.randint(0, 300))
    for _ in range(150):
        t += timedelta(minutes=random.choice([5, 7, 11, 20, 45, 90, 200]))
        tz = timezone(timedelta(hours=random.choice([0, 2, -5, 5.5])))
        v = random.choice([f"{random.uniform(-10, 40):.2f}"] * 8 + ["NaN", "", "nan"])
        rows.append([s, t.astimezone(tz).isoformat(), v])
        if random.random() < 0.05:  # re-sent reading, later value wins
            rows.append([s, t.astimezone(tz).isoformat(), f"{random.uniform(-10, 40):.2f}"])
rows.sort(key=lambda r: (random.random()))
with open("/app/readings.csv", "w") as f:
    f.write("sensor_id,timestamp,value\n")
    for r in rows:
        f.write(",".join(r) + "\n")
