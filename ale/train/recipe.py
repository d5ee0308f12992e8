"""The report's recipe on one machine: expert data -> SFT -> RL -> held-out evaluation, per seed.

    ale train recipe examples/recipes/demo.yaml --out runs/demo

One readable pipeline, used by `ale demo` and by the experiments in docs/results.md:

1. **Tasks.** A generated family (``ale.bench.generators``) split into ``n_train`` training instances
   and ``n_heldout`` held-out instances that share no instruction with them (generated from another
   seed; duplicates are dropped). RL and SFT only ever see the training split.
2. **Expert data.** The scripted expert (the reference solution, one chunk per step,
   ``expert_from_solution``) is replayed through the agent harness on every training task, in the
   policy's own tokenizer, and graded; the passing trajectories are the SFT data.
3. **SFT** (the report's Eq. 1-2) for ``sft.steps`` steps from the base policy (skipped at 0).
4. **RL arms**: each arm starts from the same SFT checkpoint and trains ``rl.steps`` steps with its
   own overrides of the training config (algorithm, masks, resampling, or ``algo.lambda_rl=0`` as
   an imitation-only control); held-out success every ``evaluation.every`` steps and at the end.

The held-out success of the policy each arm starts from is ``heldout_before``, after RL
``heldout_after``; ``summary.json`` has them per seed and arm, with the mean and a 95% t-interval
over seeds, and ``results.png`` the curves.
"""
from __future__ import annotations

import json
import math
import shutil
import statistics
import time
from pathlib import Path
from typing import Any, Callable

import yaml
from pydantic import BaseModel, ConfigDict, Field

from ale.train.config import ConfigError, TrainConfig, load_config


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TaskSplit(_Section):
    family: str
    params: dict[str, Any] = {}
    n_train: int = Field(64, gt=0)
    n_heldout: int = Field(32, gt=0)
    seed: int = 0  # generation seed of the training split (the held-out split uses seed + 1_000)


class Arm(_Section):
    name: str
    overrides: list[str] = []  # key=value on the training config, e.g. algo.name=topr
    from_sft: bool = True  # False: RL from the base policy (no SFT stage for this arm)


class Stage(_Section):
    steps: int = Field(0, ge=0)
    overrides: list[str] = []


class SFTStage(Stage):
    # None: every seed trains its own SFT checkpoint; a seed: one SFT checkpoint (trained with that seed)
    # that every seed's arms start from, so seeds differ only in RL ("from the same SFT checkpoint")
    seed: int | None = None


class Evaluation(_Section):
    samples: int = Field(1, gt=0)  # episodes per held-out task
    temperature: float = Field(0.0, ge=0.0)  # 0: greedy
    every: int = Field(0, ge=0)  # RL steps between held-out evaluations (0: only before and after)


class RecipeConfig(_Section):
    run_note: str = ""  # what was actually run with this file
    train: dict[str, Any]  # a training config (kind rl): policy, agent, sampling, rollout, algo, optim, ...
    tasks: TaskSplit
    seeds: list[int] = [0]
    sft: SFTStage = SFTStage()
    rl: Stage = Stage(steps=10)
    evaluation: Evaluation = Evaluation()
    arms: list[Arm] = [Arm(name="ipa")]
    evaluate_base: bool = True  # also score the base policy (before SFT)


def load_recipe(path: str | Path, overrides: list[str] | None = None) -> RecipeConfig:
    from pydantic import ValidationError

    from ale.train.config import _set

    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{p}: no such recipe file")
    tree = yaml.safe_load(p.read_text()) or {}
    for item in overrides or []:
        key, sep, raw = item.partition("=")
        if not sep:
            raise ConfigError(f"override {item!r}: expected key=value")
        _set(tree, key.strip(), yaml.safe_load(raw) if raw.strip() else "")
    try:
        return RecipeConfig.model_validate(tree)
    except ValidationError as e:
        raise ConfigError("bad recipe: " + "; ".join(
            f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors())) from None


