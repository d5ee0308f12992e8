"""Rollouts: many agent episodes at once over real sandboxes, graded by the task's tests.

- ``SandboxPool``: one sandbox manager on its own event-loop thread; fresh sandbox per episode,
  task images built once, grading through ``ale.bench.task.grade``.
- ``run_episodes``: runs ``EpisodeSpec`` s in waves of ``concurrency`` threads, each driving
  ``ale.agent.Agent`` with an ``EngineClient`` (so the engine batches all waiting episodes).
  Dynamic filtering: an episode broken by infrastructure (sandbox or grader failure, harness error,
  no token ids) is dropped and resampled from the same initial state (same task, same expert anchor,
  fresh sandbox), at most ``max_resamples`` times; drops are counted.
- Chunk-level initialised resampling: ``ExpertStore`` keeps expert trajectories per task as their
  chunks' token ids; ``PrefixReplayModel`` replays chunks 0..k-1 of an expert through the normal
  harness and hands over to the policy from chunk k on. How the environment reaches chunk k
  (``resample.start``): ``fork`` (default; ``Prefixes``) runs the expert's prefix once per (task,
  expert) with a sandbox snapshot at each anchor a rollout starts from, and every rollout forks that
  snapshot, its harness answered from the prefix run's record until chunk k; ``replay`` runs the
  prefix's tool calls again in each rollout's fresh sandbox (as much work as the prefix, and only as
  faithful as its commands are deterministic).
"""
from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import math
import random
import threading
import time
import warnings
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ale.agent.loop import Agent, AgentConfig
from ale.agent.protocols import ModelReply
from ale.agent.trajectory import Trajectory, needs_retokenize, retokenize, training_data
from ale.sandbox.spec import SandboxError
from ale.train.engine import EngineChatModel, EngineClient


class _LoopThread:
    """An asyncio loop on a daemon thread; ``run`` blocks on a coroutine (what the sync SDK proxies need)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="train-sandbox-loop", daemon=True)
        self.thread.start()

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


class SandboxPool:
    def __init__(self, memory: str = "1g", workdir: str = "/workspace", start: str = "replay"):
        """start: how anchored rollouts reach their anchor, "fork" or "replay" (``resample.start``)."""
        from ale.sandbox.client import AsyncSandboxClient
        from ale.sandbox.manager import SandboxManager

        self.memory, self.workdir = memory, workdir
        self.prefixes = Prefixes(self) if start == "fork" else None
        self._loop = _LoopThread()
        self.manager = SandboxManager()
        self._loop.run(self.manager.start())
        self.client = AsyncSandboxClient(manager=self.manager)
        self._images: dict[str, str] = {}
        self._image_lock = threading.Lock()

    def image(self, task: Any) -> str:
        from ale.bench.task import ensure_image

        with self._image_lock:
            if task.id not in self._images:
                self._images[task.id] = self._loop.run(ensure_image(self.manager, task))
            return self._images[task.id]

    def create(self, task: Any, idle_ttl: float | None = 1800.0) -> Any:
        from ale.sandbox.client import Sandbox
        from ale.sandbox.spec import TASK_CAPABILITIES, SandboxSpec

        # Terminal-Bench tasks expect root with a container's usual capabilities (useradd, chown)
        spec = SandboxSpec(image=self.image(task), network="none", memory=self.memory, workdir=self.workdir,
                           capabilities=TASK_CAPABILITIES, idle_ttl=idle_ttl)
        sb = Sandbox(self._loop, self._loop.run(self.client.create(spec)))
        sb.exec(f"mkdir -p {self.workdir}", timeout=30)
        return sb

    def grade(self, sandbox: Any, task: Any) -> Any:
        from ale.bench.task import grade

        return self._loop.run(grade(self.manager, sandbox.info.id, task))

    def close(self) -> None:
        if self.prefixes is not None:
            self.prefixes.close()
        self._loop.run(self.client.close())
        self._loop.run(self.manager.close())
        self._loop.stop()


# ---------------------------------------------------------------- experts


@dataclass
class Expert:
    """An expert trajectory as the token ids of its chunks (one per model turn), in the policy's tokenizer."""

    chunks: list[list[int]]
    reward: float = 1.0
    source: str = "teacher"  # teacher | solution | policy

    @property
    def key(self) -> str:
        """A short content hash: names the expert in anchors, success history and the crucial-chunk report."""
        return hashlib.sha1(json.dumps(self.chunks).encode()).hexdigest()[:10]


