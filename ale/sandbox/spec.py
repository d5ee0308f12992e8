"""Typed requests and results of the sandbox service (shared by the SDK, the HTTP API and the CLI).

Plain dataclasses, not pydantic models: importing pydantic and building these models' validators was
~150 ms, half of `ale sandbox run -- true` (docs/benchmarks.md, cli). SandboxSpec and NetworkPolicy
check their values in ``__post_init__`` and raise one ValueError starting with the field's name. The
HTTP service still validates request bodies with FastAPI: pydantic reads a dataclass's annotations
(types, and ``__pydantic_config__``) and then runs the same ``__post_init__``. The results
(ExecResult, SandboxInfo, ...) are built by the manager from checked parts and not re-checked; from
JSON (the remote client) their nested parts are turned back into these types.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$", re.I)


def parse_size(value: int | str) -> int:
    """'512m', '1g', '1.5GiB', 4096 -> bytes."""
    if isinstance(value, int):
        if value <= 0:
            raise ValueError(f"size must be positive, got {value}")
        return value
    m = _SIZE.match(str(value))
    if not m:
        raise ValueError(f"not a size: {value!r} (use e.g. 512m, 1g, 65536)")
    n = float(m.group(1)) * 1024 ** " kmgt".index(m.group(2).lower() or " ")
    if n < 1:
        raise ValueError(f"size must be positive, got {value!r}")
    return int(n)


# Capabilities a sandbox may keep (bit numbers from linux/capability.h). Anything that reaches past the
# sandbox's own namespaces (SYS_ADMIN, NET_ADMIN, SYS_PTRACE, SYS_MODULE, ...) is not offered.
CAPABILITIES = {"CHOWN": 0, "DAC_OVERRIDE": 1, "DAC_READ_SEARCH": 2, "FOWNER": 3, "FSETID": 4, "KILL": 5,
                "SETGID": 6, "SETUID": 7, "SETPCAP": 8, "NET_BIND_SERVICE": 10}
# What root normally has in a container, for image builds and Terminal-Bench tasks (useradd, chown, su).
TASK_CAPABILITIES = ["CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP",
                     "NET_BIND_SERVICE"]


def parse_user(user: str) -> tuple[int, int]:
    """'root' -> (0, 0); 'UID' -> (UID, UID); 'UID:GID' -> (UID, GID). Names are resolved at build time."""
    if user in ("root", "0", "0:0", ""):
        return 0, 0
    m = re.fullmatch(r"(\d+)(?::(\d+))?", user)
    if not m or int(m.group(1)) > 65535 or int(m.group(2) or 0) > 65535:
        raise ValueError(f"user must be 'root' or UID[:GID] (0..65535), not {user!r}")
    return int(m.group(1)), int(m.group(2) or m.group(1))


def _expect(name: str, value: Any, types: type | tuple[type, ...], what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, types):
        raise ValueError(f"{name}: expected {what}, got {value!r}")


def _text(name: str, value: Any, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    _expect(name, value, str, "text")
    try:
        value.encode()
    except UnicodeEncodeError:
        raise ValueError(f"{name}: not valid UTF-8 text (a lone surrogate?)") from None


def _text_map(name: str, value: Any) -> None:
    _expect(name, value, dict, "a mapping of text to text")
    for k, v in value.items():
        _text(name, k)
        _text(f"{name} {k}", v)


@dataclass
class NetworkPolicy:
    """`none`: a private network namespace with loopback only (the default). `egress`: that namespace
    plus user-mode networking (slirp4netns): the sandbox reaches outside addresses through ordinary host
    sockets, but never the host itself (its loopback and its own addresses are rejected). `allowlist`:
    egress to the addresses `allow` (host names or IPs) resolve to at start, nothing else, no DNS.
    `host`: the host's network, only when asked for explicitly, and recorded in the sandbox's events."""

    __pydantic_config__ = {"extra": "forbid"}  # the HTTP API refuses unknown fields (a typo is not ignored)

    mode: Literal["none", "egress", "allowlist", "host"] = "none"
    allow: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.mode not in ("none", "egress", "allowlist", "host"):
            raise ValueError(f"network: unknown mode {self.mode!r} (none, egress, allowlist or host)")
        _expect("network allow", self.allow, list, "a list of host names")
        if self.mode == "allowlist" and not self.allow:
            raise ValueError("network: mode allowlist needs at least one allowed host")
        if self.mode != "allowlist" and self.allow:
            raise ValueError(f"network: allowed hosts need network mode allowlist, not {self.mode}")
        for h in self.allow:
            if not isinstance(h, str) or not re.fullmatch(r"[A-Za-z0-9.:_-]{1,253}", h):
                raise ValueError(f"network: not a host name or IP address: {h!r}")


def harbor_network(*, network_mode: str | None = None, allow_internet: bool | None = None,
                   allowed_hosts: list[str] | None = None) -> NetworkPolicy:
    """A Terminal-Bench/Harbor task's network setting as a NetworkPolicy: schema 1.1's `network_mode`
    (public / no-network / allowlist + allowed_hosts) wins over the older `allow_internet` (true /
    false); neither given: no network. Map each of agent, verifier and image build separately."""
    if network_mode is not None:
        modes = {"public": "egress", "no-network": "none", "none": "none", "allowlist": "allowlist"}
        if network_mode not in modes:
            raise ValueError(f"unknown network_mode {network_mode!r} (public, no-network or allowlist)")
        mode = modes[network_mode]
        return NetworkPolicy(mode=mode, allow=list(allowed_hosts or []) if mode == "allowlist" else [])
    if allowed_hosts:
        return NetworkPolicy(mode="allowlist", allow=list(allowed_hosts))
    return NetworkPolicy(mode="egress" if allow_internet else "none")


MIN_MEMORY, MIN_DISK, MAX_SIZE = 8 << 20, 1 << 20, 1 << 50  # below 8 MiB not even bash starts


def _spec_bounds(schema: dict[str, Any]) -> None:
    """SandboxSpec's numeric bounds in the OpenAPI document (pydantic sees only the types; the service
    checks them in __post_init__)."""
    props = schema["properties"]
    props["cpus"].update(minimum=0.01, maximum=256)
    props["pids"].update(minimum=8, maximum=1_000_000)


@dataclass
class SandboxSpec:
    """What a sandbox gets. Sizes are given as 512m, 1g, ... or bytes and kept as bytes; `network` also
    takes a mode's name ("none", "host", ...). A bad value raises ValueError("FIELD: ..."); an unknown
    field is a TypeError here (Python's own for a bad keyword) and a 422 in the HTTP API."""

    __pydantic_config__ = {"extra": "forbid", "json_schema_extra": _spec_bounds}

    image: str = "base"
    cpus: float = 1.0  # 0.01 .. 256: the kernel's smallest CPU quota is 1% of a period
    memory: int | str = "1g"
    pids: int = 512  # 8 .. 1,000,000
    disk: int | str = "1g"
    network: NetworkPolicy | Literal["none", "egress", "allowlist", "host"] = "none"  # kept as a NetworkPolicy
    env: dict[str, str] = field(default_factory=dict)
    workdir: str | None = None  # default: the image's WORKDIR, else /workspace
    hostname: str = "sandbox"
    idle_ttl: float | None = 1800.0  # seconds without any call before it is removed (> 0)
    hard_ttl: float | None = None  # seconds after creation before it is removed (> 0)
    labels: dict[str, str] = field(default_factory=dict)
    # Every capability is dropped by default. Names listed here (e.g. TASK_CAPABILITIES) are kept, and
    # act only inside the sandbox's own user namespace (its files, its processes).
    capabilities: list[str] = field(default_factory=list)
    user: str | None = None  # "root" or "UID[:GID]" inside the sandbox; default: the image's USER

    def __post_init__(self) -> None:
        _text("image", self.image)
        _expect("cpus", self.cpus, (int, float), "a number")
        if not 0.01 <= self.cpus <= 256:
            raise ValueError(f"cpus: must be between 0.01 and 256, got {self.cpus:g}")
        self.cpus = float(self.cpus)
        for name, low in (("memory", MIN_MEMORY), ("disk", MIN_DISK)):
            value = getattr(self, name)
            _expect(name, value, (int, str), "a size (512m, 1g, bytes)")
            try:
                n = parse_size(value)
            except ValueError as e:
                raise ValueError(f"{name}: {e}") from None
            if not low <= n <= MAX_SIZE:
                raise ValueError(f"{name}: must be between {low} and {MAX_SIZE} bytes, got {n}")
            setattr(self, name, n)
        _expect("pids", self.pids, int, "a whole number")
        if not 8 <= self.pids <= 1_000_000:
            raise ValueError(f"pids: must be between 8 and 1000000, got {self.pids}")
        if isinstance(self.network, str):
            self.network = NetworkPolicy(mode=self.network)
        elif isinstance(self.network, dict):  # from JSON
            self.network = NetworkPolicy(**self.network)
        _expect("network", self.network, NetworkPolicy, "a NetworkPolicy or a mode's name")
        _text_map("env", self.env)
        for k, val in self.env.items():
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", k) or "\0" in val:
                raise ValueError(f"env: invalid environment variable {k!r}")
        _text("workdir", self.workdir, optional=True)
        if self.workdir is not None and not self.workdir.startswith("/"):
            raise ValueError(f"workdir: must be an absolute path, got {self.workdir!r}")
        if self.workdir is not None and (len(self.workdir) > 1000 or "\0" in self.workdir):
            raise ValueError("workdir: must be at most 1000 characters, without NUL")
        _expect("hostname", self.hostname, str, "text")
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9.-]{0,62}", self.hostname):
            raise ValueError(f"hostname: not a valid host name: {self.hostname!r}")
        for name in ("idle_ttl", "hard_ttl"):
            value = getattr(self, name)
            if value is not None:
                _expect(name, value, (int, float), "a number of seconds or None")
                if not value > 0:
                    raise ValueError(f"{name}: must be greater than 0, got {value:g}")
                setattr(self, name, float(value))
        _text_map("labels", self.labels)
        _expect("capabilities", self.capabilities, list, "a list of capability names")
        caps = set()
        for name in self.capabilities:
            n = name.upper().removeprefix("CAP_") if isinstance(name, str) else name
            if n not in CAPABILITIES:
                raise ValueError(f"capabilities: unknown or not allowed capability {name!r} "
                                 f"(allowed: {', '.join(CAPABILITIES)})")
            caps.add(n)
        self.capabilities = sorted(caps)
        _text("user", self.user, optional=True)
        if self.user is not None:
            parse_user(self.user)  # its message starts "user must be"


