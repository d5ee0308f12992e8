"""Attack: reach services on the host. Arguments are 'kind address port' triples for listeners the host
test opened (TCP on 127.0.0.1, ::1 and the host's own interface addresses, UDP on 127.0.0.1, an abstract
unix socket), followed by the plain list of the host's interface addresses to port-scan. Only addresses of
this machine are ever used."""
import socket
import sys

escaped = False
args = sys.argv[1:]
sep = args.index("--")
targets = [args[i:i + 3] for i in range(0, sep, 3)]
host_addrs = args[sep + 1:]


def result(what, err):
    global escaped
    if err is None:
        escaped = True
        print(f"ESCAPED: {what} connected")
    else:
        print(f"BLOCKED: {what}: {err}")


def tcp(family, addr, port):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(1.0)
    try:
        s.connect((addr, port))
        s.sendall(b"hello from the sandbox\n")
        return None
    except OSError as e:
        return e.strerror or str(e)
    finally:
        s.close()


for kind, addr, port in targets:
    port = int(port)
    if kind == "tcp":
        result(f"tcp {addr}:{port}", tcp(socket.AF_INET, addr, port))
    elif kind == "tcp6":
        result(f"tcp [{addr}]:{port}", tcp(socket.AF_INET6, addr, port))
    elif kind == "udp":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.sendto(b"hello from the sandbox", (addr, port))
            print(f"BLOCKED: udp {addr}:{port}: datagram sent into the sandbox's own loopback (host checks it)")
        except OSError as e:
            print(f"BLOCKED: udp {addr}:{port}: {e.strerror}")
    elif kind == "unix":
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect("\0" + addr)
            result(f"abstract unix @{addr}", None)
        except OSError as e:
            result(f"abstract unix @{addr}", e.strerror)

# Port scan of the host's own addresses (a LAN probe limited to this machine).
for addr in host_addrs:
    for port in (22, 53, 80, 443, 2375, 6379, 8000, 8080, 8265, 8765):
        result(f"scan {addr}:{port}", tcp(socket.AF_INET, addr, port))
print("VERDICT:", "ESCAPED" if escaped else "BLOCKED")