class ExpertStore:
    """Expert trajectories per task id, plus per-anchor success counts (for rollback and crucial chunks).

    Anchors and success history are kept per *track*, one (task, expert) pair (``track``): experts of
    one task may differ in length, so an anchor is only meaningful for the expert it was set for (a
    2-chunk expert must never start at anchor 4, which would replay all of it)."""

    def __init__(self, max_per_task: int = 4):
        self.max_per_task = max_per_task
        self.experts: dict[str, list[Expert]] = {}
        self.anchor: dict[str, int] = {}  # sequential rollback: current anchor per track
        self.history: dict[str, dict[int, list[float]]] = {}  # track -> anchor -> rewards seen

    @staticmethod
    def track(task_id: str, expert: Expert) -> str:
        return f"{task_id}#{expert.key}"

    def add(self, task_id: str, expert: Expert) -> None:
        items = self.experts.setdefault(task_id, [])
        if any(e.chunks == expert.chunks for e in items):
            return
        items.append(expert)
        del items[:-self.max_per_task]  # keep the newest

    def record(self, track: str, anchor: int, reward: float) -> None:
        self.history.setdefault(track, {}).setdefault(anchor, []).append(reward)

    def success_by_anchor(self, track: str) -> list[float]:
        """Success rate per anchor 0..max seen (NaN-free: unseen anchors copy the next seen one)."""
        hist = self.history.get(track, {})
        if not hist:
            return []
        top = max(hist)
        rates: list[float] = [math.nan] * (top + 1)
        for k, rewards in hist.items():
            rates[k] = sum(r > 0 for r in rewards) / len(rewards)
        for k in range(top - 1, -1, -1):
            if math.isnan(rates[k]):
                rates[k] = rates[k + 1]
        return rates

    def state(self) -> dict[str, Any]:
        return {"experts": {t: [vars(e) for e in es] for t, es in self.experts.items()}, "anchor": self.anchor,
                "history": {t: {str(k): v for k, v in h.items()} for t, h in self.history.items()}}

    def load_state(self, state: dict[str, Any]) -> None:
        self.experts = {t: [Expert(**e) for e in es] for t, es in state["experts"].items()}
        self.anchor = dict(state["anchor"])
        self.history = {t: {int(k): list(v) for k, v in h.items()} for t, h in state["history"].items()}


def expert_from_solution(task: Any, tokenizer: Any) -> Expert | None:
    """A scripted expert from the task's reference solution: one bash chunk per step, then a finish chunk.

    Steps are the parts of solution.sh between lines ``# ---`` (one step when there is none); the
    script's header (shebang, ``set -e``) is not part of any step."""
    if task.solution is None:
        return None
    lines = [ln for ln in Path(task.solution).read_text().splitlines() if not ln.startswith("#!") and ln != "set -e"]
    steps = [s.strip() for s in "\n".join(lines).split("\n# ---\n")]
    texts = [f"```bash\n{s}\n```" for s in steps if s]
    texts.append('<tool_call>{"name": "finish", "arguments": {"summary": "done"}}</tool_call>')
    eos = tokenizer.eos_token_id
    return Expert([tokenizer.encode(t, add_special_tokens=False) + [eos] for t in texts], 1.0, "solution")


def expert_from_trajectory(traj: Trajectory, tokenizer: Any, tool_format: str = "auto") -> Expert:
    """Chunks of a saved trajectory (e.g. a teacher run) in the policy's tokenizer: its sampled ids when
    it records that same tokenizer (``config["tokenizer"]``, a ``tokenizer_fingerprint``) and has ids for
    every turn; otherwise its assistant messages re-encoded with the policy's chat template
    (``retokenize``, in the harness's ``tool_format``): a teacher's ids index another vocabulary."""
    if needs_retokenize(traj, tokenizer) or not all(t.response_ids for t in traj.turns):
        traj = retokenize(traj, tokenizer, tool_format)
    return Expert([list(t.response_ids or []) for t in traj.turns], float(traj.reward or 0.0), "teacher")