def instance_key(task_dir: Path) -> str:
    """What makes an instance what it is: its instruction, tests and files (not its id)."""
    import hashlib

    h = hashlib.sha256()
    for p in sorted(task_dir.rglob("*")):
        if p.is_file() and p.name != "task.yaml":
            h.update(str(p.relative_to(task_dir)).encode() + b"\0" + p.read_bytes() + b"\0")
    from ale.bench.task import load_task

    h.update(load_task(task_dir).instruction.encode())
    return h.hexdigest()


def make_split(split: TaskSplit, out: Path) -> tuple[Path, Path]:
    """(train dir, held-out dir); held-out instances identical to a training one (same instruction, tests
    and files) are dropped."""
    from ale.bench.generators import generate

    train_dir, held_dir = out / "train", out / "heldout"
    if not (train_dir.exists() and held_dir.exists()):
        train = generate(split.family, split.n_train, split.seed, train_dir, **split.params)
        seen = {instance_key(p) for p in train}
        for p in generate(split.family, split.n_heldout, split.seed + 1_000, held_dir, **split.params):
            if instance_key(p) in seen:
                shutil.rmtree(p)
    if not any(held_dir.iterdir()):
        raise ValueError(f"tasks: every held-out instance of {split.family} {split.params} also occurs in training; "
                         "the family needs more variety (parameters) for a held-out split")
    return train_dir, held_dir


