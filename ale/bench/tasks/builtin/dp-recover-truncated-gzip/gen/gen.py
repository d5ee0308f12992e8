import gzip, json, random, zlib
random.seed(99)
lines = []
for i in range(1, 3001):
    user, action, value = f"u{random.randint(1, 300)}", random.choice(["view", "click", "buy", "refund"]), random.randint(0, 10**6)
    check = zlib.crc32(f"{i}|{user}|{action}|{value}".encode())
    lines.append(json.dumps({"id": i, "user": user, "action": action, "value": value, "check": check}))
for j in random.sample(range(3000), 25):
    lines[j] = random.choice([lines[j][: random.randint(5, 40)], "###" + lines[j][3:], lines[j].replace('"', "'"), "\x7f\x00garbage"])
data = gzip.compress(("\n".join(lines) + "\n").encode(), mtime=0)
open("/app/events.jsonl.gz", "wb").write(data[: int(len(data) * 0.71)])
