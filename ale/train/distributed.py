"""Ray rollout workers: each owns its sandboxes (a SandboxPool on its node) and an engine replica.

Used when ``distributed.ray_address`` is set ("local" starts a single-node Ray in this process,
"auto" joins the running cluster, "ray://HOST:PORT" joins through Ray Client). The trainer splits
a step's episode specs over the workers (contiguous slices, so client ids and batch order stay
fixed), and after each update puts the new weights in the object store once; each worker loads
them with the new policy version before its next rollout. Without an address everything runs in
the trainer's process (the default).

``ProcessRollouts`` runs one ``RolloutWorker`` in a child process of this machine (no Ray): the
async trainer's default (``rollout.async_worker: process``), so step t+1's generation and harness
threads have their own interpreter (no GIL shared with training) and their own torch thread pool
(``rollout.engine_threads``). Requests and weights travel over a pipe; weights are loaded by the
worker between two generate calls, while a rollout may be running.

Data-parallel training of the policy itself (DDP/FSDP under torchrun) is ale/train/parallel.py.
"""
from __future__ import annotations

import io
import itertools
import threading
import traceback
from concurrent.futures import Future
from typing import Any

import torch


class RolloutWorker:
    """Ray actor body: engine replica + sandbox pool + the same ``run_episodes`` as in-process."""

    def __init__(self, cfg_json: str, state_dict: dict[str, torch.Tensor], version: int):
        from ale.train.config import TrainConfig
        from ale.train.engine import EngineChatModel, HFEngine, SamplingParams, engine_dtype
        from ale.train.policy import engine_base, load_policy
        from ale.train.rollout import SandboxPool

        self.cfg = cfg = TrainConfig.model_validate_json(cfg_json)
        threads = cfg.rollout.engine_threads or cfg.torch_threads
        if threads:
            torch.set_num_threads(threads)
        model, tok = load_policy(cfg.policy.model_copy(update={"lora": None}))
        model = engine_base(model)
        model.load_state_dict(state_dict)
        self.engine = HFEngine(model, tok.eos_token_id, tok.pad_token_id, version=version,
                               dtype=engine_dtype(cfg.sampling.dtype))
        s = cfg.sampling
        self.chat = EngineChatModel(self.engine, tok, SamplingParams(s.temperature, s.top_p, s.top_k, s.max_new_tokens),
                                    cfg.policy.context_window, seed=cfg.seed, max_wait_s=s.max_wait_s)
        self.agent_cfg = cfg.agent.harness()
        self.pool = SandboxPool(cfg.rollout.memory, cfg.rollout.workdir, start=cfg.resample.start)

    def load_weights(self, state_dict: dict[str, torch.Tensor], version: int) -> int:
        self.engine.load_weights(state_dict, version)
        return version

    def collect(self, specs: list[Any], seed: int) -> Any:
        from ale.train.rollout import run_episodes

        r = self.cfg.rollout
        self.chat.seed, self.chat.batches = seed, 0
        gen0, tok0 = self.chat.generate_s, self.chat.tokens_generated
        res = run_episodes(specs, self.pool, self.chat, self.agent_cfg, r.concurrency, r.max_resamples, r.reward,
                           self.cfg.safety)
        return res, self.chat.generate_s - gen0, self.chat.tokens_generated - tok0

    def close(self) -> None:
        self.chat.close()
        self.pool.close()