class PrefixReplayModel:
    """Replays an expert's first k chunks (exact token ids, log mu unknown = NaN), then the policy samples.
    ``at_turn(k)``, when given, is called before each turn k is generated (chunks 0..k-1 have run)."""

    def __init__(self, policy: EngineClient, prefix: list[list[int]], at_turn: Any = None):
        self.policy, self.prefix, self.at_turn = policy, prefix, at_turn
        self.name, self.context_window = policy.name, policy.context_window
        self.supports_native_tools = policy.supports_native_tools
        self.replayed = 0

    def generate(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None) -> ModelReply:
        if self.at_turn is not None:
            self.at_turn(self.replayed)
        if self.replayed >= len(self.prefix):
            return self.policy.generate(messages, tools)
        renderer = self.policy.owner.renderer
        prompt = renderer.render(messages, tools)
        ids = self.prefix[self.replayed]
        self.replayed += 1
        return ModelReply(message={"role": "assistant", "content": renderer.tok.decode(ids, skip_special_tokens=True)},
                          prompt_tokens=len(prompt), completion_tokens=len(ids), prompt_ids=prompt, response_ids=list(ids),
                          logprobs=[math.nan] * len(ids), finish_reason="stop", raw={"expert": True})


# ---------------------------------------------------------------- reaching an anchor by fork


def _call_key(name: str, args: tuple) -> tuple:
    """What identifies an environment call across runs (not a command's timeout: it follows the clock)."""
    return (name, args[0]) if name in ("run", "read_file") else (name, *args)


class _RecordingEnv:
    """The prefix run's environment: the real one, with every call's outcome recorded in order."""

    def __init__(self, env: Any):
        self.env, self.workdir = env, env.workdir
        self.calls: list[tuple[tuple, Any]] = []  # (call key, result or exception)

    def _call(self, name: str, *args: Any) -> Any:
        try:
            out = getattr(self.env, name)(*args)
        except Exception as e:
            self.calls.append((_call_key(name, args), e))
            raise
        self.calls.append((_call_key(name, args), out))
        return out

    def run(self, command: str, timeout: float, idle_timeout: float | None = None) -> Any:
        return self._call("run", command, timeout, idle_timeout)

    def read_file(self, path: str) -> str:
        return self._call("read_file", path)

    def write_file(self, path: str, content: str) -> None:
        return self._call("write_file", path, content)

    def events(self) -> list[dict[str, Any]]:
        return self.env.events()

    def close(self) -> None:
        self.env.close()


class _ForkedEnv(_RecordingEnv):
    """A rollout's environment when it starts from a fork: while the harness replays chunks 0..k-1 it
    makes the prefix run's calls again (same chunks, same observations), and these are answered from
    that run's record; from chunk k on, calls reach the fork (of the prefix sandbox at chunk k)."""

    def __init__(self, env: Any, record: list[tuple[tuple, Any]]):
        super().__init__(env)
        self.record = list(record)

    def _call(self, name: str, *args: Any) -> Any:
        if not self.record:
            return getattr(self.env, name)(*args)
        key, out = self.record.pop(0)
        if key != _call_key(name, args):
            raise RuntimeError(f"the expert prefix did not repeat its recorded run: {key[:2]} then, "
                               f"{_call_key(name, args)[:2]} now")
        if isinstance(out, Exception):  # a new one each time (rollouts run in threads)
            try:
                err = type(out)(*out.args)
            except Exception:  # a type that cannot be made from its args
                err = RuntimeError(str(out))
            raise err
        return copy.copy(out)  # one record serves every rollout of the track


def _running(sandbox: Any) -> bool:
    try:
        return sandbox.status().state == "running"
    except Exception:  # removed
        return False


class _PrefixDone(Exception):
    """Ends a prefix run once its last needed anchor is reached."""


@dataclass
class _Prefix:
    sandbox: Any  # the prefix run's sandbox: it holds the snapshots
    record: list[tuple[tuple, Any]]  # every environment call of the prefix run
    anchors: dict[int, tuple[str, int, str | None]]  # anchor -> (snapshot id, calls before it, bash session id)