@dataclass
class GuardAction:
    """What the guard did to a sandbox, attached to the response of the call that triggered it."""

    kind: str  # the event kind that triggered it, e.g. "pids_limit", "oom_kill", "cpu_budget"
    action: Literal["record", "stop", "stop_and_reset"]
    reason: str


def _guard(value: GuardAction | dict | None) -> GuardAction | None:
    return GuardAction(**value) if isinstance(value, dict) else value


@dataclass
class ExecResult:
    """What one command returned (Sandbox.exec, POST /v1/sandbox/execute)."""

    exit_code: int  # -1 when killed by the guard or the sandbox died; 124 on timeout; 128+N on signal N
    stdout: str  # decoded UTF-8 with replacement characters; see binary / *_b64
    stderr: str
    timed_out: bool = False
    truncated: bool = False  # head and tail kept; the whole output is in output_path
    output_path: str | None = None  # path inside the sandbox of the full stdout, when truncated
    stderr_path: str | None = None  # likewise for stderr
    binary: bool = False  # output was not valid UTF-8 (ask for encoding='base64' to get the bytes)
    stdout_b64: str | None = None
    stderr_b64: str | None = None
    duration_s: float = 0.0
    guard: GuardAction | None = None

    def __post_init__(self) -> None:
        self.guard = _guard(self.guard)


