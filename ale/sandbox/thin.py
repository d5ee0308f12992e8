"""`ale sandbox run --url URL` (or ALE_SANDBOX_URL): the run done by a running `ale sandbox serve`, as
`docker run` asks dockerd. The service is already warm (its imports, its first cgroup attach), so this
process only parses the options and makes three HTTP calls with the standard library (a socket and
json; no asyncio, httpx, pydantic, typer or rich): start, execute, delete.

Kept from the embedded run: the options, the exit code (124 on timeout, 137 or the code after a guard
stop), stdout and stderr as bytes to the right streams, the sandbox deleted after (also on Ctrl-C: 130,
and on errors), one line for every error (exit 125). Dropped: streaming. The service has no streaming
exec route, so the output comes when the command ends, up to 64 MiB per stream (the service's cap; more
is cut, head and tail kept, and said). A client killed outright cannot delete its sandbox: the sandbox's
hard TTL (the timeout + 60 s) has the service remove it.
"""
from __future__ import annotations

import json
import os
import socket
import sys

MAX_OUTPUT = 64 << 20  # the most the service returns of one stream (ExecReq.max_output)


class Failed(Exception):
    """One line for the user."""


class Service:
    """One keep-alive HTTP/1.1 connection to the service; ``call`` is one JSON route. A few lines over a
    socket rather than http.client, whose import (the email parser, ssl) was ~25 ms of a ~100 ms run."""

    def __init__(self, url: str, token: str | None, timeout: float):
        scheme, sep, rest = url.partition("://")
        netloc = rest.split("/", 1)[0]
        host, colon, port = netloc.rpartition(":")
        if not colon or not port.isdigit():
            host, port = netloc, "443" if scheme == "https" else "80"
        if not sep or scheme not in ("http", "https") or not host:
            raise Failed(f"--url wants http(s)://HOST:PORT, got {url!r}")
        self.url, self.address, self.https, self.timeout = url, (host.strip("[]"), int(port)), scheme == "https", timeout
        self.head = f"Host: {netloc}\r\nContent-Type: application/json\r\n" + (
            f"Authorization: Bearer {token}\r\n" if token else "")
        self.sock: socket.socket | None = None

    def call(self, verb: str, body: dict) -> dict:
        try:
            status, data = self._post(f"/v1/sandbox/{verb}", json.dumps(body).encode())
        except OSError as e:
            self.close()
            raise Failed(f"cannot reach {self.url}: {e.strerror or e}") from None
        except ValueError:  # a status line or chunk size that is not a number
            self.close()
            raise Failed(f"{self.url} did not answer as an ALE sandbox service (malformed HTTP)") from None
        except BaseException:  # Ctrl-C: the service cancels a call whose client went away
            self.close()
            raise
        try:
            answer = json.loads(data)
        except ValueError:
            answer = None
        if status != 200:
            message = answer.get("message") if isinstance(answer, dict) else None
            raise Failed(f"{self.url}: {message or f'HTTP {status}'}")
        return answer

    def _post(self, path: str, body: bytes) -> tuple[int, bytes]:
        if self.sock is None:
            self.sock = socket.create_connection(self.address, timeout=self.timeout)
            if self.https:
                import ssl

                self.sock = ssl.create_default_context().wrap_socket(self.sock, server_hostname=self.address[0])
            self.reader = self.sock.makefile("rb")
        self.sock.sendall(f"POST {path} HTTP/1.1\r\n{self.head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
        status = self.reader.readline().split(None, 2)
        if len(status) < 2 or not status[1].isdigit():
            raise OSError(0, "the connection closed without an HTTP answer")
        headers = {}
        while (line := self.reader.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip().lower()
        if headers.get("transfer-encoding") == "chunked":  # a big result (over 1 MiB of output) is streamed
            data = b""
            while size := int(self.reader.readline().split(b";")[0], 16):
                data += self._read(size)
                self.reader.readline()
            while self.reader.readline() not in (b"\r\n", b"\n", b""):  # trailers
                pass
        else:
            data = self._read(int(headers.get("content-length", "0")))
        if headers.get("connection") == "close":
            self.close()
        return int(status[1]), data

    def _read(self, n: int) -> bytes:
        data = self.reader.read(n)
        if len(data) < n:
            raise OSError(0, "the connection closed in the middle of an answer")
        return data

    def close(self) -> None:
        if self.sock is not None:
            self.reader.close()
            self.sock.close()
            self.sock = None


def token_from(token_file: str | None) -> str | None:
    if token_file is None:
        return os.environ.get("ALE_SANDBOX_TOKEN", "").strip() or None
    try:
        with open(token_file) as f:
            return f.read().strip()
    except OSError as e:
        raise Failed(f"cannot read the token file {token_file}: {e.strerror}") from None


def run_remote(url: str, token_file: str | None, fields: dict, command: list[str], timeout: float) -> int:
    """Run `command` in a fresh sandbox of the service at `url` (`fields`: SandboxSpec's, unchecked here:
    the service checks them); the command's exit code, 125 when it could not be run."""
    sid = None
    svc = None
    try:
        svc = Service(url, token_from(token_file), timeout + 60)
        spec = {**fields, "hard_ttl": timeout + 60}
        sid = svc.call("start", spec)["id"]
        r = svc.call("execute", {"sandbox_id": sid, "command": command, "timeout": timeout,
                                 "max_output": MAX_OUTPUT, "encoding": "base64"})
        _write(sys.stdout, r["stdout_b64"])
        _write(sys.stderr, r["stderr_b64"])
        code = r["exit_code"]
        guard = r.get("guard")
        if r.get("truncated"):
            _say(f"output over {MAX_OUTPUT >> 20} MiB per stream was cut (head and tail kept)")
        if guard and guard.get("action") != "record":
            _say(f"stopped by the guard ({guard.get('action')}): {guard.get('reason')}")
            return code if code > 0 else 137
        if r.get("timed_out"):
            _say(f"timed out after {timeout:g}s")
        return code if code >= 0 else 137
    except Failed as e:
        _say(f"error: {e}")
        return 125
    except KeyboardInterrupt:
        return 130
    finally:
        if sid is not None:
            try:
                svc.call("delete", {"sandbox_id": sid})
            except Failed as e:
                _say(f"error: could not delete sandbox {sid}: {e}")
            except KeyboardInterrupt:  # a second Ctrl-C: its hard TTL removes it
                pass
        if svc is not None:
            svc.close()


def _write(stream, b64: str | None) -> None:
    if b64:
        import base64

        stream.flush()
        stream.buffer.write(base64.b64decode(b64))
        stream.buffer.flush()


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
