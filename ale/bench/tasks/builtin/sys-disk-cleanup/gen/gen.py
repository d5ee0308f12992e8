import os, random, json
rnd = random.Random(12)
base = "/srv/data"
made = []
for i in range(60):
    d = rnd.choice(["logs", "logs/old", "cache", "uploads", "uploads/tmp", "reports"])
    ext = rnd.choice([".log", ".log.1", ".log.2.gz", ".tmp", ".csv", ".pdf", ".cache", ""])
    name = f"{base}/{d}/f{i:02d}{ext}"
    if rnd.random() < 0.08:
        name = f"{base}/{d}/with space {i}{ext}"
    os.makedirs(os.path.dirname(name), exist_ok=True)
    size = rnd.choice([0, 10, 2000, 600_000, 1_500_000, 3_000_000])
    with open(name, "wb") as f:
        f.write(bytes([65 + i % 26]) * size)
    y = rnd.choice([2022, 2023, 2023, 2024])
    t = __import__("calendar").timegm((y, rnd.randint(1, 12), rnd.randint(1, 28), 12, 0, 0))
    os.utime(name, (t, t))
os.symlink("/etc/passwd", f"{base}/cache/passwd-link.tmp")
os.makedirs(f"{base}/keep.tmp", exist_ok=True)  # a directory, not a file
