"""Harbor's CLI with this process kept off the network (run by the Harbor virtualenv's Python, as
`python harbor_offline.py run ...`). Harbor's telemetry and litellm's price-list download are switched off
by their own settings (HARBOR_TELEMETRY=0, LITELLM_LOCAL_MODEL_COST_MAP=True, set here too); this audit
hook refuses, and reports on stderr, any other connection or name lookup but loopback and local sockets,
so a test fails rather than let Harbor reach out. The sandboxes' egress (slirp4netns, its own process) is
the task's network policy and not affected."""
import ipaddress
import os
import socket
import sys

os.environ.setdefault("HARBOR_TELEMETRY", "0")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
_LOCAL_NAMES = {None, "", "localhost", socket.gethostname()}


def _loopback(host) -> bool:
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


def _hook(event: str, args: tuple) -> None:
    if event in ("socket.connect", "socket.sendto"):
        sock, address = args[0], args[-1]
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(address[0]):
            print(f"harbor_offline: refused {event} to {address}", file=sys.stderr, flush=True)
            raise PermissionError(f"harbor_offline: no network for Harbor's process ({address})")
    elif event == "socket.getaddrinfo" and args[0] not in _LOCAL_NAMES and not _loopback(args[0]):
        print(f"harbor_offline: refused name lookup of {args[0]!r}", file=sys.stderr, flush=True)
        raise PermissionError(f"harbor_offline: no name lookups for Harbor's process ({args[0]!r})")


sys.addaudithook(_hook)
from harbor.cli.main import app  # noqa: E402

sys.argv[0] = "harbor"
sys.exit(app())
