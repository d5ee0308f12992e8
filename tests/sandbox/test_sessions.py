"""Persistent bash sessions: state, timeouts, stalls, interrupts, background commands."""

import time


def test_state_persists(sb):
    s = sb.create_session()
    assert s.run("cd /tmp && export FOO=bar && f() { echo fn-$1; }").status == "completed"
    r = s.run("pwd; echo $FOO; f x")
    assert (r.status, r.exit_code, r.output) == ("completed", 0, "/tmp\nbar\nfn-x\n")
    assert s.run("false").exit_code == 1
    s.close()


def test_hard_timeout_interrupts_and_session_survives(sb):
    s = sb.create_session()
    r = s.run("echo before; sleep 30", timeout=1)
    assert r.status == "timeout" and r.exit_code is None and "before" in r.output
    assert s.run("echo after").output == "after\n"


def test_idle_timeout_is_separate(sb):
    s = sb.create_session()
    t = time.monotonic()
    r = s.run("echo tick; sleep 20", timeout=60, idle_timeout=1)
    assert r.status == "idle_timeout" and "tick" in r.output
    assert time.monotonic() - t < 10
    # a command that keeps printing is not idle
    r = s.run("for i in 1 2 3 4; do echo $i; sleep 0.4; done", timeout=60, idle_timeout=1)
    assert r.status == "completed" and r.output.split() == ["1", "2", "3", "4"]


def test_waiting_for_input_is_detected(sb):
    s = sb.create_session()
    r = s.run("echo -n 'Password: '; read pw", timeout=30)
    assert r.status == "waiting_for_input" and "Password:" in r.output
    r = s.run("python3 -c \"input('name? ')\"", timeout=30)
    assert r.status == "waiting_for_input" and "name?" in r.output
    assert s.run("echo still-usable").output == "still-usable\n"


def test_unfinished_heredoc_and_quote_do_not_hang(sb):
    s = sb.create_session()
    r = s.run("cat > /tmp/x <<EOF\nhello", timeout=30)
    assert r.status == "incomplete_input" and "here-document" in r.output
    assert s.run("test -e /tmp/x; echo $?").output == "1\n"  # nothing ran
    r = s.run("echo 'no end", timeout=30)
    assert r.status == "incomplete_input"
    assert s.run("cat <<EOF\nok\nEOF").output == "ok\n"


def test_interrupt_and_background(sb):
    s = sb.create_session()
    r = s.run("sleep 2 && echo done-bg", background=True)
    assert r.status == "completed" and "/tmp/ale-output/bg-" in r.output
    log = r.output.split("output: ")[1].strip()
    time.sleep(2.5)
    assert sb.read_file(log) == "done-bg\n"
    s.interrupt()  # nothing running: harmless
    assert s.run("echo ok").output == "ok\n"


def test_exit_closes_session(sb):
    s = sb.create_session()
    r = s.run("exit 3")
    assert r.status == "closed"
