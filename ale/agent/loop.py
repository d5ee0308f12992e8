"""The agent loop (mini-swe-agent style): ask the model, run its tool calls, feed back observations.

Everything pluggable sits behind Model / Environment / tools; this file only sequences them and decides
when the episode ends. Every ending has a reason from END_REASONS.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable

from ale.agent import context
from ale.agent.parsing import FormatError, parse_tool_calls, text_tool_instructions
from ale.agent.protocols import TOKEN_IDS_KEY, ContextLengthError, Environment, Model, Observation, ToolCall
from ale.agent.tools import TOOLS, ToolContext, render_todo, run_tool
from ale.agent.trajectory import ModelTurn, Trajectory

END_REASONS = ("finished", "step_limit", "context_limit", "format_errors", "loop", "timeout", "guard_stop", "error",
               "interrupted")

DEFAULT_SYSTEM_PROMPT = (
    "You are a software engineering agent working in a Linux sandbox. Solve the task by calling tools: run "
    "commands, read and edit files, keep a short plan with the todo tool. Act one step at a time and check "
    "results. When the task is done, call finish with a short summary.")


@dataclass
class AgentConfig:
    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    max_steps: int = 50  # model turns
    max_tokens: int | None = None  # context budget; None: the model's context_window
    wall_time_s: float = 1800.0
    command_timeout_s: float = 120.0
    idle_timeout_s: float | None = 60.0
    max_format_errors: int = 3  # in a row
    max_observation_chars: int = 10_000
    compact_at: float = 0.8  # fraction of the budget
    keep_recent_turns: int = 2
    loop_remind_at: int = 3
    loop_end_at: int = 5
    loop_key: str = "action+observation"
    tool_format: str = "auto"  # native | text | auto (native when the model supports it)
    tools: tuple[str, ...] | None = None  # tool names; None: all
    notes_file: str | None = "AGENTS.md"
    output_dir: str = "/tmp/ale_outputs"  # where full outputs of truncated observations are written (in the env)
    plain_reply_finishes: bool = False  # a reply with no tool call at all ends the episode (chat: it answers the user)


class _End(Exception):
    def __init__(self, reason: str, detail: str = ""):
        assert reason in END_REASONS, reason
        self.reason, self.detail = reason, detail


class Agent:
    def __init__(self, model: Model, env: Environment, config: AgentConfig | None = None,
                 summarizer: Model | str | None = None, on_step: Callable[[dict[str, Any]], None] | None = None):
        """summarizer: a Model, "actions" (deterministic list of past actions), or None (the policy itself)."""
        self.model, self.env, self.cfg = model, env, config or AgentConfig()
        if self.cfg.tool_format not in ("native", "text", "auto"):
            raise ValueError(f"tool_format must be native, text or auto, got {self.cfg.tool_format!r}")
        self.summarizer = summarizer if summarizer is not None else model
        self.on_step = on_step
        unknown = set(self.cfg.tools or ()) - set(TOOLS)
        if unknown:
            raise ValueError(f"unknown tools: {', '.join(sorted(unknown))}")
        self.tools = {n: TOOLS[n] for n in (self.cfg.tools or TOOLS)}
        self.schemas = [t.schema() for t in self.tools.values()]
        self.native = self.cfg.tool_format == "native" or (self.cfg.tool_format == "auto" and model.supports_native_tools)
        self.budget = min(self.cfg.max_tokens or model.context_window, model.context_window)

    # --- the loop ---------------------------------------------------------------------------

    def run(self, task: str) -> Trajectory:
        cfg = self.cfg
        self.traj = Trajectory(task=task, model=getattr(self.model, "name", ""), started_at=time.time(),
                               config={k: v for k, v in asdict(cfg).items() if k != "system_prompt"})
        self.ctx = ToolContext(self.env, cfg.command_timeout_s, cfg.idle_timeout_s)
        self.loops = context.LoopDetector(cfg.loop_remind_at, cfg.loop_end_at, cfg.loop_key)
        self.messages: list[dict[str, Any]] = []
        self._calib: tuple[int, int] | None = None  # (messages covered, tokens reported) from the last reply
        self._compacted = False
        system = cfg.system_prompt
        if not self.native:
            system += "\n\n" + text_tool_instructions(self.schemas)
        self._add({"role": "system", "content": system})
        self._add({"role": "user", "content": self._task_message(task)})
        return self._drive()

    def follow_up(self, message: str) -> Trajectory:
        """Continue the episode with a new user message (interactive chat): same sandbox, context and plan.
        Step and wall-time limits apply afresh to each message; the returned trajectory covers everything."""
        if not hasattr(self, "traj"):
            raise RuntimeError("follow_up() continues an episode: call run() first")
        self._add({"role": "user", "content": message})
        return self._drive()

    def _drive(self) -> Trajectory:
        cfg = self.cfg
        self._segment = (len(self.traj.turns), time.time())  # limits count from here
        format_errors = 0
        try:
            while True:
                if len(self.traj.turns) - self._segment[0] >= cfg.max_steps:
                    raise _End("step_limit", f"{cfg.max_steps} model turns")
                self._check_time()
                self._fit_context()
                reply = self._generate()
                try:
                    calls = parse_tool_calls(reply.message)
                except FormatError as e:
                    content = reply.message.get("content") or ""
                    if cfg.plain_reply_finishes and not reply.message.get("tool_calls") and \
                            "<tool_call>" not in content and "```" not in content:
                        raise _End("finished", content) from None  # the agent answered the user
                    format_errors += 1
                    self._add({"role": "user", "content": f"Format error: {e}"})
                    self._step(None, f"Format error: {e}", reply.message, format_error=True)
                    if format_errors >= cfg.max_format_errors:
                        raise _End("format_errors", f"{format_errors} malformed replies in a row")
                    continue
                format_errors = 0
                self._act(calls, reply.message)
        except _End as end:
            self.traj.end_reason, self.traj.end_detail = end.reason, end.detail
        except Exception as e:  # a harness or environment failure still yields a trajectory
            self.traj.end_reason, self.traj.end_detail = "error", f"{type(e).__name__}: {e}"
        except KeyboardInterrupt:  # Ctrl-C: self.traj holds what happened so far; the caller decides
            self.traj.end_reason, self.traj.end_detail = "interrupted", "interrupted by the user"
            self._finish_trajectory()
            raise
        return self._finish_trajectory()

    def _act(self, calls: list[ToolCall], assistant: dict[str, Any]) -> None:
        obs_texts, text_obs = [], []
        for call in calls:
            self._check_time()
            self.ctx.command_timeout = max(1.0, min(self.cfg.command_timeout_s, self._time_left()))
            t0 = time.time()
            obs = run_tool(call, self.ctx, self.tools)
            text = self._fit_observation(obs, call.name)
            obs_texts.append(text)
            if call.id is not None:  # native call: the answer must be a tool message
                self._add({"role": "tool", "tool_call_id": call.id, "content": text})
            else:
                text_obs.append(text)
            self._step(call, text, assistant, error=obs.error, started_at=t0, duration_s=time.time() - t0,
                       exit_code=obs.exit_code, **obs.extra)
            if obs.guard and str(obs.guard.get("action", "stop")) not in ("record", "none"):
                self.traj.events.append({"type": "guard", "at": time.time(), "guard": obs.guard})
                self._flush_text_obs(text_obs)
                raise _End("guard_stop", json.dumps(obs.guard, sort_keys=True))
            if obs.finished:
                self._flush_text_obs(text_obs)
                raise _End("finished", obs.text)
        self._flush_text_obs(text_obs)
        action = "\n".join(f"{c.name} {json.dumps(c.arguments, sort_keys=True)}" for c in calls)
        verdict = self.loops.observe(action, "\n".join(obs_texts))
        if verdict == "stop":
            raise _End("loop", f"same step repeated {self.loops.repeats} times")
        if verdict == "remind":
            reminder = context.LOOP_REMINDER.format(n=self.loops.repeats)
            self.traj.events.append({"type": "loop_reminder", "at": time.time(), "repeats": self.loops.repeats})
            self._add({"role": "user", "content": reminder})

    # --- helpers ----------------------------------------------------------------------------

    def _task_message(self, task: str) -> str:
        if not self.cfg.notes_file:
            return task
        try:
            notes = self.env.read_file(self.cfg.notes_file)
        except Exception:  # no notes file: nothing to add
            return task
        return f"{task}\n\nNotes from {self.cfg.notes_file} in the workspace:\n{notes[:8000]}"

    def _add(self, message: dict[str, Any]) -> None:
        self.messages.append(message)
        self.traj.messages.append({k: v for k, v in message.items() if not k.startswith("_")})

    def _step(self, call: ToolCall | None, observation: str, assistant: dict[str, Any], **extra: Any) -> None:
        step = {"index": len(self.traj.steps), "turn": len(self.traj.turns) - 1,
                "action": None if call is None else {"tool": call.name, "arguments": call.arguments, "id": call.id},
                "action_text": assistant.get("content") or "", "observation": observation, **extra}
        self.traj.steps.append(step)
        if self.on_step:
            self.on_step(step)

    def _flush_text_obs(self, texts: list[str]) -> None:
        if texts:
            self._add({"role": "user", "content": "\n\n".join(f"<tool_response>\n{t}\n</tool_response>" for t in texts)})
            texts.clear()

    def _time_left(self) -> float:
        return self.cfg.wall_time_s - (time.time() - self._segment[1])

    def _check_time(self) -> None:
        if self._time_left() <= 0:
            raise _End("timeout", f"wall time {self.cfg.wall_time_s:g}s used up")

    def _generate(self):
        t0 = time.time()
        tools = self.schemas if self.native else None
        try:
            reply = self.model.generate(self.messages, tools)
        except ContextLengthError as e:
            raise _End("context_limit", str(e)) from e
        except Exception as e:
            raise _End("error", f"model failed: {type(e).__name__}: {e}") from e
        msg = dict(reply.message)
        if reply.response_ids is not None:
            msg[TOKEN_IDS_KEY] = list(reply.response_ids)  # spliced verbatim into later prompts
        self._add(msg)
        self.traj.turns.append(ModelTurn(
            index=len(self.traj.turns), prompt_ids=reply.prompt_ids, response_ids=reply.response_ids,
            logprobs=reply.logprobs, after_compaction=self._compacted, prompt_tokens=reply.prompt_tokens,
            completion_tokens=reply.completion_tokens, started_at=t0, duration_s=time.time() - t0,
            finish_reason=reply.finish_reason))
        self._compacted = False
        if reply.prompt_tokens:
            self._calib = (len(self.messages), reply.prompt_tokens + reply.completion_tokens)
        return reply

    def _fit_observation(self, obs: Observation, tool: str) -> str:
        text, path = obs.text, obs.extra.get("output_path")
        if len(text) <= self.cfg.max_observation_chars:
            return text + (f"\n[output truncated by the sandbox; full output in {path}]" if path else "")
        if not path:  # keep the full output where the model can reach it
            path = f"{self.cfg.output_dir}/step{len(self.traj.steps)}_{tool}.txt"
            try:
                self.env.write_file(path, text)
            except Exception:
                path = None
        obs.extra["output_path"] = path
        return context.head_tail(text, self.cfg.max_observation_chars, path)

    def _context_tokens(self) -> int:
        if self._calib is None:
            return context.approx_tokens(self.messages) + (context.approx_tokens(self.schemas) if self.native else 0)
        n, tokens = self._calib
        return tokens + (context.approx_tokens(self.messages[n:]) if n < len(self.messages) else 0)

    def _fit_context(self) -> None:
        tokens = self._context_tokens()
        if tokens < self.cfg.compact_at * self.budget:
            return
        cut = context.split_history(self.messages, 2, self.cfg.keep_recent_turns)
        if cut is None:  # nothing old enough to drop: go on while it still fits
            if tokens >= self.budget:
                raise _End("context_limit", f"~{tokens} tokens of {self.budget} and nothing to compact")
            return
        old, recent = self.messages[2:cut], self.messages[cut:]
        summary, by = self._summarize(old)
        note = f"[harness] The earlier conversation was compacted. Notes on it:\n{summary}"
        if self.ctx.todo:
            note += "\n\nCurrent plan:\n" + render_todo(self.ctx.todo)
        before = self._context_tokens()
        self.messages = self.messages[:2]
        self._add({"role": "user", "content": note})
        self.messages += recent
        self._calib, self._compacted = None, True
        after = self._context_tokens()
        self.traj.events.append({"type": "compaction", "at": time.time(), "dropped_messages": len(old),
                                 "kept_messages": len(recent), "tokens_before": before, "tokens_after": after,
                                 "summarizer": by, "summary": summary})
        if after >= self.budget:
            raise _End("context_limit", f"~{after} tokens of {self.budget} even after compaction")

    def _summarize(self, old: list[dict[str, Any]]) -> tuple[str, str]:
        if isinstance(self.summarizer, str):
            if self.summarizer != "actions":
                raise ValueError(f"unknown summarizer {self.summarizer!r}")
            return context.actions_summary(old), "actions"
        request = context.SUMMARY_REQUEST.format(task=self.traj.task, transcript=context.transcript(old))
        try:
            reply = self.summarizer.generate([{"role": "system", "content": context.SUMMARY_SYSTEM},
                                              {"role": "user", "content": request}], None)
            text = (reply.message.get("content") or "").strip()
            if text:
                return text, getattr(self.summarizer, "name", "model")
        except Exception as e:  # a failed summary must not end the episode: fall back, and say so
            self.traj.events.append({"type": "summary_failed", "at": time.time(), "error": f"{type(e).__name__}: {e}"})
        return context.actions_summary(old), "actions"

    def _finish_trajectory(self) -> Trajectory:
        t = self.traj
        t.ended_at = time.time()
        t.wall_s = t.ended_at - t.started_at
        t.todo = list(self.ctx.todo)
        try:
            t.sandbox_events = list(self.env.events())
        except Exception as e:
            t.events.append({"type": "sandbox_events_failed", "error": str(e)})
        t.finalize_tokens()
        return t