def _stage_config(tree: dict[str, Any], overrides: list[str], path: Path, **direct: Any) -> TrainConfig:
    """Write the stage's config file (what ran, kept with the run) and load it with the overrides."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(tree, sort_keys=False))
    return load_config(path, overrides, **direct)


def expert_data(cfg: TrainConfig, tasks: list[Any], out: Path) -> int:
    """Replay the scripted expert on every task through the harness; keep the passing trajectories."""
    from ale.train.engine import EngineChatModel, HFEngine, SamplingParams
    from ale.train.policy import load_policy
    from ale.train.rollout import EpisodeSpec, SandboxPool, expert_from_solution, run_episodes

    if out.exists():  # complete: written under another name and renamed at the end
        return len(list(out.glob("*.json")))
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    model, tok = load_policy(cfg.policy)
    chat = EngineChatModel(HFEngine(model, tok.eos_token_id, tok.pad_token_id), tok, SamplingParams(),
                           cfg.policy.context_window)  # never samples: every turn is replayed
    pool = SandboxPool(cfg.rollout.memory, cfg.rollout.workdir)
    try:
        specs = []
        for t in tasks:
            e = expert_from_solution(t, tok)
            if e is not None:
                specs.append(EpisodeSpec(task=t, group=len(specs), client_id=len(specs), expert=e, anchor=len(e.chunks)))
        res = run_episodes(specs, pool, chat, cfg.agent.harness(), cfg.rollout.concurrency, 1, "pass")
    finally:
        chat.close()
        pool.close()
    kept = 0
    for ep in res.episodes:
        if ep.reward >= 1.0:
            ep.trajectory.config = {**ep.trajectory.config, "task_id": ep.spec.task.id, "source": "solution"}
            ep.trajectory.save(tmp / f"{ep.spec.task.id}.json")
            kept += 1
    tmp.rename(out)
    return kept


def mean_ci(values: list[float], low: float = 0.0) -> dict[str, Any]:
    """Mean over seeds with a 95% t-interval (Student t, n-1 degrees of freedom), clipped to [low, 1]
    (success rates: low 0; gains, which can be negative: low -1)."""
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return {"mean": mean, "ci95": None, "n": n}
    t = {2: 12.706, 3: 4.303, 4: 3.182, 5: 2.776, 6: 2.571, 7: 2.447, 8: 2.365, 9: 2.306, 10: 2.262}.get(n, 1.96)
    half = t * statistics.stdev(values) / math.sqrt(n)
    return {"mean": mean, "ci95": [max(low, mean - half), min(1.0, mean + half)], "n": n, "values": values}


def run_recipe(rc: RecipeConfig, out: str | Path, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run every seed (a seed or arm already finished in ``out`` is read back, not run again), then
    write ``summary.json`` and ``results.png``."""
    from ale.bench.task import load_tasks

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.time()
    train_dir, held_dir = make_split(rc.tasks, out / "tasks")
    heldout, n_train = load_tasks(held_dir), len(load_tasks(train_dir))
    log(f"tasks: {rc.tasks.family} {n_train} train / {len(heldout)} held-out (no instance in both)")
    tree = {**rc.train, "kind": "rl", "rollout": {**rc.train.get("rollout", {}), "tasks": str(train_dir)}}
    per_seed = {str(seed): _run_seed(rc, tree, seed, out / f"seed-{seed}", train_dir, heldout, log) for seed in rc.seeds}
    summary = {"family": rc.tasks.family, "params": rc.tasks.params, "n_train": n_train, "n_heldout": len(heldout),
               "model": rc.train.get("policy", {}).get("model", "tiny"), "seeds": rc.seeds, "sft_steps": rc.sft.steps, "sft_seed": rc.sft.seed,
               "steps": rc.rl.steps, "per_seed": per_seed, "wall_s": round(time.time() - t_start, 1), "arms": {}}
    for arm in rc.arms:
        runs = [per_seed[str(s)]["arms"][arm.name] for s in rc.seeds]
        steps = sorted(set.intersection(*({p["step"] for p in r["curve"]} for r in runs)))
        summary["arms"][arm.name] = {"heldout_before": mean_ci([r["heldout_before"] for r in runs]),
                                     "heldout_after": mean_ci([r["heldout_after"] for r in runs]),
                                     "gain": mean_ci([r["heldout_after"] - r["heldout_before"] for r in runs], low=-1.0),
                                     # held-out success at every step all seeds evaluated (equal-step comparisons)
                                     "by_step": {str(k): mean_ci([next(p["success"] for p in r["curve"] if p["step"] == k)
                                                                  for r in runs]) for k in steps}}
    first = summary["arms"][rc.arms[0].name]
    summary["heldout_before"], summary["heldout_after"] = first["heldout_before"]["mean"], first["heldout_after"]["mean"]
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    plot_recipe(summary, out / "results.png")
    return summary


def _run_seed(rc: RecipeConfig, tree: dict[str, Any], seed: int, sdir: Path, train_dir: Path, heldout: list[Any],
              log: Callable[[str], None]) -> dict[str, Any]:
    """Base and SFT held-out figures, the SFT checkpoint, then every arm; each result kept in sdir."""
    from ale.train.evaluate import evaluate
    from ale.train.policy import load_policy

    tree = {**tree, "seed": seed, "policy": {**tree.get("policy", {}), "init_seed": seed}}
    cfg = _stage_config(tree, [], sdir / "train.yaml", out=str(sdir / "base"))
    ev = rc.evaluation
    stages_file = sdir / "stages.json"
    record: dict[str, Any] = json.loads(stages_file.read_text()) if stages_file.exists() else {}

    def heldout_success(model: Any, tok: Any, pool: Any = None) -> dict[str, Any]:
        return evaluate(model, tok, cfg, heldout, pool, ev.samples, ev.temperature, seed=seed).summary()

    if rc.evaluate_base and "heldout_base" not in record:
        model, tok = load_policy(cfg.policy)
        record["heldout_base"] = heldout_success(model, tok)
        stages_file.write_text(json.dumps(record, indent=1))
    if "heldout_base" in record:
        log(f"seed {seed}: base policy held-out success {record['heldout_base']['success']:.2f}")
    sft_dir = sdir.parent / f"seed-{seed if rc.sft.seed is None else rc.sft.seed}"
    if rc.sft.steps > 0:
        record.update(_sft_stage(rc, tree, sft_dir, train_dir, heldout))
    if "heldout_sft" in record:
        log(f"seed {seed}: SFT on {record['expert_trajectories']} expert trajectories, {rc.sft.steps} steps: "
            f"held-out success {record['heldout_sft']['success']:.2f}")
    record["arms"] = {}
    for arm in rc.arms:
        done = sdir / arm.name / "arm.json"
        if not done.exists():
            from_sft = arm.from_sft and rc.sft.steps > 0
            before = record.get("heldout_sft") if from_sft else record.get("heldout_base")
            start = str(sft_dir / "sft") if from_sft else None
            result = _run_arm(rc, tree, arm, seed, sdir, start, before, heldout_success, log)
            done.write_text(json.dumps(result, indent=1))
        record["arms"][arm.name] = json.loads(done.read_text())
    return record


