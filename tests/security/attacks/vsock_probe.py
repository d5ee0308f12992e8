"""Attack (route out): AF_VSOCK sockets are not network-namespaced. On a VM (this machine is one), a vsock
socket reaches the hypervisor side (CID 2) whatever the sandbox's network policy says. This probe only
creates a socket: it never connects, so no traffic leaves the machine."""
import socket

try:
    s = socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)
    s.close()
    print("ESCAPED: created an AF_VSOCK socket (not confined by the network namespace)")
    print("VERDICT: ESCAPED")
except OSError as e:
    print(f"BLOCKED: AF_VSOCK socket: {e.strerror}")
    print("VERDICT: BLOCKED")
