"""The host is invisible and unreachable from inside a sandbox."""

import os
import socket
import subprocess
import threading

import pytest

from ale.sandbox import SandboxSpec


def test_host_paths_are_invisible(sb, tmp_path):
    marker = tmp_path / "host-marker"
    marker.write_text("x")
    r = sb.exec(f"ls {tmp_path} /work /root/.pyenv /var/lib/ale 2>&1; test -e {marker}; echo rc=$?")
    assert r.stdout.strip().endswith("rc=1")
    assert "host-marker" not in r.stdout and "layers" not in r.stdout


def test_host_files_untouched(sb, tmp_path):
    canary = tmp_path / "canary"
    canary.write_text("keep")
    sb.exec("rm -rf --no-preserve-root / 2>/dev/null; true", timeout=60)
    assert canary.read_text() == "keep"
    assert os.path.exists("/bin/sh")


def test_host_processes_invisible_and_unkillable(sb):
    p = subprocess.Popen(["sleep", "60"])
    try:
        r = sb.exec(f"ps -e -o pid,args; kill -9 {p.pid}; echo kill=$?")
        assert "sleep 60" not in r.stdout and "kill=1" in r.stdout
        assert p.poll() is None
        pids = [int(x.split()[0]) for x in r.stdout.splitlines()[1:] if x.split()[0].isdigit()]
        assert max(pids) < 50  # its own pid namespace
    finally:
        p.kill()


def _listener(host: str):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, 0))
    s.listen(8)
    s.settimeout(0.2)
    hits, stop = [], threading.Event()

    def accept():
        while not stop.is_set():
            try:
                c, _ = s.accept()
                hits.append(1)
                c.close()
            except OSError:
                pass
    t = threading.Thread(target=accept, daemon=True)
    t.start()
    return s, hits, stop


def _host_interface_addr() -> str | None:
    out = subprocess.run(["ip", "-o", "-4", "addr"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        addr = line.split()[3].split("/")[0]
        if not addr.startswith("127."):
            return addr
    return None


def test_no_route_and_host_ports_unreachable(sb):
    r = sb.exec("ip -o link | cut -d: -f2; ip route; ip -6 route")
    assert r.stdout.split() == ["lo"]  # loopback only, no route anywhere
    targets = ["127.0.0.1"] + ([a] if (a := _host_interface_addr()) else [])
    for host in targets:
        s, hits, stop = _listener(host)
        port = s.getsockname()[1]
        try:
            r = sb.exec(f"python3 -c \"import socket; s=socket.socket(); s.settimeout(2); "
                        f"print(s.connect_ex(('{host}', {port})))\"")
            assert r.stdout.strip() != "0" and not hits, host
        finally:
            stop.set()
            s.close()
    if targets[1:]:
        assert any(e["kind"] == "network_attempt" for e in sb.events())


def test_sandboxes_do_not_see_each_other(client):
    a = client.create(SandboxSpec())
    b = client.create(SandboxSpec())
    try:
        a.exec("echo secret-a > /workspace/s; python3 -m http.server 8000 >/dev/null 2>&1 &")
        r = b.exec("ls /workspace; pgrep -fc 'http[.]server'; "
                   "python3 -c \"import socket; print(socket.socket().connect_ex(('127.0.0.1', 8000)))\"")
        assert "secret-a" not in r.stdout and r.stdout.split()[-2] == "0" and r.stdout.split()[-1] != "0"
    finally:
        a.delete()
        b.delete()


@pytest.mark.parametrize("name", ["ptrace", "mount", "umount2", "unshare", "setns", "kexec_load", "init_module",
                                  "finit_module", "delete_module", "bpf", "perf_event_open", "keyctl", "reboot",
                                  "pivot_root", "swapon", "open_by_handle_at", "userfaultfd", "io_uring_setup"])
def test_denied_syscalls(sb, name):
    from ale.sandbox.seccomp import DENIED_SYSCALLS

    nr = DENIED_SYSCALLS[name]
    r = sb.exec(["python3", "-c", f"import ctypes; l=ctypes.CDLL(None, use_errno=True); "
                 f"print(l.syscall({nr}, 0, 0, 0, 0, 0), ctypes.get_errno())"])
    assert r.stdout.split() == ["-1", "1"], r  # EPERM
    ev = [e for e in sb.events() if e["kind"] == "denied_syscall"]
    assert ev and ev[-1]["syscall"] == name


def test_clone_with_new_namespace_is_denied(sb):
    r = sb.exec("unshare -U true; echo rc=$?; unshare -n true; echo rc=$?")
    assert r.stdout.split() == ["rc=1", "rc=1"]
    assert sum(e.get("syscall") in ("unshare", "clone (namespace flags)") for e in sb.events()) >= 2
