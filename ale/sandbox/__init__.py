"""ALE sandbox: isolated Linux environments (namespaces, overlayfs, cgroups, seccomp) as a service.

Public face:
    SandboxClient / AsyncSandboxClient   embedded (in-process) or remote (HTTP), same interface
    SandboxSpec, ExecResult, SessionResult, SandboxInfo, GuardAction, FileEntry
    SandboxManager                        the engine (used by the service and the embedded client)
"""

from .spec import (CAPABILITIES, TASK_CAPABILITIES, Conflict, ExecResult, FileEntry, GuardAction, NetworkPolicy, NotFound, OverCapacity, SandboxError,
                   SandboxInfo, SandboxSpec, SessionResult, Unavailable, parse_size)

__all__ = ["CAPABILITIES", "TASK_CAPABILITIES", "Conflict", "ExecResult", "FileEntry", "GuardAction", "NetworkPolicy", "NotFound", "OverCapacity",
           "SandboxError", "SandboxInfo", "SandboxSpec", "SessionResult", "Unavailable", "parse_size",
           "SandboxManager", "SandboxClient", "AsyncSandboxClient", "Sandbox", "Session"]


def __getattr__(name):  # keep `import ale.sandbox` light: the engine and clients load on first use
    if name == "SandboxManager":
        from .manager import SandboxManager
        return SandboxManager
    if name in ("SandboxClient", "AsyncSandboxClient", "Sandbox", "Session", "AsyncSandbox", "AsyncSession"):
        from . import client
        return getattr(client, name)
    raise AttributeError(name)
