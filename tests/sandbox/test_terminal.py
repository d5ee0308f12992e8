"""Terminals (Manager.open_terminal, what `ale sandbox shell` and the service's websocket relay): a process on
a pty of the sandbox's own devpts; output a reader does not take is bounded; closing hangs up (SIGHUP, then SIGKILL).
(The CLI and websocket sides: tests/sandbox/test_sandbox_cli.py, test_service.py.)"""
import asyncio
import re

from ale.sandbox import SandboxSpec
from ale.sandbox.manager import SandboxManager
from ale.sandbox.session import Terminal


def with_sandbox(body):
    async def go():
        m = SandboxManager()
        await m.start()
        try:
            info = await m.create(SandboxSpec(memory="256m"))
            return await body(m, info.id)
        finally:
            await m.close()
    return asyncio.run(go())


async def read_all(term) -> bytes:
    out = b""
    while data := await term.read():
        out += data
    return out


def test_output_not_read_is_bounded_and_the_reader_told(monkeypatch):
    monkeypatch.setattr(Terminal, "MAX_PENDING", 64 << 10)
    total = 1 << 20

    async def body(m, sid):
        term = await m.open_terminal(sid, ["sh", "-c", f"head -c {total} /dev/zero | tr '\\0' a"])
        code = await term.wait()  # nobody reads meanwhile
        return code, await read_all(term)

    code, out = with_sandbox(body)
    notes = re.findall(rb"\[ale: (\d+) bytes of output dropped: not read in time\]", out)
    assert code == 0 and len(notes) == 1
    kept = re.sub(rb"\r\n\[ale: [^]]*\]\r\n", b"", out).count(b"a")
    assert kept < 128 << 10 and kept + int(notes[0]) == total  # every byte either delivered or counted


def test_close_hangs_up_the_shell_and_its_jobs():
    count = ["sh", "-c", "ps -eo comm | grep -c '^sleep$' || true"]

    async def body(m, sid):
        # an interactive bash: its job `sleep` runs in a process group of its own
        term = await m.open_terminal(sid, ["bash", "--norc", "-i"])
        await term.write(b"sleep 300 & echo started-$((1+1))\r")
        out = b""
        while b"started-2" not in out:
            out += await term.read()
        assert (await m.execute(sid, count, timeout=30)).stdout.strip() == "1"
        await term.close()
        for _ in range(50):  # bash passes the hang-up on to its job; under load that takes a moment
            left = await m.execute(sid, count, timeout=30)
            if left.stdout.strip() == "0":
                break
            await asyncio.sleep(0.2)
        # a program that ignores the hang-up is killed
        stubborn = await m.open_terminal(sid, ["sh", "-c", "trap '' HUP; echo ready; sleep 300"])
        assert b"ready" in await stubborn.read()
        await stubborn.close()
        await read_all(term)  # what it printed before the hang-up, then the end, for good
        return await term.wait(), await term.read(), left.stdout.strip(), await stubborn.wait()

    code, rest, sleeping, stubborn = with_sandbox(body)
    assert code == 128 + 1 and rest == b"" and sleeping == "0"  # SIGHUP, passed on to the job
    assert stubborn == 128 + 9


def test_the_first_window_size_is_the_one_asked_for():
    # the size travels with the spawn: a program that asks at once (here 20 of them) never sees another one
    async def body(m, sid):
        sizes = []
        for i in range(20):
            term = await m.open_terminal(sid, ["stty", "size"], rows=7 + i, cols=33)
            sizes.append((await read_all(term)).strip())
        return sizes

    assert with_sandbox(body) == [f"{7 + i} 33".encode() for i in range(20)]
