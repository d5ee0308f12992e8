"""Network egress for a sandbox that has its own network namespace: user-mode networking, no bridge.

`egress`: slirp4netns (Debian's, as rootless Podman uses it) is attached to the sandbox's namespace
with a tap device (10.0.2.100, gateway 10.0.2.2, DNS 10.0.2.3); it opens ordinary host sockets for
the sandbox's connections, so nothing on the host's network changes. The host itself stays out of
reach: slirp4netns runs with --disable-host-loopback (no 127.0.0.1 of the host through the
gateway), and an nftables rule inside the sandbox's namespace rejects every address of the host's own
interfaces, so services bound to the host (ALE's API included) are not reachable from the sandbox.
`allowlist`: the same, but the namespace's output chain accepts only the addresses the allowed
hosts resolve to when the sandbox starts (written to its /etc/hosts; DNS is not reachable), and
rejects everything else. The rules are installed by host root before any sandbox process runs, and
sandboxes never hold CAP_NET_ADMIN, so they cannot change them. Names whose addresses change later
(CDNs) keep the addresses of start time: honest but coarse, and said in docs/sandbox.md.
"""

from __future__ import annotations

import ipaddress
import json
import os
import select
import shutil
import socket
import subprocess
from dataclasses import dataclass

from .spec import NetworkPolicy, SandboxError

SLIRP_GATEWAY, SLIRP_DNS = "10.0.2.2", "10.0.2.3"


@dataclass
class Egress:
    """A running slirp4netns for one sandbox; close() ends it (so does this process's death: the exit fd closes)."""

    proc: subprocess.Popen
    exit_fd: int

    def close(self) -> None:
        if self.exit_fd >= 0:
            os.close(self.exit_fd)  # slirp4netns exits when its exit fd reads EOF
            self.exit_fd = -1
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def check_tools(policy: NetworkPolicy) -> None:
    missing = [t for t in ("slirp4netns", "nft", "nsenter") if not shutil.which(t)]
    if missing:
        raise SandboxError(f"network mode {policy.mode} needs {', '.join(missing)} (apt-get install slirp4netns "
                           "nftables util-linux)")


def resolve_allowed(hosts: list[str]) -> dict[str, list[str]]:
    """host -> its IPv4/IPv6 addresses now (IP literals as they are); an unresolvable name is an error."""
    out = {}
    for h in hosts:
        try:
            out[h] = [str(ipaddress.ip_address(h))]
            continue
        except ValueError:
            pass
        if os.environ.get("ALE_NO_DNS") == "1":  # the test suite: a fuzzed host name must not become a DNS query
            raise SandboxError(f"allowed host {h!r}: host names are not resolved here (ALE_NO_DNS=1); give an IP address")
        try:
            infos = socket.getaddrinfo(h, None, proto=socket.IPPROTO_TCP)
        except OSError as e:
            raise SandboxError(f"allowed host {h!r} does not resolve: {e.strerror or e}") from None
        out[h] = sorted({i[4][0] for i in infos})
    return out


def host_addresses() -> list[str]:
    """Every address on the host's own interfaces (the sandbox must not reach the host through any of them)."""
    r = subprocess.run(["ip", "-j", "addr"], capture_output=True, text=True)
    try:
        return sorted({a["local"] for link in json.loads(r.stdout or "[]") for a in link.get("addr_info", [])
                       if "local" in a})
    except (ValueError, KeyError, TypeError):
        raise SandboxError("cannot list the host's addresses (ip -j addr)") from None


def _nft_rules(blocked: list[str], allowed: list[str] | None) -> str:
    """An output filter for the sandbox's namespace: loopback always; then either only `allowed`, or
    everything but `blocked` (the host's own addresses and the gateway)."""
    def sets(addrs):
        v4 = [a for a in addrs if ipaddress.ip_address(a).version == 4]
        v6 = [a for a in addrs if ipaddress.ip_address(a).version == 6]
        return v4, v6

    lines = ["table inet ale {", " chain output {", "  type filter hook output priority 0; policy accept;",
             "  oif lo accept"]
    if allowed is not None:
        v4, v6 = sets(allowed)
        if v4:
            lines.append(f"  ip daddr {{ {', '.join(v4)} }} accept")
        if v6:
            lines.append(f"  ip6 daddr {{ {', '.join(v6)} }} accept")
        lines.append("  reject")  # fail fast (not a silent drop): the program sees 'connection refused'
    else:
        v4, v6 = sets(blocked)
        if v4:
            lines.append(f"  ip daddr {{ {', '.join(v4)} }} reject")
        if v6:
            lines.append(f"  ip6 daddr {{ {', '.join(v6)} }} reject")
    lines += [" }", "}"]
    return "\n".join(lines) + "\n"


def attach(init_pid: int, policy: NetworkPolicy, fs=None) -> Egress:
    """Give the network namespace of `init_pid` (a sandbox's PID 1) the egress `policy` asks for, before
    any of the sandbox's processes run. `fs` (the sandbox's SandboxFS) gets /etc/resolv.conf and, for
    an allow-list, /etc/hosts lines for the allowed names. Blocking: call it from a thread."""
    check_tools(policy)
    allowed = None
    if policy.mode == "allowlist":
        resolved = resolve_allowed(policy.allow)
        allowed = sorted({a for addrs in resolved.values() for a in addrs})
    rules = _nft_rules([*host_addresses(), SLIRP_GATEWAY], allowed)
    r = subprocess.run(["nsenter", f"--net=/proc/{init_pid}/ns/net", "nft", "-f", "-"], input=rules,
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise SandboxError(f"cannot install the sandbox's network rules: {r.stderr.strip()[:300]}")
    ready_r, ready_w = os.pipe()
    exit_r, exit_w = os.pipe()
    try:
        proc = subprocess.Popen(
            ["slirp4netns", "--configure", "--mtu=65520", "--disable-host-loopback", "--enable-sandbox",
             "--enable-seccomp", f"--ready-fd={ready_w}", f"--exit-fd={exit_r}", str(init_pid), "tap0"],
            pass_fds=(ready_w, exit_r), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)
    except OSError as e:
        for fd in (ready_r, ready_w, exit_r, exit_w):
            os.close(fd)
        raise SandboxError(f"cannot start slirp4netns: {e}") from None
    os.close(ready_w)
    os.close(exit_r)
    egress = Egress(proc, exit_w)
    try:
        ok, _, _ = select.select([ready_r], [], [], 10)
        if not ok or os.read(ready_r, 1) != b"1":
            egress.close()
            raise SandboxError(f"slirp4netns did not come up (exit code {proc.returncode})")
    finally:
        os.close(ready_r)
    if fs is not None:
        try:
            if allowed is None:
                fs.write("/etc/resolv.conf", f"nameserver {SLIRP_DNS}\n".encode())
            else:  # no DNS in an allow-list: the allowed names are in /etc/hosts
                fs.write("/etc/resolv.conf", b"# no DNS: allow-list network; see /etc/hosts\n")
                hosts = "".join(f"{a} {h}\n" for h, addrs in resolved.items() for a in addrs
                                if a != h)
                if hosts:
                    old = b""
                    try:
                        old = fs.read("/etc/hosts")
                    except SandboxError:
                        pass
                    fs.write("/etc/hosts", old + (b"" if old.endswith(b"\n") or not old else b"\n") + hosts.encode())
        except SandboxError as e:
            egress.close()
            raise SandboxError(f"cannot write the sandbox's resolver files: {e.message}") from None
    return egress