class RayRollouts:
    """The trainer's handle on the workers."""

    def __init__(self, cfg: Any, state_dict: dict[str, torch.Tensor], version: int):
        import ray

        d = cfg.distributed
        if not ray.is_initialized():
            if d.ray_address == "local":
                ray.init(include_dashboard=False, log_to_driver=False, _node_ip_address="127.0.0.1")
            else:
                ray.init(address=d.ray_address, log_to_driver=False)
        self.ray = ray
        # two concurrent calls per actor: new weights load (between generate calls) while a rollout runs (async mode)
        actor = ray.remote(num_cpus=0, max_concurrency=2)(RolloutWorker)
        ref = ray.put({k: v.cpu() for k, v in state_dict.items()})
        self.workers = [actor.remote(cfg.model_dump_json(), ref, version) for _ in range(d.num_rollout_workers)]

    def load_weights(self, state_dict: dict[str, torch.Tensor], version: int) -> None:
        ref = self.ray.put({k: v.cpu() for k, v in state_dict.items()})  # once, shared by every worker
        self.ray.get([w.load_weights.remote(ref, version) for w in self.workers])

    def collect(self, specs: list[Any], seed: int) -> tuple[Any, float, int]:
        from ale.train.rollout import RolloutResult

        n = len(self.workers)
        size = -(-len(specs) // n)
        slices = [specs[i * size:(i + 1) * size] for i in range(n)]
        futures = [w.collect.remote(s, seed * 101 + i) for i, (w, s) in enumerate(zip(self.workers, slices)) if s]
        parts = self.ray.get(futures)
        episodes = [ep for res, _, _ in parts for ep in res.episodes]
        merged = RolloutResult(episodes, sum(p[0].dropped_broken for p in parts), sum(p[0].resampled for p in parts),
                               max(p[0].wall_s for p in parts), [r for p in parts for r in p[0].broken])
        # workers generate in parallel: the step's generation time is the slowest worker's
        return merged, max(p[1] for p in parts), sum(p[2] for p in parts)

    def close(self) -> None:
        self.ray.get([w.close.remote() for w in self.workers])
        for w in self.workers:
            self.ray.kill(w)


def _dump_weights(state_dict: dict[str, torch.Tensor]) -> bytes:
    """Serialised copy (never shared memory: the trainer keeps updating its tensors in place)."""
    buf = io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in state_dict.items()}, buf)
    return buf.getvalue()


def _load_weights(blob: bytes) -> dict[str, torch.Tensor]:
    return torch.load(io.BytesIO(blob), weights_only=True)


def _process_worker_main(fd: int) -> None:
    """Child process body (``python -c``, not multiprocessing: the trainer's main module is never re-imported):
    read ("init", cfg_json, weights, version), build the worker, then serve requests. Messages in: ("collect", id, specs, seed),
    ("weights", version, blob), ("close",); out: ("ready",), ("result", id, payload), ("error", id, text),
    ("loaded", version). A collect runs on a thread, so weights arriving meanwhile are loaded at once
    (the engine swaps them between two generate calls). EOF on the pipe (trainer gone) ends the worker."""
    from multiprocessing.connection import Connection

    conn = Connection(fd)
    send_lock = threading.Lock()

    def send(msg: tuple) -> None:
        with send_lock:
            conn.send(msg)

    try:
        _, cfg_json, weights, version = conn.recv()
        worker = RolloutWorker(cfg_json, _load_weights(weights), version)
    except BaseException:
        send(("error", None, traceback.format_exc()))
        return
    del weights
    send(("ready",))

    def run(req_id: int, specs: list[Any], seed: int) -> None:
        try:
            payload = worker.collect(specs, seed)
        except BaseException:
            send(("error", req_id, traceback.format_exc()))
        else:
            send(("result", req_id, payload))

    threads: list[threading.Thread] = []
    try:
        while True:
            try:
                msg = conn.recv()
            except (EOFError, OSError):
                break
            if msg[0] == "collect":
                t = threading.Thread(target=run, args=msg[1:], name=f"collect-{msg[1]}", daemon=True)
                t.start()
                threads = [x for x in threads if x.is_alive()] + [t]
            elif msg[0] == "weights":
                worker.load_weights(_load_weights(msg[2]), msg[1])
                send(("loaded", msg[1]))
            elif msg[0] == "close":
                break
    finally:
        for t in threads:
            t.join(timeout=60)
        worker.close()
        conn.close()


