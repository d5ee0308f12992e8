import random
random.seed(2024)
ips = [f"10.0.{random.randint(0,3)}.{random.randint(1,40)}" for _ in range(25)]
paths = ["/", "/login", "/api/items", "/api/items/7", "/static/app.js", "/admin"]
months = "Mar"
lines = []
for i in range(1500):
    ip = random.choice(ips[:8]) if random.random() < 0.5 else random.choice(ips)
    h, m, s = random.randint(0, 23), random.randint(0, 59), random.randint(0, 59)
    d = random.randint(10, 12)
    st = random.choice([200] * 8 + [301, 304, 404, 404, 500, 503])
    b = "-" if st in (301, 304) else str(random.randint(100, 90000))
    meth = random.choice(["GET"] * 5 + ["POST"])
    lines.append(f'{ip} - - [{d:02d}/Mar/2024:{h:02d}:{m:02d}:{s:02d} +0000] "{meth} {random.choice(paths)} HTTP/1.1" {st} {b} "-" "curl/8.0"')
for k in range(17):
    j = random.randrange(len(lines))
    lines[j] = random.choice(["garbage line", lines[j][:30], "", "\x00\x01 binary junk", "- - - [bad] \"GET\""])
open("/app/access.log", "w").write("\n".join(lines) + "\n")
