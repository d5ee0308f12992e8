"""SandboxEnvironment: the harness's Environment over an ale.sandbox Sandbox.

bash runs in one persistent sandbox session (cwd, env and shell state persist between steps). A
command that did not complete (timeout, stall, waiting for input, unfinished heredoc) is interrupted
so the session is usable for the next step; the model is told what happened by the bash tool.
"""
from __future__ import annotations

import posixpath
import shlex
from dataclasses import asdict, is_dataclass
from typing import Any

from ale.agent.protocols import CommandResult


class SandboxEnvironment:
    def __init__(self, sandbox: Any, workdir: str | None = None, owns_sandbox: bool = False, session: Any = None):
        """session: a session of the sandbox to use for bash (e.g. one a fork carried over); default: a
        new one on the first command."""
        self.sandbox = sandbox
        self._owns = owns_sandbox
        self._own_client: Any = None  # an embedded client made by create(), closed with the environment
        self._session = session
        if workdir is None:
            r = sandbox.exec("pwd", timeout=30)
            workdir = r.stdout.strip() or "/"
        self.workdir = workdir

    @classmethod
    def create(cls, image: str = "base", network: str = "none", memory: str = "1g",
               workdir: str | None = None, client: Any = None) -> "SandboxEnvironment":
        """Create a fresh sandbox (in an embedded client unless one is given); deleted again on close()."""
        from ale.sandbox import SandboxClient, SandboxSpec

        own = client is None
        client = client or SandboxClient()
        try:
            sb = client.create(SandboxSpec(image=image, network=network, memory=memory))
            if workdir is not None:
                sb.exec(f"mkdir -p {shlex.quote(workdir)}", timeout=30)
            env = cls(sb, workdir=workdir, owns_sandbox=True)
        except BaseException:
            if own:
                client.close()
            raise
        env._own_client = client if own else None
        return env

    @property
    def session(self) -> Any:
        """The bash session in use (None before the first command)."""
        return self._session

    def _abs(self, path: str) -> str:
        return path if path.startswith("/") else posixpath.join(self.workdir, path)

    def run(self, command: str, timeout: float, idle_timeout: float | None = None) -> CommandResult:
        if self._session is None:
            self._session = self.sandbox.create_session(cwd=self.workdir)
        kwargs: dict[str, Any] = {"timeout": timeout}
        if idle_timeout is not None:
            kwargs["idle_timeout"] = idle_timeout
        r = self._session.run(command, **kwargs)
        guard = asdict(r.guard) if is_dataclass(r.guard) else r.guard  # GuardAction -> dict
        if r.status == "closed" or guard:  # the shell exited, or the guard stopped/reset the sandbox
            self._session = None
        elif r.status != "completed" and not guard:
            self._session.interrupt()
        return CommandResult(output=r.output, exit_code=r.exit_code, status=r.status, truncated=r.truncated,
                             output_path=r.output_path, duration_s=r.duration_s, guard=guard)

    def read_file(self, path: str) -> str:
        return self.sandbox.read_file(self._abs(path))

    def write_file(self, path: str, content: str) -> None:
        path = self._abs(path)
        # The sandbox's write_file is not documented to create parents; agents expect it to.
        self.sandbox.exec(f"mkdir -p {shlex.quote(posixpath.dirname(path))}", timeout=30)
        self.sandbox.write_file(path, content)

    def events(self) -> list[dict[str, Any]]:
        return list(self.sandbox.events())

    def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            try:
                session.close()
            except Exception:  # best effort: a reset or stopped sandbox has already dropped its sessions
                pass
        try:
            if self._owns:
                self.sandbox.delete()
        finally:
            if self._own_client is not None:
                self._own_client.close()
                self._own_client = None