class ProcessRollouts:
    """One ``RolloutWorker`` in a child process (a fresh interpreter over a socketpair; this machine only,
    no network) with the same face as ``RayRollouts``:
    ``collect(specs, seed)`` blocks until the episodes are back (call it from a thread to overlap),
    ``load_weights(state_dict, version)`` sends the weights and returns (the worker loads them before
    any later request, and between two generate calls of a running one)."""

    def __init__(self, cfg: Any, state_dict: dict[str, torch.Tensor], version: int, start_timeout_s: float = 600.0):
        import os
        import socket
        import subprocess
        import sys
        from multiprocessing.connection import Connection
        from pathlib import Path

        import ale

        ours, theirs = socket.socketpair()  # a fresh interpreter: no inherited threads, locks or torch pools
        env = dict(os.environ)
        root = str(Path(ale.__file__).resolve().parent.parent)
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        code = f"from ale.train.distributed import _process_worker_main; _process_worker_main({theirs.fileno()})"
        self.proc = subprocess.Popen([sys.executable, "-c", code], pass_fds=[theirs.fileno()], env=env)
        theirs.close()
        self.conn = Connection(ours.detach())
        self._send_lock = threading.Lock()
        self._cond = threading.Condition()
        self._futures: dict[int, Future] = {}
        self._ids = itertools.count()
        self._ready: Future = Future()
        self.loaded_version = version  # the newest version the worker has acknowledged
        self._dead: str | None = None
        self._reader = threading.Thread(target=self._read, name="rollout-worker-reader", daemon=True)
        self._reader.start()
        try:
            self._send(("init", cfg.model_dump_json(), _dump_weights(state_dict), version))
            self._ready.result(timeout=start_timeout_s)
        except BaseException:
            self.close()
            raise

    @property
    def pid(self) -> int | None:
        return self.proc.pid

    def _read(self) -> None:
        while True:
            try:
                msg = self.conn.recv()
            except (EOFError, OSError):
                break
            kind = msg[0]
            if kind == "ready":
                self._ready.set_result(True)
            elif kind == "loaded":
                with self._cond:
                    self.loaded_version = max(self.loaded_version, msg[1])
                    self._cond.notify_all()
            elif kind in ("result", "error"):
                if msg[1] is None:  # the worker failed to start
                    self._ready.set_exception(RuntimeError(f"rollout worker process failed to start:\n{msg[2]}"))
                    continue
                with self._cond:
                    fut = self._futures.pop(msg[1], None)
                if fut is not None:
                    if kind == "result":
                        fut.set_result(msg[2])
                    else:
                        fut.set_exception(RuntimeError(f"rollout worker process: {msg[2]}"))
        try:
            code = self.proc.wait(timeout=10)
        except Exception:
            code = None
        with self._cond:
            self._dead = f"rollout worker process exited (exit code {code})"
            pending, self._futures = list(self._futures.values()), {}
            self._cond.notify_all()
        if not self._ready.done():
            self._ready.set_exception(RuntimeError(self._dead))
        for fut in pending:
            fut.set_exception(RuntimeError(self._dead))

    def _send(self, msg: tuple) -> None:
        with self._send_lock:
            if self._dead:
                raise RuntimeError(self._dead)
            self.conn.send(msg)

    def load_weights(self, state_dict: dict[str, torch.Tensor], version: int) -> None:
        self._send(("weights", version, _dump_weights(state_dict)))

    def wait_loaded(self, version: int, timeout: float | None = None) -> bool:
        """Whether the worker acknowledged weights of ``version`` (or newer) within ``timeout``."""
        with self._cond:
            return self._cond.wait_for(lambda: self.loaded_version >= version or self._dead is not None, timeout) \
                and self.loaded_version >= version

    def collect(self, specs: list[Any], seed: int) -> tuple[Any, float, int]:
        fut: Future = Future()
        req_id = next(self._ids)
        with self._cond:
            if self._dead:
                raise RuntimeError(self._dead)
            self._futures[req_id] = fut
        self._send(("collect", req_id, specs, seed))
        return fut.result()

    def close(self) -> None:
        try:
            self._send(("close",))
        except (RuntimeError, OSError, ValueError):
            pass
        try:
            self.proc.wait(timeout=120)
        except Exception:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self._reader.join(timeout=10)
        self.conn.close()
