"""The RL and SFT training loops, checkpoints and exact resume.

RL step (sync mode): sample tasks -> episodes (n per task, through the agent harness in real
sandboxes) -> rows -> ``update_step`` with the configured algorithm's loss -> weights to the engine
(policy version + 1) -> log -> checkpoint. Async mode: step t+1's episodes are sampled while step t
trains (by default in a rollout worker process: ``ale.train.distributed.ProcessRollouts``); an
episode whose oldest token is more than ``max_policy_lag`` versions old is dropped and counted.

Checkpoint (RUN/checkpoints/step-N): model, optimiser, scheduler, RNG states (python, torch),
data position, policy version, expert store. Generation seeds derive from (seed, step), so a
resumed sync run repeats the uninterrupted run's next steps exactly.
"""
from __future__ import annotations

import json
import math
import random
import shutil
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import torch

from ale.train.algorithms import imitation_loss, policy_loss, sft_loss
from ale.train.config import TrainConfig
from ale.train.engine import EngineChatModel, HFEngine, SamplingParams, engine_dtype
from ale.train.metrics import MetricsLogger
from ale.train.parallel import DataParallel
from ale.train.policy import engine_base, engine_state_dict, load_policy
from ale.train.rollout import (Episode, ExpertStore, SandboxPool, expert_from_solution, expert_from_trajectory,
                               make_specs, run_episodes, update_rollback)
from ale.train.update import TrainBatch, adamw, collate, update_step


class TaskSampler:
    """Epoch-wise shuffled task order with a cursor: its state is the run's data position."""

    def __init__(self, n: int, seed: int):
        self.n, self.seed, self.epoch, self.cursor = n, seed, 0, 0
        self._order = self._shuffle()

    def _shuffle(self) -> list[int]:
        order = list(range(self.n))
        random.Random(self.seed * 7919 + self.epoch).shuffle(order)
        return order

    def take(self, k: int) -> list[int]:
        out = []
        for _ in range(k):
            if self.cursor >= self.n:
                self.epoch, self.cursor = self.epoch + 1, 0
                self._order = self._shuffle()
            out.append(self._order[self.cursor])
            self.cursor += 1
        return out

    def state(self) -> dict[str, int]:
        return {"epoch": self.epoch, "cursor": self.cursor}

    def load_state(self, s: dict[str, int]) -> None:
        self.epoch, self.cursor = s["epoch"], s["cursor"]
        self._order = self._shuffle()


def make_optimizer(model: torch.nn.Module, cfg: TrainConfig) -> tuple[torch.optim.Optimizer, Any]:
    o = cfg.optim
    opt = adamw([p for p in model.parameters() if p.requires_grad], lr=o.lr, betas=o.betas,
                weight_decay=o.weight_decay)
    total = max(cfg.steps, 1)

    def factor(step: int) -> float:
        if step < o.warmup_steps:
            return (step + 1) / (o.warmup_steps + 1)
        progress = (step - o.warmup_steps) / max(total - o.warmup_steps, 1)
        if o.schedule == "linear":
            return max(0.0, 1.0 - progress)
        if o.schedule == "cosine":
            return 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))
        return 1.0

    return opt, torch.optim.lr_scheduler.LambdaLR(opt, factor)


def latest_checkpoint(run_dir: Path) -> Path | None:
    """The newest complete checkpoint (a folder killed while being written is still named step-N.tmp)."""
    ckpts = [p for p in (run_dir / "checkpoints").glob("step-*") if p.name.split("-")[1].isdigit()]
    ckpts.sort(key=lambda p: int(p.name.split("-")[1]))
    return ckpts[-1] if ckpts else None


