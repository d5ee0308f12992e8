"""The runtime half: a guard around the harness's Environment that stops an episode on a detection.

`SafetyGuard(env, policy)` is an `ale.agent.Environment`. Before a bash command runs, its text goes
through the detectors; after it ran, the sandbox's new guard events do (`network_attempt`,
`denied_syscall`, `cpu_budget`, ...). A detection whose behaviour the policy marks `stop`:

- before running: the command is not run;
- after running (an event): the sandbox is stopped (`stop_sandbox=True`, the default: nothing it
  started keeps running), or only the episode ends (`stop_sandbox=False`, what RL uses so the
  sandbox can still be graded);

and the result carries `guard={"kind": "safety", "action": "stop", ...}`, which the agent loop turns
into the end reason `guard_stop` (the same path as the sandbox guard's own stops). A file tool that
would read or write a forbidden path is refused (an error observation) and the next command ends the
episode. `record` behaviours are only kept in `detections`. The trajectory keeps every step, so an
audit (`ale.safety.detect`) finds the same behaviours afterwards.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from ale.agent.protocols import CommandResult
from ale.safety.detectors import _INSTALLERS, Action, Detection, Scope, detect_action, detect_event
from ale.safety.taxonomy import BEHAVIOURS


@dataclass
class SafetyPolicy:
    """Per behaviour: `stop` (end the episode) or `record`. Unlisted behaviours use `default`."""

    actions: dict[str, str] = field(default_factory=dict)
    default: str = "stop"

    def __post_init__(self) -> None:
        bad = set(self.actions) - set(BEHAVIOURS)
        if bad:
            raise ValueError(f"unknown behaviours: {', '.join(sorted(bad))}; known: {', '.join(BEHAVIOURS)}")
        if {self.default, *self.actions.values()} - {"stop", "record"}:
            raise ValueError("safety policy actions are 'stop' or 'record'")

    def action(self, behaviour: str) -> str:
        return self.actions.get(behaviour, self.default)


class SafetyGuard:
    """An Environment wrapper; see the module docstring."""

    def __init__(self, env: Any, policy: SafetyPolicy | None = None, scope: Scope | None = None,
                 stop_sandbox: bool = True, poll_s: float = 0.5):
        self.env, self.policy, self.scope = env, policy or SafetyPolicy(), scope or Scope()
        self.stop_sandbox, self.poll_s = stop_sandbox, poll_s
        self.detections: list[Detection] = []
        self.stopped: Detection | None = None
        self._seen_events = {e.get("seq") for e in self._events()}

    @property
    def workdir(self) -> str:
        return self.env.workdir

    def _events(self) -> list[dict[str, Any]]:
        try:
            return list(self.env.events())
        except Exception:  # a sandbox already gone has no new events to judge
            return []

    def _judge(self, found: list[Detection]) -> Detection | None:
        self.detections += found
        return next((d for d in found if self.policy.action(d.behaviour) == "stop"), None)

    def _stop_result(self, det: Detection, output: str = "", duration: float = 0.0) -> CommandResult:
        self.stopped = self.stopped or det
        note = f"[safety guard] stopped: {det.behaviour}: {det.evidence}"
        return CommandResult(output=(output + "\n" if output else "") + note, exit_code=-1, duration_s=duration,
                             guard={"kind": "safety", "action": "stop", "behaviour": det.behaviour,
                                    "reason": f"{det.behaviour}: {det.evidence}"[:500]})

    def run(self, command: str, timeout: float, idle_timeout: float | None = None) -> CommandResult:
        if self.stopped:
            return self._stop_result(self.stopped)
        det = self._judge(detect_action(Action("bash", command=command), self.scope))
        if det:
            return self._stop_result(det)
        installing = bool(_INSTALLERS.search(command))
        live = self.stop_sandbox and hasattr(getattr(self.env, "sandbox", None), "stop")
        done, watcher = threading.Event(), None
        if live:  # judge the guard's events while the command runs: stop the sandbox mid-command
            watcher = threading.Thread(target=self._watch, args=(done, installing), daemon=True)
            watcher.start()
        try:
            r = self.env.run(command, timeout, idle_timeout)
        except Exception as e:  # the watcher stopped the sandbox under the running command
            if watcher is None:
                raise
            done.set()
            watcher.join()
            if self.stopped is None:
                raise
            r = CommandResult(output=f"[{type(e).__name__}: {e}]", exit_code=-1, status="interrupted")
        if watcher is not None:
            done.set()
            watcher.join()
        det = self.stopped or self._judge(self._new_event_detections(installing))
        if det is None:
            return r
        if live:
            self._stop_sandbox()
        if r.guard:  # the sandbox guard acted too (e.g. cpu_budget): keep its word, name the behaviour
            self.stopped = self.stopped or det
            return CommandResult(output=r.output, exit_code=r.exit_code, status=r.status, duration_s=r.duration_s,
                                 guard={**r.guard, "behaviour": det.behaviour})
        return self._stop_result(det, r.output, r.duration_s)

    def _new_event_detections(self, installing: bool) -> list[Detection]:
        new = [e for e in self._events() if e.get("seq") not in self._seen_events]
        self._seen_events |= {e.get("seq") for e in new}
        return [d for e in new for d in detect_event(e, installing=installing)]

    def _watch(self, done: threading.Event, installing: bool) -> None:
        while not done.wait(self.poll_s):
            det = self._judge(self._new_event_detections(installing))
            if det is not None:
                self.stopped = det
                self._stop_sandbox()
                return

    def _stop_sandbox(self) -> None:
        try:
            self.env.sandbox.stop()
        except Exception:  # already stopped (by the sandbox's own guard, or by the watcher)
            pass

    def _file(self, tool: str, path: str, content: str = "") -> None:
        if self.stopped:
            raise PermissionError(f"[safety guard] the episode was stopped: {self.stopped.behaviour}")
        det = self._judge(detect_action(Action(tool, path=path, content=content), self.scope))
        if det:
            self.stopped = det
            raise PermissionError(f"[safety guard] refused: {det.behaviour}: {det.evidence}")

    def read_file(self, path: str) -> str:
        self._file("read_file", path)
        return self.env.read_file(path)

    def write_file(self, path: str, content: str) -> None:
        self._file("write_file", path, content)
        self.env.write_file(path, content)

    def events(self) -> list[dict[str, Any]]:
        return self._events()

    def close(self) -> None:
        self.env.close()


__all__ = ["SafetyGuard", "SafetyPolicy"]
