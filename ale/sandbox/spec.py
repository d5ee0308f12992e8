"""Typed requests and results of the sandbox service (shared by the SDK, the HTTP API and the CLI)."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel as _PydanticModel, ConfigDict, Field, field_validator, model_validator


class BaseModel(_PydanticModel):
    # schemas are built on first use, not at import: `ale sandbox run` needs few of these models
    model_config = ConfigDict(defer_build=True)


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


class NetworkPolicy(BaseModel):
    """`none`: a private network namespace with loopback only (the default). `egress`: that namespace
    plus user-mode networking (slirp4netns): the sandbox reaches outside addresses through ordinary host
    sockets, but never the host itself (its loopback and its own addresses are rejected). `allowlist`:
    egress to the addresses `allow` (host names or IPs) resolve to at start, nothing else, no DNS.
    `host`: the host's network, only when asked for explicitly, and recorded in the sandbox's events."""

    mode: Literal["none", "egress", "allowlist", "host"] = "none"
    allow: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _allow_only_for_allowlist(self) -> NetworkPolicy:
        if self.mode == "allowlist" and not self.allow:
            raise ValueError("network mode allowlist needs at least one allowed host")
        if self.mode != "allowlist" and self.allow:
            raise ValueError(f"allowed hosts need network mode allowlist, not {self.mode}")
        for h in self.allow:
            if not re.fullmatch(r"[A-Za-z0-9.:_-]{1,253}", h):
                raise ValueError(f"not a host name or IP address: {h!r}")
        return self


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


def _encodable(v: str, what: str) -> str:
    try:
        v.encode()
    except UnicodeEncodeError:
        raise ValueError(f"{what} is not valid UTF-8 text (a lone surrogate?)") from None
    return v


class SandboxSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True, defer_build=True)

    image: str = "base"
    cpus: float = Field(1.0, ge=0.01, le=256)  # the kernel's smallest CPU quota is 1% of a period
    memory: int | str = "1g"
    pids: int = Field(512, ge=8, le=1_000_000)
    disk: int | str = "1g"
    network: NetworkPolicy = Field(default_factory=NetworkPolicy)  # also accepts "none" / "host"
    env: dict[str, str] = Field(default_factory=dict)
    workdir: str | None = None  # default: the image's WORKDIR, else /workspace
    hostname: str = "sandbox"
    idle_ttl: float | None = Field(1800.0, gt=0)  # seconds without any call before it is removed
    hard_ttl: float | None = Field(None, gt=0)  # seconds after creation before it is removed
    labels: dict[str, str] = Field(default_factory=dict)
    # Every capability is dropped by default. Names listed here (e.g. TASK_CAPABILITIES) are kept, and
    # act only inside the sandbox's own user namespace (its files, its processes).
    capabilities: list[str] = Field(default_factory=list)
    user: str | None = None  # "root" or "UID[:GID]" inside the sandbox; default: the image's USER

    @field_validator("user")
    @classmethod
    def _user(cls, v: str | None) -> str | None:
        if v is not None:
            parse_user(v)
        return v

    @field_validator("capabilities")
    @classmethod
    def _caps(cls, v: list[str]) -> list[str]:
        out = []
        for name in v:
            n = name.upper().removeprefix("CAP_")
            if n not in CAPABILITIES:
                raise ValueError(f"unknown or not allowed capability {name!r} (allowed: {', '.join(CAPABILITIES)})")
            out.append(n)
        return sorted(set(out))

    @field_validator("memory", "disk")
    @classmethod
    def _size(cls, v: int | str, info) -> int:
        n = parse_size(v)
        low = MIN_MEMORY if info.field_name == "memory" else MIN_DISK
        if not low <= n <= MAX_SIZE:
            raise ValueError(f"{info.field_name} must be between {low} and {MAX_SIZE} bytes, got {n}")
        return n

    @field_validator("image", "labels", "user")
    @classmethod
    def _text(cls, v: Any, info) -> Any:
        for s in ([v] if isinstance(v, str) else [*v.keys(), *v.values()] if isinstance(v, dict) else []):
            _encodable(s, info.field_name)
        return v

    @field_validator("network", mode="before")
    @classmethod
    def _net(cls, v: Any) -> Any:
        return {"mode": v} if isinstance(v, str) else v

    @field_validator("workdir")
    @classmethod
    def _abs(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith("/"):
            raise ValueError(f"workdir must be an absolute path, got {v!r}")
        if v is not None and (len(v) > 1000 or "\0" in v):
            raise ValueError("workdir must be at most 1000 characters, without NUL")
        return v if v is None else _encodable(v, "workdir")

    @field_validator("hostname")
    @classmethod
    def _host(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9.-]{0,62}", v):
            raise ValueError(f"invalid hostname {v!r}")
        return v

    @field_validator("env")
    @classmethod
    def _env(cls, v: dict[str, str]) -> dict[str, str]:
        for k, val in v.items():
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", k) or "\0" in val:
                raise ValueError(f"invalid environment variable {k!r}")
            _encodable(val, f"env {k}")
        return v


class GuardAction(BaseModel):
    """What the guard did to a sandbox, attached to the response of the call that triggered it."""

    kind: str  # the event kind that triggered it, e.g. "pids_limit", "oom_kill", "cpu_budget"
    action: Literal["record", "stop", "stop_and_reset"]
    reason: str


class ExecResult(BaseModel):
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


SessionStatus = Literal[
    "completed", "timeout", "idle_timeout", "waiting_for_input", "incomplete_input", "interrupted", "closed"
]


class SessionResult(BaseModel):
    output: str  # stdout and stderr interleaved, as a terminal shows them
    exit_code: int | None  # None when the command did not finish
    status: SessionStatus
    truncated: bool = False
    output_path: str | None = None
    duration_s: float = 0.0
    guard: GuardAction | None = None


class SandboxInfo(BaseModel):
    id: str
    state: Literal["starting", "running", "stopped", "deleted"]
    image: str
    spec: SandboxSpec
    created_at: float
    last_used_at: float
    node: str | None = None
    stop_reason: str | None = None
    usage: dict[str, Any] = Field(default_factory=dict)
    snapshot: str | None = None  # the snapshot it was forked from (Sandbox.fork)


class FileEntry(BaseModel):
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
