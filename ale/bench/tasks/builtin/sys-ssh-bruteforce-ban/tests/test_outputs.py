import ipaddress
import re
from datetime import datetime
from pathlib import Path

ORIGINAL_DENY = ["# /etc/hosts.deny", "sshd: 198.51.100.77", "ALL: 192.0.2.200"]
ALLOWED = {"10.0.0.5", "192.0.2.9"}


def attackers():
    fails = {}
    for line in Path("/var/log/auth.log").read_text().splitlines():
        m = re.search(r"sshd\[\d+\]: Failed password for (invalid user )?\S+ from (\S+) port", line)
        if m:
            t = datetime.strptime("2024 " + line[:15], "%Y %b %d %H:%M:%S")
            fails.setdefault(m.group(2), []).append(t.timestamp())
    out = [ip for ip, ts in fails.items()
           if ip not in ALLOWED and any(ts[i + 4] - ts[i] <= 600 for i in range(len(ts) - 4))]
    return sorted(out, key=ipaddress.ip_address)


def test_attackers_file():
    exp = attackers()
    assert len(exp) >= 5 and "192.0.2.77" not in exp and "198.51.100.77" in exp
    assert Path("/root/attackers.txt").read_text().split() == exp


def test_hosts_deny():
    lines = Path("/etc/hosts.deny").read_text().splitlines()
    assert lines[:3] == ORIGINAL_DENY
    new = lines[3:]
    exp = [ip for ip in attackers() if ip != "198.51.100.77"]
    assert new == [f"sshd: {ip}" for ip in exp]


def test_allowed_never_banned():
    text = Path("/etc/hosts.deny").read_text()
    for ip in ALLOWED:
        assert ip not in text
    assert "192.0.2.77" not in text  # slow attacker never reaches 5 failures in 10 minutes
