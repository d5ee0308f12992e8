"""The evaluator: tasks x attempts in parallel sandboxes through the agent harness, graded and summarised.

Shape: one asyncio loop owns an embedded SandboxManager; each episode runs the sync agent loop
(`ale.agent.Agent`) in a worker thread whose sandbox calls are sent back to that loop. Tests are
copied in only after the agent is done (`ale.bench.task.grade`).

Agents: `oracle` (a scripted model whose actions write the task's reference solution, run it, and
finish: the solution goes through the harness and leaves a trajectory), `null` (finishes at once), or
any model spec of `ale.agent.load_model`.

Resume: a rerun with the same --out skips tasks whose record was made by an identical configuration
(agent spec, model fingerprint, attempts, max_steps, temperature, sandbox size) on an unchanged task
folder; records of another configuration are refused, never silently reused (`resume=False` replaces
them). Ctrl-C stops the episodes within seconds (no new model turn, in-flight generation and sandboxes
stopped) and raises Interrupted; finished tasks are saved.

Scores: Avg@K pass@1 = mean over tasks of the mean reward over its K attempts (the report's
"pass@1 averaged over 3 runs"). Each attempt ends passed, failed, or error (no verdict: see ERRORS);
errors are counted apart and left out of the pass rate unless `count_errors`. Infrastructure errors
(sandbox or model backend failures) are also retried.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import shlex
import shutil
import statistics
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ale.bench.task import Task, ensure_image, grade, network_of

# Failure classes of an attempt. The first five map from the harness's end reasons; `loop` and
# `context_limit` are the harness's own endings, kept apart rather than folded into another class.
FAILURES = ("tests_failed", "agent_timeout", "step_limit", "format_errors", "guard_stop", "loop", "context_limit",
            "task_error", "verifier_error", "infrastructure_error")
# Attempts that end in these have no verdict (outcome "error"): counted apart, out of the pass rate by
# default. task_error: the image did not build, no solution, GPUs asked for, healthcheck failed;
# verifier_error: the verifier timed out, wrote no reward file, or ran no test.
ERRORS = ("task_error", "verifier_error", "infrastructure_error")
_END_TO_FAILURE = {"finished": "tests_failed", "timeout": "agent_timeout", "step_limit": "step_limit",
                   "format_errors": "format_errors", "guard_stop": "guard_stop", "loop": "loop",
                   "context_limit": "context_limit"}
ORACLE_PATH = "/tmp/ale-oracle/solution.sh"


@dataclass
class EvalConfig:
    agent: str = "oracle"  # oracle | null | a model spec for ale.agent.load_model
    attempts: int = 1  # K of Avg@K
    concurrency: int = 4  # episodes at once
    max_steps: int = 50
    infra_retries: int = 2  # extra tries of an attempt that hit an infrastructure error
    memory: str = "2g"  # per sandbox
    cpus: float = 1.0
    temperature: float | None = None
    count_errors: bool = False  # errored tasks count as failures in the pass rate (default: left out)


class InfraError(RuntimeError):
    """The sandbox or model backend failed (not the agent): the attempt is retried."""


class ResumeConflict(ValueError):
    """The output folder holds records of another configuration."""


class Interrupted(Exception):
    """Ctrl-C: the run stopped; `saved` of `total` tasks have their records on disk."""

    def __init__(self, saved: int, total: int):
        super().__init__(f"interrupted; {saved} of {total} tasks saved")
        self.saved, self.total = saved, total


def _stamp(path: Path, content: bool) -> str:
    """A short hash of a file or folder: its files' contents, or (content=False, for big weights) their
    sizes and modification times, so a retrained checkpoint at the same path differs."""
    h = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    for f in files:
        st = f.stat()
        h.update(f"{f.relative_to(path) if f != path else f.name}\0".encode())
        h.update(f.read_bytes() if content else f"{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def model_fingerprint(agent: str) -> str:
    """What identifies the model behind an agent spec: local weights or scripts are stamped; a remote
    endpoint (openai:) can only be named by its spec."""
    kind, _, rest = agent.partition(":")
    if agent == "smollm2-135m":
        from ale.agent.models.hf import smollm2_dir

        return _stamp(Path(smollm2_dir()), content=False)
    if kind in ("scripted", "hf", "ckpt") and Path(rest).exists():
        return _stamp(Path(rest), content=kind == "scripted")
    return agent


def resume_key(cfg: EvalConfig) -> dict[str, Any]:
    return {"agent": cfg.agent, "model": model_fingerprint(cfg.agent), "attempts": cfg.attempts,
            "max_steps": cfg.max_steps, "temperature": cfg.temperature, "memory": cfg.memory, "cpus": cfg.cpus}


class _Stoppable:
    """The model as an episode sees it: no new turn once the run is interrupted (the loop then ends the
    episode as `interrupted`)."""

    def __init__(self, model: Any, stop: threading.Event):
        self._model, self._stop = model, stop
        self.name = getattr(model, "name", "model")
        self.context_window = model.context_window
        self.supports_native_tools = model.supports_native_tools

    def generate(self, messages, tools=None):
        if self._stop.is_set():
            raise KeyboardInterrupt
        return self._model.generate(messages, tools)


class _LoopRunner:
    """What ale.sandbox.client.Sandbox needs of a loop: run(coro) blocks a worker thread until the
    coroutine finished on the evaluator's event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop

    def run(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()


def oracle_model(task: Task):
    from ale.agent.models import ScriptedModel

    return ScriptedModel([
        {"content": "Writing the reference solution.", "tool_calls": [{"function": {
            "name": "write_file", "arguments": json.dumps({"path": ORACLE_PATH, "content": task.solution.read_text()})}}]},
        {"content": "Running it.", "tool_calls": [{"function": {
            "name": "bash", "arguments": json.dumps({"command": "".join(
                f"{k}={shlex.quote(v)} " for k, v in task.solution_env.items()) + f"bash {ORACLE_PATH}"})}}]},
        {"content": None, "tool_calls": [{"function": {"name": "finish", "arguments": json.dumps({"summary": "ran the reference solution"})}}]},
    ], name="oracle")


def null_model():
    from ale.agent.models import ScriptedModel

    return ScriptedModel([{"content": None, "tool_calls": [{"function": {
        "name": "finish", "arguments": json.dumps({"summary": "did nothing"})}}]}], name="null")


class Evaluator:
    """Runs attempts; use `async with Evaluator(cfg) as ev: await ev.attempt(task, agent, k)`."""

    def __init__(self, cfg: EvalConfig, traj_dir: Path | None = None, manager=None, model=None):
        """model: the loaded model for a model-spec agent (else loaded on first use)."""
        self.cfg, self.traj_dir = cfg, traj_dir
        self._manager = manager
        self._images: dict[str, asyncio.Future] = {}
        self._model = model
        self._model_lock = threading.Lock()
        self.stop = threading.Event()

    def interrupt(self) -> None:
        """Stop the episodes: no new model turn; a local model's in-flight generation ends at its next token."""
        self.stop.set()
        if hasattr(self._model, "interrupt"):
            self._model.interrupt()

    async def __aenter__(self) -> Evaluator:
        from ale.sandbox import AsyncSandboxClient, SandboxManager
        from ale.sandbox.manager import DEFAULT_POLICY, GuardConfig

        self._owns = self._manager is None
        # Tasks are bounded by their own build, agent and verifier timeouts: sustained CPU (an image build's
        # apt install of hundreds of packages, a solution computing for minutes on a loaded host) is
        # recorded, not stopped as a miner would be.
        self.manager = self._manager or SandboxManager(guard=GuardConfig(policy={**DEFAULT_POLICY, "cpu_budget": "record"}))
        await self.manager.start()
        self.client = AsyncSandboxClient(manager=self.manager)
        self.pool = ThreadPoolExecutor(max_workers=max(1, self.cfg.concurrency), thread_name_prefix="ale-episode")
        self.loop = asyncio.get_running_loop()
        return self

    async def __aexit__(self, *exc) -> None:
        # off the loop: an episode still running needs the loop for its sandbox calls
        await asyncio.to_thread(self.pool.shutdown, True)
        if self._owns:
            await self.manager.close()

    async def image(self, task: Task) -> str:
        """Build each task's image once, however many attempts wait for it."""
        fut = self._images.get(task.id)
        if fut is None:
            fut = self._images[task.id] = asyncio.ensure_future(ensure_image(self.manager, task))
        return await asyncio.shield(fut)

    def _model_for(self, task: Task, agent: str):
        if agent == "oracle":
            return oracle_model(task)
        if agent == "null":
            return null_model()
        if agent.startswith("scripted:"):  # a script is replayed from its start in every episode
            from ale.agent.models import load_model
            return load_model(agent)
        with self._model_lock:  # real models load once and are shared by the episodes
            if self._model is None:
                from ale.agent.models import load_model
                kw = {} if self.cfg.temperature is None else {"temperature": self.cfg.temperature}
                self._model = load_model(agent, **kw)
            return self._model

    def _episode(self, task: Task, agent: str, sandbox) -> Any:
        """In a worker thread: the sync agent loop over the sandbox."""
        from ale.agent import Agent, AgentConfig, SandboxEnvironment
        from ale.sandbox.client import Sandbox

        env = SandboxEnvironment(Sandbox(_LoopRunner(self.loop), sandbox))
        scripted = agent in ("oracle", "null") or agent.startswith("scripted:")
        cfg = AgentConfig(max_steps=self.cfg.max_steps, wall_time_s=task.agent_timeout,
                          # the reference solution may run quietly for long: only the task's timeout bounds it
                          command_timeout_s=task.agent_timeout if agent == "oracle" else 120.0,
                          idle_timeout_s=None if agent == "oracle" else 60.0)
        try:
            model = _Stoppable(self._model_for(task, agent), self.stop)
            return Agent(model, env, cfg, summarizer="actions" if scripted else None).run(task.instruction)
        finally:
            try:
                env.close()
            except Exception:  # the sandbox may be gone already; deleting it follows anyway
                pass

    async def attempt(self, task: Task, agent: str, k: int) -> dict[str, Any]:
        """One attempt, retried on infrastructure errors; returns its record."""
        infra: list[str] = []
        for _ in range(1 + self.cfg.infra_retries):
            rec = await self._attempt_once(task, agent, k)
            if rec["failure"] != "infrastructure_error":
                break
            infra.append(rec["error"])
        rec["infra_errors"] = infra if rec["failure"] != "infrastructure_error" else infra[:-1]
        return rec

    async def _attempt_once(self, task: Task, agent: str, k: int) -> dict[str, Any]:
        from ale.sandbox import TASK_CAPABILITIES, SandboxSpec

        t0 = time.time()
        rec: dict[str, Any] = {"attempt": k, "passed": False, "reward": 0.0, "failure": None, "end_reason": None,
                               "n_tests": 0, "n_tests_passed": 0, "prompt_tokens": 0, "completion_tokens": 0,
                               "steps": 0, "agent_s": 0.0, "grade_s": 0.0, "wall_s": 0.0, "trajectory": None,
                               "error": None}
        if agent == "oracle" and task.solution is None:
            return {**rec, "failure": "task_error", "error": f"{task.path}: no solution.sh or solution/solve.sh"}
        if task.gpus > 0:
            return {**rec, "failure": "task_error",
                    "error": f"the task asks for {task.gpus} GPU(s); ALE sandboxes have no GPU access on this machine"}
        try:
            img = await self.image(task)
        except Exception as e:  # a Dockerfile that does not build is the task's fault, not the agent's
            return {**rec, "failure": "task_error", "error": f"image build failed: {_short(e)}"}
        rec.update(_deviations(self.manager, task))
        sandbox = None
        try:
            try:
                # Terminal-Bench tasks expect root with a container's usual capabilities (useradd, chown)
                sandbox = await self.client.create(SandboxSpec(
                    image=img, memory=f"{task.memory_mb}m" if task.memory_mb else self.cfg.memory,
                    disk=f"{task.storage_mb}m" if task.storage_mb else self.cfg.memory,
                    cpus=task.cpus or self.cfg.cpus, labels={"task": task.id}, env=task.env,
                    network=network_of(task, "agent"), capabilities=TASK_CAPABILITIES))
                if task.healthcheck and not await _healthy(self.manager, sandbox.id, task.healthcheck):
                    rec.update(failure="task_error", error=f"healthcheck failed: {task.healthcheck['command']}",
                               wall_s=time.time() - t0)
                    return rec
                traj = await self.loop.run_in_executor(self.pool, self._episode, task, agent, sandbox)
                rec["agent_s"] = traj.wall_s
                if traj.end_reason == "error":  # the harness says the model backend or the sandbox failed
                    raise InfraError(traj.end_detail)
                t1 = time.time()
                # a guard stop resets the sandbox: nothing is left to grade, and the attempt failed anyway
                g = None if traj.end_reason == "guard_stop" else await grade(self.manager, sandbox.id, task)
                rec["grade_s"] = time.time() - t1
            except InfraError:
                raise
            except Exception as e:
                raise InfraError(_short(e)) from e
        except InfraError as e:
            rec.update(failure="infrastructure_error", error=str(e), wall_s=time.time() - t0)
            return rec
        finally:
            if sandbox is not None:
                try:
                    await sandbox.delete()
                except Exception:  # already gone (guard reset, crash): nothing left to clean
                    pass
        rec.update(end_reason=traj.end_reason, steps=len(traj.steps), wall_s=time.time() - t0, detail=traj.end_detail[:300],
                   prompt_tokens=sum(t.prompt_tokens for t in traj.turns),
                   completion_tokens=sum(t.completion_tokens for t in traj.turns))
        traj.reward = 0.0
        if g is not None:
            traj.reward = g.reward
            traj.events.append({"type": "grade", "at": time.time(), "reward": g.reward, "n_tests": g.n_tests,
                                "n_passed": g.n_passed, "exit_code": g.exit_code, "timed_out": g.timed_out})
            rec.update(passed=g.passed, reward=g.reward, n_tests=g.n_tests, n_tests_passed=g.n_passed,
                       test_output_tail=None if g.passed else g.output[-2000:])
            if g.error:
                rec.update(failure="verifier_error", error=g.error)
            elif not g.passed:
                last = (g.output.strip().splitlines() or [""])[-1]
                rec["detail"] = f"{g.n_passed}/{g.n_tests} tests passed ({traj.end_reason}): {last[:200]}"
        if not rec["passed"] and not rec["failure"]:
            rec["failure"] = _END_TO_FAILURE.get(traj.end_reason, "tests_failed")
        if self.traj_dir is not None:
            path = self.traj_dir / f"{task.id}.{agent_tag(agent)}.{k}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            traj.save(path)
            rec["trajectory"] = str(path)
        return rec


async def _healthy(manager, sid: str, hc: dict[str, Any]) -> bool:
    """Harbor's healthcheck: failures during start_period_sec do not count; `retries` failures in a row fail."""
    start, fails = time.monotonic(), 0
    while True:
        try:
            r = await manager.execute(sid, ["sh", "-c", hc["command"]], timeout=hc["timeout_sec"])
            if r.exit_code == 0 and not r.timed_out:
                return True
        except Exception:
            pass
        if time.monotonic() - start >= hc["start_period_sec"]:
            fails += 1
            if fails >= hc["retries"]:
                return False
        await asyncio.sleep(hc["interval_sec"])


def _deviations(manager, task: Task) -> dict[str, Any]:
    """How this attempt's setting differs from the task's real one: a stand-in base image (ale sandbox image
    standin) and the verifier kit of `ale bench prepare`."""
    from ale.bench.prepare import manifest
    from ale.sandbox.images import parse_dockerfile
    from ale.sandbox.standins import record

    out: dict[str, Any] = {}
    if task.dockerfile is not None:
        try:
            bases = [i.value[0] for i in parse_dockerfile(task.dockerfile.read_text()) if i.op == "FROM"]
        except Exception:  # the build reported it already
            bases = []
        found = [r for r in (record(manager.images, b) for b in bases) if r]
        if found:
            out["standin"] = [{"image": r["name"], "deviations": r["deviations"]} for r in found]
    kit = manifest(task, manager.images.home)
    if kit and kit.get("deviations"):
        out["verifier_deviations"] = kit["deviations"]
    net = {p: network_of(task, p) for p in ("build", "agent", "verifier")}
    out["network"] = {p: n.mode + (f" ({', '.join(n.allow)})" if n.allow else "") for p, n in net.items()}
    if kit or net["verifier"].mode == "none":
        out["network"]["verifier"] = "none" + (" (prepared verifier: offline)" if kit else "")
    return out


def outcome(rec: dict[str, Any]) -> str:
    """passed | failed | error (no verdict: see ERRORS)."""
    return "error" if rec.get("failure") in ERRORS else "passed" if rec.get("passed") else "failed"


def agent_tag(agent: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in agent)[-40:]


def _short(e: BaseException) -> str:
    msg = f"{type(e).__name__}: {e}"
    return msg if len(msg) < 2000 else msg[:2000] + "..."


def task_record(task: Task, agent: str, attempts: list[dict[str, Any]]) -> dict[str, Any]:
    """Per task: reward = mean reward of its attempts that reached a verdict (pass@1 estimate); passed =
    every such attempt passed; outcome = error when none did; failure = the most common failure class of
    its attempts (None when passed)."""
    for a in attempts:
        a["outcome"] = outcome(a)
    scored = [a for a in attempts if a["outcome"] != "error"]
    reward = statistics.fmean(a["reward"] for a in scored) if scored else 0.0
    passed = bool(scored) and all(a["passed"] for a in scored)
    fails = Counter(a["failure"] for a in (scored or attempts) if a["failure"])
    extra = {k: attempts[0][k] for k in ("standin", "verifier_deviations", "network") if attempts and k in attempts[0]}
    return {"task_id": task.id, "domain": task.domain, "difficulty": task.difficulty, "agent": agent,
            "outcome": "error" if not scored else "passed" if passed else "failed",
            "passed": passed, "reward": reward, "failure": None if passed else fails.most_common(1)[0][0],
            "message": None if passed else next((a.get("error") or a.get("detail") for a in (scored or attempts)
                                                 if a.get("error") or a.get("detail")), None),
            "any_passed": any(a["passed"] for a in scored), **extra,
            "prompt_tokens": sum(a["prompt_tokens"] for a in attempts),
            "completion_tokens": sum(a["completion_tokens"] for a in attempts),
            "wall_s": sum(a["wall_s"] for a in attempts), "attempts": attempts}


def summarize(records: list[dict[str, Any]], agent: str, attempts: int, wall_s: float,
              count_errors: bool = False) -> dict[str, Any]:
    """Avg@K pass@1 over the tasks with a verdict (errored tasks left out; `count_errors` scores them 0)."""
    errored = [r for r in records if r.get("outcome", outcome(r)) == "error"]
    scored = records if count_errors else [r for r in records if r not in errored]

    def group(rs: list[dict[str, Any]]) -> dict[str, Any]:
        return {"n_tasks": len(rs), "n_passed": sum(r["passed"] for r in rs),
                "pass_rate": statistics.fmean(r["reward"] for r in rs) if rs else 0.0}

    def by(key: str) -> dict[str, Any]:
        return {v: group([r for r in scored if r[key] == v]) for v in sorted({r[key] for r in scored})}

    all_attempts = [a for r in records for a in r["attempts"]]
    return {"agent": agent, "attempts": attempts, **group(scored), "n_tasks_total": len(records),
            "n_errors": len(errored), "errors_counted": count_errors,
            "n_failed": sum(r.get("outcome", outcome(r)) == "failed" for r in records),
            "n_infrastructure_errors": sum(len(a.get("infra_errors", [])) + (a["failure"] == "infrastructure_error")
                                           for a in all_attempts),
            "n_tasks_infrastructure_failed": sum(r["failure"] == "infrastructure_error" for r in errored),
            "pass_at_k": statistics.fmean(r["any_passed"] for r in scored) if scored else 0.0,
            "by_domain": by("domain"), "by_difficulty": by("difficulty"),
            "failures": dict(Counter(a["failure"] for a in all_attempts if a["failure"])),
            "failure_examples": _failure_examples(records),
            "prompt_tokens": sum(r["prompt_tokens"] for r in records),
            "completion_tokens": sum(r["completion_tokens"] for r in records), "wall_s": wall_s}


def _failure_examples(records: list[dict[str, Any]]) -> dict[str, str]:
    """The first message of each failure class, as `task: message`."""
    out: dict[str, str] = {}
    for r in records:
        for a in r["attempts"]:
            if a["failure"] and a["failure"] not in out:
                out[a["failure"]] = f"{r['task_id']}: {a.get('error') or a.get('detail') or a.get('end_reason') or ''}"
    return out


def _describe_conflict(old: dict[str, Any] | None, new: dict[str, Any]) -> str:
    if not old:
        return "recorded without a configuration"
    return ", ".join(f"{k} {old.get(k)!r} there, {v!r} now" for k, v in new.items() if old.get(k) != v)


def run_eval(tasks: list[Task], cfg: EvalConfig, out: Path | None = None, traj_dir: Path | None = None,
             progress: bool = True, on_record: Callable[[dict[str, Any]], None] | None = None,
             resume: bool = True) -> dict[str, Any]:
    """Run (or resume) an evaluation; returns {"summary", "tasks", "config"}. With `out`, writes the
    results JSON there, per-task records in `<out stem>.tasks/` (a rerun skips tasks whose record was made
    by the same configuration on the same task; records of another configuration raise ResumeConflict
    unless resume=False, which replaces them), trajectories in traj_dir (default `<out stem>.trajs/`) and
    an HTML report at `<out stem>.html`. Ctrl-C raises Interrupted once the episodes have stopped."""
    if cfg.attempts < 1 or cfg.concurrency < 1:
        raise ValueError("attempts and concurrency must be at least 1")
    ids = [t.id for t in tasks]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        raise ValueError(f"duplicate task ids: {', '.join(sorted(dup))}")
    task_dir = out.parent / f"{out.stem}.tasks" if out else None
    if out and traj_dir is None:
        traj_dir = out.parent / f"{out.stem}.trajs"
    key = resume_key(cfg)
    stamps = {t.id: _stamp(t.path, content=True) if t.path and t.path.exists() else "" for t in tasks}
    done: dict[str, dict[str, Any]] = {}
    if task_dir and task_dir.is_dir() and not resume:
        shutil.rmtree(task_dir)
    if task_dir and task_dir.is_dir():
        for t in tasks:
            f = task_dir / f"{t.id}.json"
            if f.exists():
                try:
                    r = json.loads(f.read_text())
                except json.JSONDecodeError:  # a half-written record: run the task again
                    continue
                if r.get("config") != key:
                    raise ResumeConflict(f"{out} holds results of another configuration ({_describe_conflict(r.get('config'), key)}): "
                                         "use another --out, or --no-resume to replace them")
                if r.get("task_stamp") == stamps[t.id] and r.get("failure") not in ERRORS:
                    done[t.id] = r
    if done and progress:
        from rich.console import Console

        Console(stderr=True, highlight=False, soft_wrap=True).print(f"resumed {len(done)} of {len(tasks)} tasks from {task_dir}")
    todo = [t for t in tasks if t.id not in done]
    fresh: dict[str, dict[str, Any]] = {}
    try:
        model = None
        if todo and cfg.agent not in ("oracle", "null"):
            from ale.agent.models import load_model

            # load (or, for a script, check) the model now, and reach a remote endpoint once: a bad spec or a
            # dead server is an error before any episode, not an infrastructure failure of each one
            model = load_model(cfg.agent, **({} if cfg.temperature is None else {"temperature": cfg.temperature}))
            if hasattr(model, "check"):
                model.check()
        t0 = time.time()
        if todo:
            asyncio.run(_run(todo, cfg, task_dir, traj_dir, progress, len(done), on_record, model, fresh,
                             {"config": key, "stamps": stamps}))
    except KeyboardInterrupt:
        raise Interrupted(len(done) + len(fresh), len(tasks)) from None
    records = [done.get(t.id) or fresh[t.id] for t in tasks]
    results = {"summary": summarize(records, cfg.agent, cfg.attempts, time.time() - t0, cfg.count_errors),
               "config": {**key, "concurrency": cfg.concurrency, "resumed_tasks": sorted(done)},
               "tasks": records}
    if out:
        from ale.bench.report import write_html

        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=1))
        write_html(results, out.with_suffix(".html"))
    return results


