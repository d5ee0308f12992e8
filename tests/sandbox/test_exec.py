"""One-shot exec semantics: exit codes, streams, cwd/env, timeouts, caps, binary output, stdin."""

import base64

from ale.sandbox import SandboxSpec


def test_streams_exit_code_cwd_env(sb):
    r = sb.exec("echo out; echo err >&2; pwd; echo $GREETING; exit 7", cwd="/tmp", env={"GREETING": "hi"})
    assert r.exit_code == 7
    assert r.stdout == "out\n/tmp\nhi\n"
    assert r.stderr == "err\n"
    assert not r.timed_out and not r.truncated


def test_argv_form_and_missing_program(sb):
    assert sb.exec(["printf", "%s|", "a b", "c"]).stdout == "a b|c|"
    r = sb.exec(["no-such-program"])
    assert r.exit_code == 127 and "no-such-program" in r.stderr


def test_timeout_kills_process_group_and_keeps_partial_output(sb):
    r = sb.exec("echo started; (sleep 30; echo child) & sleep 30; echo never", timeout=1)
    assert r.timed_out and r.exit_code == 124
    assert r.stdout == "started\n"
    # the backgrounded child was in the same process group: gone too
    assert "sleep 30" not in sb.exec("ps -eo args").stdout


def test_stdin_is_closed(sb):
    r = sb.exec("cat; echo rc=$?", timeout=5)
    assert not r.timed_out and r.stdout == "rc=0\n"


def test_huge_output_is_capped_and_saved(sb):
    r = sb.exec("seq 1 200000", max_output=10_000)
    assert r.truncated and r.output_path
    assert r.stdout.startswith("1\n2\n") and r.stdout.endswith("199999\n200000\n")
    assert "bytes omitted" in r.stdout and len(r.stdout) < 11_000
    full = sb.read_bytes(r.output_path)
    assert full == "".join(f"{i}\n" for i in range(1, 200001)).encode()


def test_binary_output_is_safe(sb):
    r = sb.exec(r"printf '\377\000\376ok'", encoding="base64")
    assert r.binary
    assert base64.b64decode(r.stdout_b64) == b"\xff\x00\xfeok"
    assert r.stdout.endswith("ok")  # text form never fails to decode


def test_identity_and_hostname(client):
    with client.create(SandboxSpec(hostname="box1")) as box:
        r = box.exec("id -u; hostname; cat /proc/self/status | grep -E '^(CapEff|NoNewPrivs|Seccomp):'")
        lines = r.stdout.split()
        assert lines[:2] == ["0", "box1"]
        assert "0000000000000000" in r.stdout and "NoNewPrivs:\t1" in r.stdout and "Seccomp:\t2" in r.stdout


def test_processes_start_with_default_signal_dispositions(tmp_path):
    """A service started under nohup or `cmd &` ignores SIGHUP/SIGINT; sandbox processes must not inherit that."""
    import subprocess
    import sys

    script = (
        "import signal\n"
        "for s in (signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGTERM, signal.SIGUSR1): signal.signal(s, signal.SIG_IGN)\n"
        "from ale.sandbox import SandboxClient, SandboxSpec\n"
        "with SandboxClient() as c:\n"
        "    box = c.create(SandboxSpec(memory='128m', pids=32))\n"
        "    try: print(box.exec(['grep', '-E', '^Sig(Ign|Blk)', '/proc/self/status']).stdout)\n"
        "    finally: box.delete()\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "SigIgn:\t0000000000000000" in out.stdout and "SigBlk:\t0000000000000000" in out.stdout, out.stdout
