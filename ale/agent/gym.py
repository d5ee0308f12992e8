"""Gym-style environment over a task and a sandbox, for trainers that want reset/step/close.

`reset(task, seed) -> observation` starts a fresh sandbox (the task's image for an ale.bench Task) and
returns the task text; `step(action) -> observation, reward, terminated, truncated, info` runs one tool
call (the harness's tools, same observations as the Agent loop) or one bash command. Reward is sparse:
0.0 on every step, and the grade when the episode ends (finish/submit -> terminated; max_steps ->
truncated; both are graded, since the sandbox state is what is scored). A guard stop terminates with
reward 0. Grading: `ale.bench.task.grade` for a Task (tests are uploaded only then), or `reward_fn(env)`
for anything else; with neither, reward stays 0.0 and info["graded"] is False.
Kept from gymnasium: the 5-tuple and the reset/step/close names. Dropped: spaces (observations are text).
"""
from __future__ import annotations

import json
from typing import Any, Callable

from ale.agent.context import head_tail
from ale.agent.environment import SandboxEnvironment
from ale.agent.protocols import ToolCall
from ale.agent.tools import TOOLS, ToolContext, run_tool


def to_tool_call(action: Any) -> ToolCall:
    """A ToolCall; a str is a bash command; a dict is {"name", "arguments"} or an OpenAI tool call."""
    if isinstance(action, ToolCall):
        return action
    if isinstance(action, str):
        return ToolCall("bash", {"command": action}, raw=action)
    if isinstance(action, dict):
        fn = action.get("function", action)
        args = fn.get("arguments", {})
        if isinstance(args, str):
            try:
                args = json.loads(args) if args else {}
            except json.JSONDecodeError as e:
                raise ValueError(f"action arguments are not JSON: {e.msg}") from e
        if isinstance(fn.get("name"), str):
            return ToolCall(fn["name"], args, id=action.get("id"), raw=json.dumps(fn, sort_keys=True, default=str))
    raise ValueError(f"an action is a bash command (str), a ToolCall, or {{'name', 'arguments'}}; got {action!r}")


class SandboxGymEnv:
    def __init__(self, client: Any = None, image: str = "base", workdir: str | None = "/workspace",
                 reward_fn: Callable[[SandboxEnvironment], float] | None = None, max_steps: int = 50,
                 command_timeout_s: float = 120.0, idle_timeout_s: float | None = 60.0,
                 max_observation_chars: int = 10_000, memory: str = "1g", network: str = "none", **spec_kw: Any):
        """client: a sync ale.sandbox.SandboxClient (an embedded one is made, and closed by close(), if None).
        spec_kw: more ale.sandbox.SandboxSpec fields (pids, cpus, disk, ...).
        Grading an ale.bench Task needs an embedded client (the grader talks to the sandbox manager)."""
        from ale.sandbox import SandboxClient

        self._own_client = client is None
        self.client = client or SandboxClient()
        self.image, self.workdir, self.reward_fn, self.max_steps = image, workdir, reward_fn, max_steps
        self.command_timeout_s, self.idle_timeout_s = command_timeout_s, idle_timeout_s
        self.max_observation_chars = max_observation_chars
        self.spec_kw = {"memory": memory, "network": network, **spec_kw}
        self.env: SandboxEnvironment | None = None
        self.task: Any = None
        self.steps = 0
        self.done = True
        self.seed: int | None = None

    # --- plumbing for ale.bench Tasks: the grader and image builder are async and use the manager ---
    def _manager_call(self, coro_fn: Callable[[Any], Any]) -> Any:
        return self.client.run_with_manager(coro_fn)

    def reset(self, task: Any, seed: int | None = None) -> str:
        """Start a fresh sandbox for `task` (text, or an ale.bench.task.Task); returns the task text."""
        from ale.sandbox import TASK_CAPABILITIES, SandboxSpec

        self._drop_sandbox()
        image, text, spec_kw = self.image, task, dict(self.spec_kw)
        if not isinstance(task, str):
            from ale.bench.task import Task, ensure_image

            if not isinstance(task, Task):
                raise ValueError(f"task must be a str or an ale.bench.task.Task, got {type(task).__name__}")
            image = self._manager_call(lambda m: ensure_image(m, task))
            text = task.instruction
            # Terminal-Bench tasks expect root with a container's usual capabilities (useradd, chown)
            spec_kw.setdefault("capabilities", TASK_CAPABILITIES)
        sb = self.client.create(SandboxSpec(image=image, **spec_kw))
        try:
            if self.workdir:
                sb.exec(f"mkdir -p '{self.workdir}'", timeout=30)
            self.env = SandboxEnvironment(sb, workdir=self.workdir, owns_sandbox=True)
        except BaseException:
            sb.delete()
            raise
        self.ctx = ToolContext(self.env, self.command_timeout_s, self.idle_timeout_s)
        self.task, self.seed, self.steps, self.done = task, seed, 0, False
        return text

    def step(self, action: Any) -> tuple[str, float, bool, bool, dict[str, Any]]:
        if self.env is None or self.done:
            raise RuntimeError("call reset() before step() (and again after an episode ends)")
        call = to_tool_call(action)
        obs = run_tool(call, self.ctx, TOOLS)
        self.steps += 1
        text = obs.text
        if len(text) > self.max_observation_chars:
            text = head_tail(text, self.max_observation_chars, obs.extra.get("output_path"))
        info: dict[str, Any] = {"step": self.steps, "tool": call.name, "error": obs.error,
                                "exit_code": obs.exit_code, "seed": self.seed, **obs.extra}
        stopped = bool(obs.guard) and str(obs.guard.get("action", "stop")) not in ("record", "none")
        terminated = obs.finished or stopped
        truncated = not terminated and self.steps >= self.max_steps
        reward = 0.0
        if stopped:
            info["guard"] = obs.guard
            info["graded"] = False
        elif terminated or truncated:
            reward, info["graded"], grade = self._grade()
            if grade is not None:
                info["grade"] = grade
        self.done = terminated or truncated
        return text, reward, terminated, truncated, info

    def _grade(self) -> tuple[float, bool, dict[str, Any] | None]:
        if self.reward_fn is not None:
            return float(self.reward_fn(self.env)), True, None
        if self.task is not None and not isinstance(self.task, str):
            from dataclasses import asdict

            from ale.bench.task import grade

            sandbox_id = self.env.sandbox.id
            g = self._manager_call(lambda m: grade(m, sandbox_id, self.task))
            return g.reward, True, asdict(g)
        return 0.0, False, None

    def _drop_sandbox(self) -> None:
        env, self.env = self.env, None
        if env is not None:
            env.close()

    def close(self) -> None:
        try:
            self._drop_sandbox()
        finally:
            if self._own_client:
                self.client.close()