class _Base:
    """Shared by RL and SFT: model, optimiser, checkpoints, logging."""

    def __init__(self, cfg: TrainConfig, resume: bool = True):
        self.cfg = cfg
        if cfg.torch_threads:
            torch.set_num_threads(cfg.torch_threads)
        random.seed(cfg.seed)
        torch.manual_seed(cfg.seed)
        self.out = Path(cfg.out)
        # data-parallel training under torchrun (ale.train.parallel): rank 0 leads (engine, sandboxes, files)
        self.dp = DataParallel(cfg.distributed.strategy) if cfg.distributed.strategy != "none" else None
        self.leader = self.dp is None or self.dp.leader
        if self.leader:
            self.out.mkdir(parents=True, exist_ok=True)
            (self.out / "config.json").write_text(cfg.model_dump_json(indent=1))
        self.model, self.tok = load_policy(cfg.policy)
        self.net = self.dp.wrap(self.model) if self.dp is not None else self.model  # forward/backward runs here
        self.sharded = self.dp is not None and self.dp.strategy == "fsdp"  # self.model holds shards only
        self.optimizer, self.scheduler = make_optimizer(self.net, cfg)
        self.step, self.version = 0, 0
        self.extra_state: dict[str, Any] = {}
        ckpt = latest_checkpoint(self.out) if resume else None
        if ckpt is not None:
            self._load(ckpt)
        self.logger = MetricsLogger(self.out, cfg.tensorboard, resume_step=self.step if ckpt is not None else None) \
            if self.leader else None

    # ---- checkpoints
    def save_checkpoint(self) -> Path | None:
        """Full (unsharded) state; every rank calls it (a collective under fsdp), the leader writes it."""
        if self.dp is None:
            model_sd, optim_sd = self.model.state_dict(), self.optimizer.state_dict()
        else:
            model_sd, optim_sd = self.dp.model_state(self.net), self.dp.optimizer_state(self.net, self.optimizer)
        if not self.leader:
            return None
        root = self.out / "checkpoints"
        final, tmp = root / f"step-{self.step}", root / f"step-{self.step}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        torch.save(model_sd, tmp / "model.pt")
        torch.save({"optimizer": optim_sd, "scheduler": self.scheduler.state_dict(),
                    "torch_rng": torch.get_rng_state(), "python_rng": random.getstate(),
                    "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None}, tmp / "state.pt")
        (tmp / "trainer.json").write_text(json.dumps({"step": self.step, "version": self.version, **self.state()}))
        shutil.rmtree(final, ignore_errors=True)
        tmp.rename(final)  # a checkpoint folder exists only once complete
        done = sorted((p for p in root.glob("step-*") if p.name.split("-")[1].isdigit()), key=lambda p: int(p.name.split("-")[1]))
        for old in done[:-self.cfg.keep_checkpoints]:
            shutil.rmtree(old, ignore_errors=True)
        return final

    def _load(self, ckpt: Path) -> None:
        model_sd = torch.load(ckpt / "model.pt")
        st = torch.load(ckpt / "state.pt", weights_only=False)
        if self.dp is None:
            self.model.load_state_dict(model_sd)
            self.optimizer.load_state_dict(st["optimizer"])
        else:
            self.dp.load(self.net, self.optimizer, model_sd, st["optimizer"])
        self.scheduler.load_state_dict(st["scheduler"])
        torch.set_rng_state(st["torch_rng"])
        random.setstate(st["python_rng"])
        if st.get("cuda_rng") is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(st["cuda_rng"])
        meta = json.loads((ckpt / "trainer.json").read_text())
        self.step, self.version = meta["step"], meta["version"]
        self.extra_state = meta

    def state(self) -> dict[str, Any]:
        return {}

    def engine_weights(self) -> dict[str, torch.Tensor]:
        """What the engine loads after an update; every rank calls it (a collective under fsdp), only
        the leader, who owns the engine, gets the weights."""
        if self.sharded:
            return self.dp.model_state(self.net)
        return engine_state_dict(self.model) if self.leader else {}  # a LoRA merge copies the model: leader only

    def _progress(self, total: int):
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        return Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                        TextColumn("{task.fields[info]}"), TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
                        disable=not (self.cfg.progress and self.leader),
                        transient=False)


class RLTrainer(_Base):
    def __init__(self, cfg: TrainConfig, resume: bool = True):
        from ale.bench.task import TaskError, load_tasks

        r = cfg.rollout
        try:  # before the model loads: a bad task path fails at once
            tasks = load_tasks(r.tasks)
        except TaskError as e:
            raise ValueError(f"rollout.tasks: {e}") from None
        if r.task_filter:
            unknown = set(r.task_filter) - {t.id for t in tasks}
            if unknown:
                raise ValueError(f"rollout.task_filter: unknown task ids {sorted(unknown)}")
            tasks = [t for t in tasks if t.id in r.task_filter]
        self.tasks = tasks
        self.heldout: list[Any] = []
        if cfg.evaluation is not None:
            try:
                self.heldout = load_tasks(cfg.evaluation.tasks)
            except TaskError as e:
                raise ValueError(f"evaluation.tasks: {e}") from None
            if not self.heldout:
                raise ValueError(f"evaluation.tasks: no tasks in {cfg.evaluation.tasks}")
        super().__init__(cfg, resume)
        self.sampler = TaskSampler(len(tasks), cfg.seed)
        self.store = ExpertStore()
        if cfg.resample.enabled:
            self._seed_experts()
        if "sampler" in self.extra_state:
            self.sampler.load_state(self.extra_state["sampler"])
            self.store.load_state(self.extra_state["store"])
        self.remote: Any = None
        self._producer: _Lookahead | None = None
        self._sampler_snapshot: dict[str, int] | None = None
        self.totals = {"dropped_broken": 0, "dropped_stale": 0, "resampled": 0}
        weights = self.engine_weights()
        if not self.leader:  # only trains: rollouts, engine and sandboxes are the leader's
            return
        if cfg.distributed.ray_address:  # rollout workers (engine replica + sandboxes each) on a Ray cluster
            from ale.train.distributed import RayRollouts

            self.remote = RayRollouts(cfg, weights, self.version)
        elif r.async_mode and r.async_worker == "process":  # one rollout worker process on this machine
            from ale.train.distributed import ProcessRollouts

            self.remote = ProcessRollouts(cfg, weights, self.version)
        else:
            self.engine = self._make_engine(weights)
            s = cfg.sampling
            self.chat = EngineChatModel(self.engine, self.tok, SamplingParams(s.temperature, s.top_p, s.top_k, s.max_new_tokens),
                                        cfg.policy.context_window, seed=cfg.seed, max_wait_s=s.max_wait_s)
            self.pool = SandboxPool(r.memory, r.workdir, start=cfg.resample.start)
        self.agent_cfg = cfg.agent.harness()

    def _make_engine(self, weights: dict[str, torch.Tensor]) -> Any:
        eos, pad = self.tok.eos_token_id, self.tok.pad_token_id
        if self.sharded:  # a sharded model cannot be copied: a fresh one with the gathered weights
            base = load_policy(self.cfg.policy)[0]
            base.load_state_dict(weights)
        else:
            base = engine_base(self.model)
        if self.cfg.sampling.kind == "vllm":
            from ale.train.engine import VLLMEngine

            path = self.out / "engine-init"
            base.save_pretrained(path)
            self.tok.save_pretrained(path)
            return VLLMEngine(str(path), eos, version=self.version)
        return HFEngine(base, eos, pad, version=self.version, dtype=engine_dtype(self.cfg.sampling.dtype))

    def _seed_experts(self) -> None:
        rc = self.cfg.resample
        if rc.expert_from_solution:
            for t in self.tasks:
                e = expert_from_solution(t, self.tok)
                if e is not None:
                    self.store.add(t.id, e)
        if rc.experts:
            from ale.agent.trajectory import Trajectory

            ids = {t.id for t in self.tasks}
            for f in sorted(Path(rc.experts).glob("*.json")):
                traj = Trajectory.load(f)
                task_id = (traj.config or {}).get("task_id") or f.stem.split(".")[0]
                if task_id in ids and (traj.reward or 0) > 0:
                    self.store.add(task_id, expert_from_trajectory(traj, self.tok, self.cfg.agent.tool_format))

    def state(self) -> dict[str, Any]:
        # async: the data position before the prefetched step's tasks were taken, so a resumed run samples
        # that step again (the prefetched episodes themselves are not checkpointed)
        sampler = self._sampler_snapshot if self._sampler_snapshot is not None else self.sampler.state()
        return {"sampler": sampler, "store": self.store.state(), "totals": self.totals}

    # ---- rollouts
    def collect(self, step: int) -> tuple[list[Episode], dict[str, float]]:
        return self._rollout(*self._specs(step))

    def _specs(self, step: int) -> tuple[list[Any], int]:
        """The step's episode specs (advances the data position; always on the trainer's thread) and seed."""
        r = self.cfg.rollout
        tasks = [self.tasks[i] for i in self.sampler.take(r.tasks_per_step)]
        rng = random.Random(self.cfg.seed * 1_000_003 + step)
        specs = make_specs(tasks, r.n_samples, step, self.store if self.cfg.resample.enabled else None,
                           self.cfg.resample, rng)
        return specs, self.cfg.seed * 1_000_003 + step  # seeds follow the step, not the run's history

    def _rollout(self, specs: list[Any], seed: int) -> tuple[list[Episode], dict[str, float]]:
        """Run the specs on the rollout backend (in-process engine, a worker process, or Ray workers)."""
        r = self.cfg.rollout
        if self.remote is not None:
            res, gen_s, tokens = self.remote.collect(specs, seed)
        else:
            self.chat.seed, self.chat.batches = seed, 0
            gen0, tok0 = self.chat.generate_s, self.chat.tokens_generated
            res = run_episodes(specs, self.pool, self.chat, self.agent_cfg, r.concurrency, r.max_resamples, r.reward,
                               self.cfg.safety)
            gen_s, tokens = self.chat.generate_s - gen0, self.chat.tokens_generated - tok0
        return res.episodes, {"dropped_broken": res.dropped_broken, "resampled": res.resampled, "broken": res.broken,
                              "time_rollout_s": res.wall_s, "time_generation_s": gen_s,
                              "time_env_s": max(res.wall_s - gen_s, 0.0), "generated_tokens": tokens}

    def loss_fn(self, logp: torch.Tensor, b: TrainBatch) -> tuple[torch.Tensor, dict[str, float]]:
        pb = b.policy_batch()
        if not bool(b.expert_prefix.any()):
            return policy_loss(logp, pb, self.cfg.algo)
        loss, stats = imitation_loss(logp, pb, b.expert_prefix, self.cfg.algo, expert_reward=b.expert_reward,
                                     expert_num_chunks=b.expert_num_chunks)
        for key in list(stats):  # the suffix's RL stats under the same names as plain steps (curves stay comparable)
            if key.startswith("rl_") and key[3:] not in stats and key != "rl_loss":
                stats[key[3:]] = stats[key]
        return loss, stats

    def train_on(self, episodes: list[Episode]) -> dict[str, float]:
        return self.update([row for ep in episodes for row in ep.rows()])

    def update(self, rows: list[dict[str, Any]]) -> dict[str, float]:
        """One update on the rows, weights to the engine. Data-parallel: the leader runs it on every rank."""
        if self.dp is not None and self.leader:
            self.dp.lead("update", rows)
        batch = collate(rows, self.tok.pad_token_id)
        temperature = self.cfg.sampling.temperature if self.cfg.sampling.temperature > 0 else 1.0
        stats = update_step(self.net, self.optimizer, self.scheduler, batch, self.loss_fn,
                            self.cfg.optim.max_grad_norm, self.cfg.optim.micro_batch, temperature,
                            self.cfg.optim.recompute_old_logp, policy_version=self.version, dp=self.dp,
                            epochs=self.cfg.optim.epochs, minibatches=self.cfg.optim.minibatches,
                            stale_old_logp=self.cfg.optim.stale_old_logp)
        stats["train_tokens"] = float(batch.response_mask.sum())
        self.version += 1
        weights = self.engine_weights()
        if self.leader:
            (self.remote or self.engine).load_weights(weights, self.version)
        return stats

    def save_checkpoint(self) -> Path | None:
        if self.dp is not None and self.leader:
            self.dp.lead("checkpoint")
        return super().save_checkpoint()

    def _episode_stats(self, episodes: list[Episode]) -> dict[str, float]:
        n = max(len(episodes), 1)
        rewards = [ep.reward for ep in episodes]
        lens = [sum(len(t.response_ids or []) for t in ep.trajectory.turns) for ep in episodes]
        out = {"episodes": float(len(episodes)), "reward_mean": sum(rewards) / n,
               "success_rate": sum(r >= 1.0 for r in rewards) / n, "response_len_mean": sum(lens) / n,
               "turns_mean": sum(len(ep.trajectory.turns) for ep in episodes) / n,
               "anchored_frac": sum(ep.spec.anchor > 0 for ep in episodes) / n,
               # the policy on its own: episodes without a replayed expert prefix
               "reward_plain_mean": _mean([ep.reward for ep in episodes if ep.spec.anchor == 0]),
               "policy_lag_mean": sum(self.version - ep.version for ep in episodes) / n}
        reasons: dict[str, int] = {}
        for ep in episodes:
            reasons[ep.trajectory.end_reason or "none"] = reasons.get(ep.trajectory.end_reason or "none", 0) + 1
        out.update({f"end_{k}": float(v) for k, v in reasons.items()})
        if self.cfg.safety.enabled:  # per behaviour: the fraction of episodes the safety layer flagged
            from ale.safety.rl import metrics

            out.update(metrics([ep.trajectory for ep in episodes]))
        return out

    def _after_episodes(self, episodes: list[Episode]) -> None:
        rc = self.cfg.resample
        if not rc.enabled:
            return
        for ep in episodes:
            task_id = ep.spec.task.id
            if ep.spec.expert is not None:
                track = self.store.track(task_id, ep.spec.expert)
                self.store.record(track, ep.spec.anchor, ep.reward)
                if rc.mode == "sequential":
                    update_rollback(self.store, track, rc.master_threshold, rc.window)
                continue
            # the policy on its own starts at anchor 0 of every expert of its task
            for expert in self.store.experts.get(task_id, []):
                self.store.record(self.store.track(task_id, expert), 0, ep.reward)
            if rc.add_successes and ep.reward >= 1.0:
                self.store.add(task_id, _policy_expert(ep))

    # ---- the loop
    def train(self, steps: int | None = None) -> list[dict[str, Any]]:
        if not self.leader:  # data-parallel follower: runs the leader's updates and checkpoints until it stops
            self.dp.follow({"update": self.update, "checkpoint": lambda _: self.save_checkpoint()})
            return []
        target = steps if steps is not None else self.cfg.steps
        records = []
        producer = self._producer = _Lookahead(self) if self.cfg.rollout.async_mode else None
        try:
            with self._progress(target) as bar:
                task = bar.add_task("rl", total=target, completed=self.step, info="")
                heldout = ""  # the latest held-out figure, kept on the bar between evaluations
                while self.step < target:
                    t0 = time.time()
                    step = self.step + 1
                    if producer is not None:
                        episodes, roll = producer.take(step)
                        episodes, stale = split_stale(episodes, self.version, self.cfg.rollout.max_policy_lag)
                        roll["dropped_stale"] = len(stale)
                    else:
                        episodes, roll = self.collect(step)
                        roll["dropped_stale"] = 0
                    broken = roll.pop("broken")
                    if broken and not episodes:  # the infrastructure is down: steps on nothing would only pretend to train
                        raise RuntimeError(f"step {step}: all {len(broken)} episodes broke on infrastructure "
                                           f"({self.cfg.rollout.max_resamples} retries each); the last: {broken[-1]}")
                    self._after_episodes(episodes)
                    if producer is not None:
                        self._sampler_snapshot = self.sampler.state()  # what this step's checkpoint records
                        if step < target:  # step+1 samples while this step trains; its specs see this step's store updates
                            producer.submit(step + 1)
                    if self.cfg.rollout.save_trajectories:
                        self.save_trajectories(step, episodes)
                    ep_stats = self._episode_stats(episodes)
                    t1 = time.time()
                    train_stats = self.train_on(episodes) if episodes else {"loss": math.nan, "grad_norm": math.nan}
                    t2 = time.time()
                    self.step = step
                    for k in self.totals:
                        self.totals[k] += int(roll.get(k, 0))
                    record = {"step": step, "policy_version": self.version, **ep_stats, **roll, **train_stats,
                              "time_train_s": t2 - t1, "time_step_s": t2 - t0,
                              "tokens_per_s": roll["generated_tokens"] / max(t2 - t0, 1e-9),
                              **{f"total_{k}": v for k, v in self.totals.items()}}
                    ev = self.cfg.evaluation
                    if ev is not None and (step % ev.every == 0 or step == self.cfg.steps):
                        record.update(self.evaluate_heldout(step))
                    self.logger.log(record)
                    records.append(record)
                    if self.cfg.checkpoint_every and step % self.cfg.checkpoint_every == 0 or step == target:
                        self.save_checkpoint()
                    # the policy's own reward (episodes without a replayed expert prefix, which succeed by construction)
                    plain = record["reward_plain_mean"]
                    if "heldout_success" in record:
                        heldout = f"held-out {record['heldout_success']:.2f} (n {record['heldout_n']}) "
                    bar.update(task, completed=step, info=f"plain reward {'-' if math.isnan(plain) else f'{plain:.2f}'} "
                                                          f"loss {record['loss']:.4f} " + heldout)
        finally:
            if producer is not None:
                producer.stop()
            self._producer = self._sampler_snapshot = None
            if self.dp is not None:
                self.dp.lead("stop")
        self.write_crucial_report()
        return records

    def evaluate_heldout(self, step: int) -> dict[str, Any]:
        """The policy's success on ``evaluation.tasks`` now (its own engine copy of the weights; the
        trainer's sandboxes when it has them), as metrics: rate, episodes, 95% interval, time."""
        from ale.train.evaluate import evaluate

        ev = self.cfg.evaluation
        res = evaluate(self.model, self.tok, self.cfg, self.heldout, getattr(self, "pool", None), ev.samples,
                       ev.temperature, seed=self.cfg.seed * 1_000_003 + step)
        s = res.summary()
        return {"heldout_success": s["success"], "heldout_n": s["n"], "heldout_ci95_low": s["ci95"][0],
                "heldout_ci95_high": s["ci95"][1], "heldout_dropped": s["dropped"], "time_eval_s": res.wall_s}

    def save_trajectories(self, step: int, episodes: list[Episode]) -> None:
        folder = self.out / "trajectories"
        folder.mkdir(exist_ok=True)
        for i, ep in enumerate(episodes):
            ep.trajectory.config = {**ep.trajectory.config, "task_id": ep.spec.task.id, "step": step,
                                    "expert_chunks": ep.spec.anchor, "policy_versions": ep.versions}
            ep.trajectory.save(folder / f"{ep.spec.task.id}.step{step}.{i}.json")

    def write_crucial_report(self) -> None:
        if not self.cfg.resample.enabled:
            return
        from ale.train.algorithms import crucial_chunks

        report: dict[str, Any] = {}
        for task_id, experts in sorted(self.store.experts.items()):
            for expert in experts:
                rates = self.store.success_by_anchor(self.store.track(task_id, expert))
                if rates:  # per task, per expert (anchors mean "chunks of this expert replayed")
                    report.setdefault(task_id, {})[expert.key] = {
                        "source": expert.source, "chunks": len(expert.chunks), "success_by_anchor": rates,
                        "crucial": [vars(c) for c in crucial_chunks(rates, 1.0, top_k=3)]}
        (self.out / "crucial_chunks.json").write_text(json.dumps(report, indent=1))

    def close(self) -> None:
        if not self.leader:
            self.dp.close()
            return
        if self.remote is not None:
            self.remote.close()
        else:
            self.chat.close()
            self.pool.close()
        self.logger.close()
        if self.dp is not None:
            self.dp.close()


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else math.nan


def _policy_expert(ep: Episode) -> Any:
    from ale.train.rollout import Expert

    return Expert([list(t.response_ids or []) for t in ep.trajectory.turns], ep.reward, "policy")


def split_stale(episodes: list[Episode], version: int, max_lag: int) -> tuple[list[Episode], list[Episode]]:
    """(fresh, stale): an episode is stale when its oldest sampled turn is more than ``max_lag`` versions
    behind the trainer's ``version``."""
    fresh = [ep for ep in episodes if version - ep.version <= max_lag]
    return fresh, [ep for ep in episodes if version - ep.version > max_lag]


class _Lookahead:
    """Async mode: step t+1's rollouts run while step t trains (a lookahead of exactly one step).

    The trainer takes step t's episodes, records them, then ``submit``s step t+1 (its specs are made
    on the trainer's thread, so the data position and expert store are only touched there) and trains
    step t. The rollout itself runs on one background thread that calls the backend: the worker process
    or Ray workers (the thread only waits on them) or the in-process engine (``async_worker: thread``).
    Its episodes are sampled by the weights of version t-1, then t once the update lands (loaded between
    two generate calls), so with ``max_policy_lag`` >= 1 none is stale."""

    def __init__(self, trainer: RLTrainer):
        self.trainer = trainer
        self.ex = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rollout-producer")
        self.pending: tuple[int, Future] | None = None

    def submit(self, step: int) -> Future:
        assert self.pending is None, "one step in flight at most"
        specs, seed = self.trainer._specs(step)
        self.pending = (step, self.ex.submit(self.trainer._rollout, specs, seed))
        return self.pending[1]

    def take(self, step: int) -> tuple[list[Episode], dict[str, float]]:
        if self.pending is None:
            self.submit(step)
        assert self.pending is not None and self.pending[0] == step, (self.pending, step)
        fut = self.pending[1]
        self.pending = None
        return fut.result()

    def stop(self) -> None:
        if self.pending is not None:  # a rollout still running (train() ended early): let it finish
            try:
                self.pending[1].result()
            except Exception:
                pass
            self.pending = None
        self.ex.shutdown(wait=True)


class SFTTrainer(_Base):
    """The report's SFT (Eq. 1-2): NLL over model chunks, dropping chunks whose tool call errored.

    Takes expert trajectories as they come: the policy's own runs (ids kept), and oracle / scripted /
    teacher trajectories (no ids, or another tokenizer's: re-tokenised for the policy, in the harness's
    ``agent.tool_format``, see ``ale.agent.trajectory.retokenize``)."""

    def __init__(self, cfg: TrainConfig, resume: bool = True):
        from ale.agent.trajectory import Trajectory

        files: list[Path] = []
        for spec in cfg.sft.data:
            p = Path(spec)
            if p.is_dir():
                files += sorted(p.glob("*.json"))
            elif p.is_file():
                files.append(p)
            else:
                raise FileNotFoundError(f"sft.data: {p} does not exist")
        if not files:
            raise ValueError(f"sft.data: no trajectory files (*.json) in {cfg.sft.data}")
        trajs = []
        for f in files:  # before the model loads: a bad file fails at once
            try:
                trajs.append(Trajectory.load(f))
            except (ValueError, KeyError, TypeError) as e:
                raise ValueError(f"sft.data: {f} is not a trajectory file ({type(e).__name__}: {e})") from None
        super().__init__(cfg, resume)
        self.rows = self._rows(trajs, cfg)
        self.position = int(self.extra_state.get("position", 0))

    def _rows(self, trajs: list[Any], cfg: TrainConfig) -> list[dict[str, Any]]:
        """Training rows in the policy's tokens; stops with one clear line when nothing is trainable."""
        from ale.agent.trajectory import training_data

        rows = [row for t in trajs for row in training_data(t, self.tok, cfg.agent.tool_format) if any(row["loss_mask"])]
        chunks = [(e - s, err) for row in rows for (s, e), err in zip(row["chunks"], row["chunk_errors"])]
        trainable = sum(n for n, err in chunks if not (err and cfg.sft.drop_errored_chunks))
        if trainable == 0:
            why = (f"all {len(chunks)} model chunks errored and sft.drop_errored_chunks drops them" if chunks
                   else "they hold no model turns")
            raise ValueError(f"sft.data: 0 trainable tokens in {len(trajs)} trajectories ({why})")
        return rows

    def state(self) -> dict[str, Any]:
        return {"position": self.position}

    def _order(self, epoch: int) -> list[int]:
        order = list(range(len(self.rows)))
        if self.cfg.sft.shuffle:
            random.Random(self.cfg.seed * 7919 + epoch).shuffle(order)
        return order

    def loss_fn(self, logp: torch.Tensor, b: TrainBatch) -> tuple[torch.Tensor, dict[str, float]]:
        errors = b.chunk_error if self.cfg.sft.drop_errored_chunks else None
        return sft_loss(logp, b.response_mask, chunk_ids=b.chunk_ids, chunk_error=errors,
                        aggregation="token_mean")

    def train(self, steps: int | None = None) -> list[dict[str, Any]]:
        bs = self.cfg.sft.batch_size
        per_epoch = math.ceil(len(self.rows) / bs)
        target = steps if steps is not None else min(self.cfg.steps, per_epoch * self.cfg.sft.epochs)
        records = []
        with self._progress(target) as bar:
            task = bar.add_task("sft", total=target, completed=self.step, info="")
            while self.step < target:
                t0 = time.time()
                epoch, start = divmod(self.position, per_epoch)
                idx = self._order(epoch)[start * bs:(start + 1) * bs]
                batch = collate([self.rows[i] for i in idx], self.tok.pad_token_id)
                stats = update_step(self.net, self.optimizer, self.scheduler, batch, self.loss_fn,
                                    self.cfg.optim.max_grad_norm, self.cfg.optim.micro_batch, dp=self.dp,
                                    needs_old_logp=False)
                self.position += 1
                self.step += 1
                self.version += 1
                dt = time.time() - t0
                record = {"step": self.step, "epoch": epoch, **stats, "tokens": float(batch.attention_mask.sum()),
                          "tokens_per_s": float(batch.attention_mask.sum()) / max(dt, 1e-9), "time_train_s": dt}
                if self.logger is not None:
                    self.logger.log(record)
                records.append(record)
                if self.cfg.checkpoint_every and self.step % self.cfg.checkpoint_every == 0 or self.step == target:
                    self.save_checkpoint()
                bar.update(task, completed=self.step, info=f"loss {stats['loss']:.4f}")
        return records

    def close(self) -> None:
        if self.logger is not None:
            self.logger.close()
        if self.dp is not None:
            self.dp.close()
