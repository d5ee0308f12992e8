import random

rng = random.Random(1609)
rows = []
for i in range(600):
    if i % 5 == 0:
        e = 0.95 + 0.0499 * rng.random()   # nearly parabolic orbits: naive Newton from E0=M struggles
        M = rng.choice([rng.random() * 0.05, 6.2831853 - rng.random() * 0.05, rng.random() * 6.28])
    else:
        e = rng.random() * 0.95
        M = rng.random() * 6.283185307179586
    rows.append((f"obj{i:04d}", M, e))
rng.shuffle(rows)
with open("/app/orbits.csv", "w") as fh:
    fh.write("id,M,e\n")
    for r in rows:
        fh.write(f"{r[0]},{r[1]!r},{r[2]!r}\n")