async def _run(tasks: list[Task], cfg: EvalConfig, task_dir: Path | None, traj_dir: Path | None, progress: bool,
               n_done: int, on_record, model, records: dict[str, dict[str, Any]], stamp: dict[str, Any]) -> None:
    """Fills `records` (task id -> record) as tasks finish, so an interrupted run knows what it saved."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    sem = asyncio.Semaphore(cfg.concurrency)
    passed = Counter()
    bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   TextColumn("eta"), TimeRemainingColumn(), TextColumn("{task.fields[status]}"),
                   disable=not progress, transient=False)
    async with Evaluator(cfg, traj_dir, model=None if cfg.agent.startswith("scripted:") else model) as ev:
        with bar:
            pid = bar.add_task(f"{cfg.agent} x{cfg.attempts}", total=len(tasks) * cfg.attempts,
                               status=f"resumed {n_done}" if n_done else "")

            async def one(task: Task, k: int) -> dict[str, Any]:
                async with sem:
                    rec = await ev.attempt(task, cfg.agent, k)
                passed[rec["passed"]] += 1
                bar.update(pid, advance=1, status=f"passed {passed[True]}/{passed[True] + passed[False]}")
                return rec

            async def run_task(task: Task) -> None:
                attempts = await asyncio.gather(*(one(task, k) for k in range(cfg.attempts)))
                rec = task_record(task, cfg.agent, list(attempts))
                rec.update(config=stamp["config"], task_stamp=stamp["stamps"][task.id])
                if task_dir:
                    task_dir.mkdir(parents=True, exist_ok=True)
                    tmp = task_dir / f".{task.id}.json.tmp"
                    tmp.write_text(json.dumps(rec, indent=1))
                    tmp.replace(task_dir / f"{task.id}.json")
                records[task.id] = rec
                if on_record:
                    on_record(rec)

            try:
                await asyncio.gather(*(run_task(t) for t in tasks))
            except asyncio.CancelledError:  # Ctrl-C (asyncio.run cancels this task): stop the episodes
                ev.interrupt()
                raise
