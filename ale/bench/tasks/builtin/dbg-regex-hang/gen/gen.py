import random
rnd = random.Random(4)
lines = []
for i in range(5000):
    u = rnd.choice(["john.doe", "a_b-c", "x", "m.n.o", "bad..dots", "-lead", "ok1"])
    d = rnd.choice(["example.com", "mail.co.uk", "my-host.org", "bad-.com", "x.c", "h1.io"])
    lines.append(f"{u}{rnd.randint(0, 99)}@{d}")
for k in range(6):
    lines.insert(rnd.randrange(len(lines)), "a" * rnd.randint(28, 40) + rnd.choice(["!", "@", "@a!", "@" + "b" * 30 + "!"]))
open("/app/addresses.txt", "w").write("\n".join(lines) + "\n")
