"""Small typed faces of the harness: what a Model and an Environment must provide.

Messages are plain OpenAI chat-format dicts (role, content, tool_calls, tool_call_id). An assistant
message produced by a backend that knows its token ids carries them under TOKEN_IDS_KEY so the next
prompt can splice them in verbatim (never re-tokenising sampled text); backends that talk to other
servers strip keys starting with "_" before sending.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

TOKEN_IDS_KEY = "_token_ids"


class ModelError(RuntimeError):
    """The backend failed (after its own retries)."""


class ContextLengthError(ModelError):
    """The prompt does not fit in the model's context window."""


@dataclass
class ModelReply:
    """One assistant turn. Token fields are None when the backend cannot give them."""

    message: dict[str, Any]  # OpenAI-format assistant message: content and/or tool_calls
    prompt_tokens: int = 0
    completion_tokens: int = 0
    prompt_ids: list[int] | None = None  # the full prompt the model saw
    response_ids: list[int] | None = None  # the sampled tokens
    logprobs: list[float] | None = None  # log mu(token) of each sampled token, same length as response_ids
    finish_reason: str | None = None
    raw: dict[str, Any] | None = None  # backend-specific extras (kept in the trajectory)


@runtime_checkable
class Model(Protocol):
    """Messages + tool schemas in, one assistant reply out. Stateless: a proxy can call it too."""

    name: str
    context_window: int  # token budget of this model
    supports_native_tools: bool  # True when `tools` can be passed as-is (OpenAI tools / chat template)

    def generate(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None) -> ModelReply: ...


@dataclass
class CommandResult:
    """Result of one bash command in a persistent session (mirrors the sandbox's SessionResult)."""

    output: str  # stdout and stderr interleaved
    exit_code: int | None
    status: str = "completed"  # completed|timeout|idle_timeout|waiting_for_input|incomplete_input|interrupted
    truncated: bool = False
    output_path: str | None = None  # full output, when the environment truncated it
    duration_s: float = 0.0
    guard: dict[str, Any] | None = None  # what the sandbox guard did, if it acted


@runtime_checkable
class Environment(Protocol):
    """Where tools act: a persistent bash session plus file access. Relative paths are under workdir."""

    workdir: str

    def run(self, command: str, timeout: float, idle_timeout: float | None = None) -> CommandResult: ...

    def read_file(self, path: str) -> str: ...

    def write_file(self, path: str, content: str) -> None:
        """Write (creating parent directories)."""
        ...

    def events(self) -> list[dict[str, Any]]: ...

    def close(self) -> None: ...


@dataclass
class ToolCall:
    name: str
    arguments: dict[str, Any]
    id: str | None = None  # set for native (OpenAI) tool calls; observations then go back as role "tool"
    raw: str = ""  # the text it was parsed from, for loop detection and the trajectory


@dataclass
class Observation:
    """What a tool returns to the model."""

    text: str
    error: bool = False
    finished: bool = False  # the finish/submit tool was called
    guard: dict[str, Any] | None = None
    exit_code: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
