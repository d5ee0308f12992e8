"""Attack: sniff or forge traffic. Raw IP and packet sockets, promiscuous capture, adding addresses and routes
over netlink (iproute2), bringing up new interfaces. All need CAP_NET_RAW / CAP_NET_ADMIN."""
import socket
import subprocess

escaped = False


def verdict(what, ok, detail=""):
    global escaped
    if ok:
        escaped = True
        print(f"ESCAPED: {what} {detail}")
    else:
        print(f"BLOCKED: {what}: {detail}")


for what, args in [("AF_PACKET raw (sniff every frame)", (socket.AF_PACKET, socket.SOCK_RAW, 0x0300)),
                   ("AF_INET SOCK_RAW icmp", (socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)),
                   ("AF_INET SOCK_RAW tcp (forge)", (socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)),
                   ("AF_INET6 SOCK_RAW", (socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6))]:
    try:
        s = socket.socket(*args)
        s.close()
        verdict(what, True, "created")
    except OSError as e:
        verdict(what, False, e.strerror)

for cmd in (["ip", "addr", "add", "10.99.0.1/24", "dev", "lo"], ["ip", "link", "add", "ale0", "type", "dummy"],
            ["ip", "route", "add", "default", "dev", "lo"], ["ip", "link", "set", "lo", "promisc", "on"]):
    r = subprocess.run(cmd, capture_output=True, text=True)
    verdict(" ".join(cmd), r.returncode == 0, r.stderr.strip())
links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
names = [line.split(":")[1].strip().split("@")[0] for line in links.splitlines()]
verdict("interfaces other than lo", names != ["lo"], str(names))
print("VERDICT:", "ESCAPED" if escaped else "BLOCKED")