def _sft_stage(rc: RecipeConfig, tree: dict[str, Any], sft_dir: Path, train_dir: Path,
               heldout: list[Any]) -> dict[str, Any]:
    """Expert data and SFT in ``sft_dir`` (the seed folder whose seed trains it), its held-out figure;
    done once: later calls, from this or a concurrent process (``sft.seed``), read ``sft.json``."""
    import fcntl

    from ale.bench.task import load_tasks
    from ale.train.evaluate import evaluate
    from ale.train.trainer import SFTTrainer

    seed = int(sft_dir.name.removeprefix("seed-"))
    sft_dir.mkdir(parents=True, exist_ok=True)
    result_file = sft_dir / "sft.json"
    with open(sft_dir / ".sft.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a concurrent process of another seed waits for this SFT
        if result_file.exists():
            return json.loads(result_file.read_text())
        t0 = time.time()
        tree = {**tree, "seed": seed, "policy": {**tree.get("policy", {}), "init_seed": seed}}
        cfg = _stage_config(tree, [], sft_dir / "train.yaml", out=str(sft_dir / "base"))
        n_expert = expert_data(cfg, load_tasks(train_dir), sft_dir / "expert")
        shared = {k: tree[k] for k in ("torch_threads", "progress", "tensorboard", "optim") if k in tree}
        sft_tree = {"kind": "sft", "seed": seed, "policy": tree["policy"], "checkpoint_every": 0, **shared,
                    "sft": {"data": [str(sft_dir / "expert")]}}
        scfg = _stage_config(sft_tree, rc.sft.overrides, sft_dir / "sft.yaml", out=str(sft_dir / "sft"),
                             steps=rc.sft.steps)
        trainer = SFTTrainer(scfg, resume=True)
        try:
            if trainer.step < rc.sft.steps:
                trainer.train(rc.sft.steps)
            ev = rc.evaluation
            heldout_sft = evaluate(trainer.model, trainer.tok, cfg, heldout, None, ev.samples, ev.temperature,
                                   seed=seed).summary()
        finally:
            trainer.close()
        result = {"heldout_sft": heldout_sft, "expert_trajectories": n_expert, "sft_seed": seed,
                  "sft_wall_s": round(time.time() - t0, 1)}
        result_file.write_text(json.dumps(result, indent=1))
        return result


def _run_arm(rc: RecipeConfig, tree: dict[str, Any], arm: Arm, seed: int, sdir: Path, start: str | None,
             before: dict[str, Any] | None, heldout_success: Callable[..., dict[str, Any]],
             log: Callable[[str], None]) -> dict[str, Any]:
    """RL from ``start`` (the SFT checkpoint; None: the base policy), held-out success every
    ``evaluation.every`` steps."""
    from ale.train.metrics import read_metrics
    from ale.train.trainer import RLTrainer

    arm_tree = {**tree, "policy": {**tree["policy"], "init_from": start}}
    cfg = _stage_config(arm_tree, arm.overrides, sdir / arm.name / "train.yaml", out=str(sdir / arm.name),
                        steps=rc.rl.steps, checkpoint_every=0)
    t0 = time.time()
    trainer = RLTrainer(cfg, resume=False)
    try:
        curve = [{"step": 0, **(before or heldout_success(trainer.model, trainer.tok, trainer.pool))}]
        every = rc.evaluation.every or rc.rl.steps
        while trainer.step < rc.rl.steps:
            trainer.train(min(trainer.step + every, rc.rl.steps))
            curve.append({"step": trainer.step, **heldout_success(trainer.model, trainer.tok, trainer.pool)})
            log(f"seed {seed} {arm.name}: step {trainer.step} held-out success {curve[-1]['success']:.2f}")
    finally:
        trainer.close()
    metrics = read_metrics(sdir / arm.name)
    return {"heldout_before": curve[0]["success"], "heldout_after": curve[-1]["success"], "curve": curve,
            "train_plain_reward_last10": _mean([m.get("reward_plain_mean") for m in metrics[-10:]]),
            "grad_norm": [m.get("grad_norm") for m in metrics],
            "chunks_truncated_frac": _mean([m.get("chunks_truncated_frac") for m in metrics]),
            "mask_kept_frac": _mean([m.get("mask_kept_frac") for m in metrics]),
            "wall_s": round(time.time() - t0, 1)}


def _mean(values: list[Any]) -> float | None:
    vals = [v for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    return sum(vals) / len(vals) if vals else None


def plot_recipe(summary: dict[str, Any], path: Path) -> Path:
    """Held-out success against RL step (mean over seeds, one line per arm) and each arm's grad-norm."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.8))
    seeds = list(summary["per_seed"])
    for arm in summary["arms"]:
        curves = [summary["per_seed"][s]["arms"][arm]["curve"] for s in seeds]
        steps = [p["step"] for p in curves[0]]
        ys = [sum(c[i]["success"] for c in curves) / len(curves) for i in range(len(steps))]
        ax1.plot(steps, ys, marker="o", label=arm)
        norms = [summary["per_seed"][s]["arms"][arm]["grad_norm"] for s in seeds]
        g = [_mean([n[i] for n in norms if i < len(n)]) for i in range(max(map(len, norms)))]
        ax2.plot(range(1, len(g) + 1), g, label=arm)
    ax1.set(xlabel="RL step", ylabel="held-out success", ylim=(-0.02, 1.02),
            title=f"{summary['family']} ({summary['model']}), mean of {len(seeds)} seed(s)")
    ax2.set(xlabel="RL step", ylabel="grad-norm (before clipping)", title="gradient norm")
    if any(y > 0 for line in ax2.get_lines() for y in line.get_ydata() if y is not None):
        ax2.set_yscale("log")  # the report's stability figure is a log-scale grad-norm curve
    for ax in (ax1, ax2):
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def print_summary(summary: dict[str, Any]) -> None:
    """The held-out table: per arm, success before and after RL (mean over seeds, 95% interval)."""
    from rich.console import Console
    from rich.table import Table

    def cell(m: dict[str, Any]) -> str:
        ci = f" [{m['ci95'][0]:.2f}, {m['ci95'][1]:.2f}]" if m.get("ci95") else ""
        return f"{m['mean']:.2f}{ci}"

    table = Table(title=f"held-out success on {summary['n_heldout']} unseen {summary['family']} tasks "
                        f"({summary['model']}, {len(summary['seeds'])} seed(s), {summary['steps']} RL steps)")
    for col in ("arm", "before RL", "after RL", "gain"):
        table.add_column(col)
    for name, arm in summary["arms"].items():
        table.add_row(name, cell(arm["heldout_before"]), cell(arm["heldout_after"]), f"{arm['gain']['mean']:+.2f}")
    Console().print(table)