SessionStatus = Literal[
    "completed", "timeout", "idle_timeout", "waiting_for_input", "incomplete_input", "interrupted", "closed"
]


@dataclass
class SessionResult:
    """What one command in a persistent bash session returned (Session.run)."""

    output: str  # stdout and stderr interleaved, as a terminal shows them
    exit_code: int | None  # None when the command did not finish
    status: SessionStatus
    truncated: bool = False
    output_path: str | None = None
    duration_s: float = 0.0
    guard: GuardAction | None = None

    def __post_init__(self) -> None:
        self.guard = _guard(self.guard)


@dataclass
class SandboxInfo:
    """A sandbox as the service reports it: its state, spec, times and usage counters."""

    id: str
    state: Literal["starting", "running", "stopped", "deleted"]
    image: str
    spec: SandboxSpec
    created_at: float
    last_used_at: float
    node: str | None = None
    stop_reason: str | None = None
    usage: dict[str, Any] = field(default_factory=dict)
    snapshot: str | None = None  # the snapshot it was forked from (Sandbox.fork)

    def __post_init__(self) -> None:
        if isinstance(self.spec, dict):  # from JSON
            self.spec = SandboxSpec(**self.spec)


@dataclass
class FileEntry:
    """One entry of a directory listing inside a sandbox (Sandbox.list_files)."""

    name: str
    type: Literal["file", "dir", "symlink", "other"]
    size: int
    mode: int
    mtime: float


class SandboxError(Exception):
    """Base error; `status` is the HTTP status the service answers with."""

    status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotFound(SandboxError):
    status = 404


class Conflict(SandboxError):
    status = 409


class OverCapacity(SandboxError):
    status = 429


class Unavailable(SandboxError):
    status = 503