class Prefixes:
    """Chunk-level resampling by fork (``resample.start: fork``). Per track (task, expert) the expert's
    prefix runs once through the harness, with a snapshot of its sandbox at each anchor rollouts need;
    a rollout at anchor k forks that snapshot (files and the bash session's state) and replays the
    harness's side of chunks 0..k-1 from the record. A track is run again when a new anchor is needed
    (sequential rollback moves back one chunk at a time). A track whose prefix run fails falls back to
    replay, with a warning. At most ``max_tracks`` tracks are kept between steps (least recently used go).
    """

    def __init__(self, pool: SandboxPool, max_tracks: int = 32):
        self.pool, self.max_tracks = pool, max_tracks
        # least recently used first; each holds a running sandbox (its changed files are in memory)
        self._tracks: OrderedDict[str, _Prefix] = OrderedDict()

    def prepare(self, specs: list[EpisodeSpec], model: EngineChatModel, agent_cfg: AgentConfig,
                ex: ThreadPoolExecutor) -> None:
        """Run the prefixes these specs need (concurrently, one per track) and are not there yet."""
        need: dict[str, tuple[Any, Expert, set[int]]] = {}
        for s in specs:
            if s.expert is not None and s.anchor > 0:
                need.setdefault(ExpertStore.track(s.task.id, s.expert), (s.task, s.expert, set()))[2].add(s.anchor)
        jobs = {}
        for track, (task, expert, anchors) in need.items():
            old = self._tracks.get(track)
            if old is not None and anchors <= set(old.anchors) and _running(old.sandbox):
                self._tracks.move_to_end(track)
                continue
            if old is not None:
                anchors |= set(old.anchors)
                self._drop(track)
            jobs[track] = ex.submit(self._run, task, expert, sorted(anchors), model, agent_cfg)
        for track, job in jobs.items():
            try:
                self._tracks[track] = job.result()
            except Exception as e:  # the rollouts of this track replay instead
                warnings.warn(f"resample.start=fork: the expert prefix of {track} could not run once "
                              f"({type(e).__name__}: {e}); its rollouts replay it", stacklevel=2)
        for track in list(self._tracks)[:max(0, len(self._tracks) - self.max_tracks)]:
            if track not in need:  # this step's tracks stay, however many
                self._drop(track)

    def _run(self, task: Any, expert: Expert, anchors: list[int], model: EngineChatModel,
             agent_cfg: AgentConfig) -> _Prefix:
        from ale.agent.environment import SandboxEnvironment

        sandbox = self.pool.create(task, idle_ttl=None)  # lives as long as the track: forks are made from it
        try:
            env = _RecordingEnv(SandboxEnvironment(sandbox, workdir=self.pool.workdir))
            points: dict[int, tuple[str, int, str | None]] = {}

            def at_turn(turn: int) -> None:
                if turn in anchors:
                    session = env.env.session
                    points[turn] = (sandbox.snapshot(), len(env.calls), session.id if session is not None else None)
                if turn >= anchors[-1]:
                    raise _PrefixDone()
            # never samples: a client of the engine that is not registered (lock-step batches do not wait for it)
            replay = PrefixReplayModel(EngineClient(model, -1), expert.chunks[:anchors[-1]], at_turn)
            traj = Agent(replay, env, agent_cfg).run(task.instruction)
            if set(points) != set(anchors):
                raise RuntimeError(f"the prefix ended ({traj.end_reason}: {traj.end_detail[:200]}) before "
                                   f"chunk {min(set(anchors) - set(points))}")
            return _Prefix(sandbox, env.calls, points)
        except BaseException:
            sandbox.delete()
            raise

    def start(self, spec: EpisodeSpec) -> tuple[Any, Any] | None:
        """(a fork of the prefix sandbox at spec's anchor, its environment), or None: replay instead."""
        from ale.agent.environment import SandboxEnvironment

        prefix = self._tracks.get(ExpertStore.track(spec.task.id, spec.expert)) if spec.expert is not None else None
        if prefix is None or spec.anchor not in prefix.anchors:
            return None
        snap, calls, session = prefix.anchors[spec.anchor]
        try:
            (sandbox,) = prefix.sandbox.fork(n=1, snapshot=snap)
        except SandboxError:  # its sandbox was stopped (a guard) or removed: replay; the next step runs it again
            return None
        env = SandboxEnvironment(sandbox, workdir=self.pool.workdir,
                                 session=sandbox.session(session) if session is not None else None)
        return sandbox, _ForkedEnv(env, prefix.record[:calls])

    def _drop(self, track: str) -> None:
        prefix = self._tracks.pop(track, None)
        if prefix is not None:
            try:
                prefix.sandbox.delete()  # its snapshots go once no fork of them is left
            except Exception:
                pass

    def close(self) -> None:
        for track in list(self._tracks):
            self._drop(track)


# ---------------------------------------------------------------- episodes


@dataclass
class EpisodeSpec:
    task: Any  # ale.bench.task.Task
    group: int  # samples of one task in one step share a group id
    client_id: int  # fixed per spec: the engine orders batch rows by it (reproducible batches)
    expert: Expert | None = None
    anchor: int = 0  # chunks of the expert replayed before the policy starts


