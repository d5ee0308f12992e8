import random
from datetime import datetime, timedelta
rnd = random.Random(77)
ips = [f"203.0.113.{i}" for i in range(1, 30)] + [f"198.51.100.{i}" for i in (7, 77, 177)] + ["10.0.0.5", "192.0.2.10", "192.0.2.9"]
users = ["root", "admin", "deploy", "oracle", "test", "ubuntu"]
t = datetime(2024, 3, 2, 23, 50, 0)
lines = []
burst = {ip: rnd.random() < 0.35 for ip in ips}
burst["10.0.0.5"] = True
for _ in range(2500):
    t += timedelta(seconds=rnd.choice([1, 2, 5, 20, 60, 130, 400]))
    ip = rnd.choice(ips)
    pid = rnd.randint(1000, 40000)
    stamp = t.strftime("%b %e %H:%M:%S")
    r = rnd.random()
    if r < (0.5 if burst[ip] else 0.06):
        u = rnd.choice(users)
        inv = "invalid user " if rnd.random() < 0.4 else ""
        if inv:
            lines.append(f"{stamp} web1 sshd[{pid}]: Invalid user {u} from {ip} port {rnd.randint(1024, 65535)}")
        lines.append(f"{stamp} web1 sshd[{pid}]: Failed password for {inv}{u} from {ip} port {rnd.randint(1024, 65535)} ssh2")
    elif r < 0.7:
        lines.append(f"{stamp} web1 sshd[{pid}]: Accepted publickey for deploy from {ip} port {rnd.randint(1024, 65535)} ssh2")
    elif r < 0.8:
        lines.append(f"{stamp} web1 sshd[{pid}]: Connection closed by {ip} port {rnd.randint(1024, 65535)} [preauth]")
    else:
        lines.append(f"{stamp} web1 CRON[{pid}]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)")
# explicit bursts
for ip in ["203.0.113.4", "203.0.113.17", "203.0.113.23", "198.51.100.77", "198.51.100.177", "10.0.0.5", "192.0.2.9"]:
    b = datetime(2024, 3, 3, rnd.randint(2, 20), rnd.randint(0, 59), 0)
    for k in range(rnd.randint(5, 9)):
        b += timedelta(seconds=rnd.randint(10, 120))
        lines.append(f"{b.strftime('%b %e %H:%M:%S')} web1 sshd[{rnd.randint(1000, 40000)}]: Failed password for root from {ip} port 5000 ssh2")
# exactly 600 seconds from first to fifth failure: banned
for k in range(5):
    x = datetime(2024, 3, 4, 9, 0, 0) + timedelta(seconds=150 * k)
    lines.append(f"{x.strftime('%b %e %H:%M:%S')} web1 sshd[998]: Failed password for invalid user bob from 192.0.2.10 port 4000 ssh2")
# a slow attacker: many failures but never 5 within 10 minutes
s = datetime(2024, 3, 3, 1, 0, 0)
for k in range(12):
    x = s + timedelta(seconds=151 * k)
    lines.append(f"{x.strftime('%b %e %H:%M:%S')} web1 sshd[999]: Failed password for root from 192.0.2.77 port 4000 ssh2")
lines.sort(key=lambda l: datetime.strptime("2024 " + l[:15], "%Y %b %d %H:%M:%S"))
open("/var/log/auth.log", "w").write("\n".join(lines) + "\n")
