"""ALE sandbox: isolated Linux environments (namespaces, overlayfs, cgroups, seccomp) as a service.

Public face:
    SandboxClient / AsyncSandboxClient   embedded (in-process) or remote (HTTP), same interface
    SandboxSpec, ExecResult, SessionResult, SandboxInfo, GuardAction, FileEntry
    SandboxManager                        the engine (used by the service and the embedded client)
"""

_SPEC = {"CAPABILITIES", "TASK_CAPABILITIES", "Conflict", "ExecResult", "FileEntry", "GuardAction", "NetworkPolicy",
         "NotFound", "OverCapacity", "SandboxError", "SandboxInfo", "SandboxSpec", "SessionResult", "Unavailable",
         "parse_size"}
__all__ = [*sorted(_SPEC), "SandboxManager", "SandboxClient", "AsyncSandboxClient", "Sandbox", "Session"]


def __getattr__(name):
    # Everything loads on first use, the types too: `ale sandbox run --url` (ale/sandbox/thin.py) imports
    # none of them, and dataclasses (with inspect) alone was ~10 ms of its start-up.
    if name in _SPEC:
        from . import spec
        return getattr(spec, name)
    if name == "SandboxManager":
        from .manager import SandboxManager
        return SandboxManager
    if name in ("SandboxClient", "AsyncSandboxClient", "Sandbox", "Session", "AsyncSandbox", "AsyncSession"):
        from . import client
        return getattr(client, name)
    raise AttributeError(name)