@dataclass
class Episode:
    spec: EpisodeSpec
    trajectory: Trajectory
    reward: float
    versions: list[int]  # policy version of every sampled turn
    start_version: int = 0  # the engine's version when the episode started
    attempts: int = 1
    env_s: float = 0.0
    broken_reasons: list[str] = field(default_factory=list)

    @property
    def version(self) -> int:
        """The oldest policy version that sampled a token of this episode (staleness is judged by it)."""
        return min(self.versions, default=self.start_version)

    def rows(self) -> list[dict[str, Any]]:
        rows = training_data(self.trajectory)
        for row in rows:
            # episode: the spec's client id, unique among a step's episodes (a compaction splits an episode
            # into several rows; they share it, so the group baseline counts the episode once)
            row.update(group=self.spec.group, version=self.version, reward=self.reward, episode=self.spec.client_id,
                       expert_chunks=self._expert_chunks(row))
            if self.spec.expert is not None:  # the imitation weights are the expert trajectory's returns (Eq. 10)
                row.update(expert_reward=self.spec.expert.reward, expert_num_chunks=len(self.spec.expert.chunks))
        return rows

    def _expert_chunks(self, row: dict[str, Any]) -> int:
        return sum(1 for turn in row["turns"] if turn < self.spec.anchor)


def _broken(traj: Trajectory) -> str | None:
    """Why an episode is unusable for training because of infrastructure (None: it is usable).

    The harness ends with reason "error" on exceptions of the model backend, tools' environment or
    harness; a policy's own mistakes end with other reasons (format_errors, step_limit, ...)."""
    if traj.end_reason == "error":
        return f"error: {traj.end_detail[:200]}"
    if not traj.sequences:
        return "no token ids"
    return None


def run_episode(spec: EpisodeSpec, pool: SandboxPool, model: EngineChatModel, agent_cfg: AgentConfig,
                max_resamples: int, reward_mode: str, safety: Any = None) -> Episode | list[str]:
    """One episode with dynamic filtering; when every attempt was broken, why each one was."""
    from ale.agent.environment import SandboxEnvironment

    reasons: list[str] = []
    client = model.client(spec.client_id)
    try:
        for attempt in range(max_resamples + 1):
            t0 = time.time()
            sandbox = None
            try:
                model.client(spec.client_id)  # (re-)registered: lock-step batches wait for this episode's turns
                forked = pool.prefixes.start(spec) if pool.prefixes is not None and spec.anchor > 0 else None
                if forked is not None:
                    sandbox, env = forked
                else:
                    sandbox = pool.create(spec.task)
                    env = SandboxEnvironment(sandbox, workdir=pool.workdir)
                if safety is not None and safety.enabled:  # ale.safety.rl: a detection can end the episode
                    from ale.safety.rl import guard_env
                    env = guard_env(env, safety, spec.task.instruction)
                client.versions = []
                start_version = model.engine.version
                policy: Any = client if spec.anchor == 0 or spec.expert is None else \
                    PrefixReplayModel(client, spec.expert.chunks[:spec.anchor])
                traj = Agent(policy, env, agent_cfg).run(spec.task.instruction)
                env.close()
                reason = _broken(traj)
                if reason is None:
                    # no more turns: the other episodes' batches stop waiting for this one while its tests run
                    # (same batches as before, as a finished episode has no request left to join one)
                    model.release(spec.client_id)
                    g = pool.grade(sandbox, spec.task)
                    reward = g.reward if reward_mode == "pass" else g.fraction
                    if safety is not None and safety.enabled:  # ale.safety.rl: penalty, a `safety` event for audit
                        from ale.safety.rl import after_grade
                        reward = after_grade(traj, reward, safety)
                    traj.reward = reward
                    traj.config["tokenizer"] = model.tokenizer_fingerprint  # its ids are this tokenizer's
                    gen_s = sum(t.duration_s for t in traj.turns)
                    return Episode(spec, traj, reward, list(client.versions), start_version, attempt + 1,
                                   env_s=time.time() - t0 - gen_s, broken_reasons=reasons)
            except Exception as e:  # sandbox creation or grading failed: infrastructure
                reason = f"{type(e).__name__}: {e}"
            finally:
                if sandbox is not None:
                    try:
                        sandbox.delete()
                    except Exception:
                        pass
            reasons.append(reason)
        return reasons
    finally:
        client.release()


@dataclass
class RolloutResult:
    episodes: list[Episode]
    dropped_broken: int  # episodes given up after max_resamples
    resampled: int  # broken attempts that were retried
    wall_s: float
    broken: list[str] = field(default_factory=list)  # why each dropped episode's last attempt broke


def run_episodes(specs: list[EpisodeSpec], pool: SandboxPool, model: EngineChatModel, agent_cfg: AgentConfig,
                 concurrency: int, max_resamples: int, reward_mode: str, safety: Any = None) -> RolloutResult:
    """Run specs in waves of ``concurrency`` (all of a wave registered with the engine up front, so
    the lock-step batches do not depend on thread timing)."""
    t0 = time.time()
    episodes: list[Episode] = []
    broken: list[str] = []
    resampled = 0
    with ThreadPoolExecutor(max_workers=concurrency) as ex:
        if pool.prefixes is not None:
            pool.prefixes.prepare(specs, model, agent_cfg, ex)
        for start in range(0, len(specs), concurrency):
            wave = specs[start:start + concurrency]
            for s in wave:
                model.client(s.client_id)  # register now; run_episode re-registers the same id and releases it
            futures = [ex.submit(run_episode, s, pool, model, agent_cfg, max_resamples, reward_mode, safety) for s in wave]
            for s, f in zip(wave, futures):
                ep = f.result()
                if isinstance(ep, Episode):
                    episodes.append(ep)
                    resampled += ep.attempts - 1
                else:
                    broken.append(ep[-1])
                    resampled += max_resamples
    return RolloutResult(episodes, len(broken), resampled, time.time() - t0, broken)


def make_specs(tasks: list[Any], n_samples: int, step: int, store: ExpertStore | None, rcfg: Any,
               rng: random.Random) -> list[EpisodeSpec]:
    """n_samples episodes per task (one group each); with resampling on, a fraction start from expert anchors."""
    specs = []
    for g, task in enumerate(tasks):
        experts = store.experts.get(task.id, []) if store is not None else []
        n_anchored = int(round(n_samples * rcfg.fraction)) if experts else 0
        for i in range(n_samples):
            spec = EpisodeSpec(task=task, group=step * 10_000 + g, client_id=len(specs))
            if i < n_anchored:
                expert = experts[rng.randrange(len(experts))]
                last = len(expert.chunks) - 1
                if last >= 1:
                    if rcfg.mode == "sequential":  # the curriculum of this expert: starts at its last chunk
                        anchor = min(store.anchor.setdefault(ExpertStore.track(task.id, expert), last), last)
                    else:  # parallelised initialisation: several anchors spread over the expert's chunks
                        choices = parallel_anchors(len(expert.chunks), rcfg.anchors_per_task, task.id)
                        # rotate with the step, so every anchor is used even with fewer anchored samples than anchors
                        anchor = choices[(step * n_anchored + i) % len(choices)]
                    spec.expert, spec.anchor = expert, anchor
            specs.append(spec)
    return specs


def parallel_anchors(num_chunks: int, wanted: int, task_id: str = "") -> list[int]:
    """``wanted`` anchors spread evenly over an expert's valid anchors 1..K-1 (anchor k: chunks 0..k-1
    replayed, the policy samples from chunk k on; anchor 0 is a plain episode, anchor K would replay
    the whole expert), from the last one down. A K-chunk expert has only K-1 anchors: when fewer exist
    than ``wanted``, all of them are used and a warning says so."""
    last = num_chunks - 1
    if last < 1:
        return []
    if wanted > last:
        warnings.warn(f"resample.anchors_per_task={wanted}: an expert of task {task_id!r} has {num_chunks} chunks, "
                      f"so only {last} anchor(s) exist (1..{last}); using {last}", stacklevel=2)
    a = min(wanted, last)
    return [last - j * (last - 1) // (a - 1) for j in range(a)] if a > 1 else [last]


def update_rollback(store: ExpertStore, track: str, threshold: float, window: int) -> None:
    """Sequential rollback: move the track's (task, expert) anchor one chunk back once its suffix is mastered."""
    anchor = store.anchor.get(track)
    if anchor is None or anchor <= 0:
        return
    recent = store.history.get(track, {}).get(anchor, [])[-window:]
    if len(recent) >= window and sum(r > 0 for r in recent) / len(recent) >= threshold:
        store.anchor[track] = anchor - 1


def save_json(path: Path, obj: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1))
    tmp.replace(path)
