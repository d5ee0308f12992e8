"""Training configuration: YAML validated by pydantic, with ``key=value`` overrides from the CLI.

Every section forbids unknown keys, so a typo fails at once with its dotted name. Overrides use
dotted paths (``algo.gamma=0.9``, ``rollout.n_samples=4``); values are parsed as YAML scalars.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ale.train.algorithms import AlgoConfig
from ale.train.policy import PolicyConfig


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SamplingConfig(_Section):
    kind: Literal["hf", "vllm"] = "hf"
    temperature: float = Field(1.0, ge=0.0)
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    top_k: int = Field(0, ge=0)
    max_new_tokens: int = Field(128, gt=0)
    max_wait_s: float = Field(60.0, gt=0)  # lock-step batching: longest wait for slow episodes
    # hf engine's copy of the weights: same (the trainer's dtype) or a lower precision, as inference engines
    # often run next to an fp32 trainer; the source of train/inference mismatch that the masks guard against
    dtype: Literal["same", "bfloat16", "float16"] = "same"

    @model_validator(mode="after")
    def _dtype_of_hf_only(self) -> "SamplingConfig":
        if self.dtype != "same" and self.kind != "hf":
            raise ValueError("sampling.dtype applies to the hf engine only (vllm has its own dtype setting)")
        return self


class AgentSection(_Section):
    max_steps: int = Field(4, gt=0)  # model turns per episode
    command_timeout_s: float = Field(20.0, gt=0)
    wall_time_s: float = Field(300.0, gt=0)
    tool_format: Literal["native", "text", "auto"] = "auto"
    max_format_errors: int = Field(3, gt=0)
    tools: list[str] | None = None
    system_prompt: str | None = None

    def harness(self) -> Any:
        """The agent harness's ``AgentConfig`` for these settings (rollouts and evaluation use the same)."""
        from ale.agent.loop import DEFAULT_SYSTEM_PROMPT, AgentConfig

        return AgentConfig(system_prompt=self.system_prompt or DEFAULT_SYSTEM_PROMPT, max_steps=self.max_steps,
                           wall_time_s=self.wall_time_s, command_timeout_s=self.command_timeout_s,
                           tool_format=self.tool_format, max_format_errors=self.max_format_errors,
                           tools=tuple(self.tools) if self.tools else None, notes_file=None)


class RolloutConfig(_Section):
    tasks: str = "examples/tasks/easy-words"  # task folder(s) for ale.bench.load_tasks ("builtin" allowed)
    task_filter: list[str] | None = None  # task ids to keep
    tasks_per_step: int = Field(2, gt=0)
    n_samples: int = Field(2, gt=0)  # episodes per task (one group)
    concurrency: int = Field(8, gt=0)  # episodes in flight at once
    max_resamples: int = Field(2, ge=0)  # per episode broken by infrastructure
    async_mode: bool = False  # generation of step t+1 overlaps training of step t
    max_policy_lag: int = Field(1, ge=0)  # async: samples older than this many versions are dropped
    # async: where step t+1's rollouts run while step t trains. process: a rollout worker process of its
    # own (engine replica + sandboxes, weights shipped after each update; no GIL or thread-pool sharing
    # with training); thread: a thread in the trainer's process (shares its engine, GIL and cores)
    async_worker: Literal["process", "thread"] = "process"
    engine_threads: int | None = Field(None, gt=0)  # torch threads of a rollout worker process (None: torch_threads)
    memory: str = "1g"
    workdir: str = "/workspace"
    reward: Literal["pass", "fraction"] = "pass"  # pass: the report's binary R; fraction: tests passed / total
    save_trajectories: bool = False  # write every episode to OUT/trajectories/ (usable as SFT data)


class OptimConfig(_Section):
    lr: float = Field(1e-5, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    betas: tuple[float, float] = (0.9, 0.999)
    max_grad_norm: float = Field(1.0, ge=0)  # 0: no clipping (norm still logged)
    warmup_steps: int = Field(0, ge=0)
    schedule: Literal["constant", "linear", "cosine"] = "constant"
    micro_batch: int = Field(8, gt=0)
    # auto: no separate pi_old forward when the batch is provably on-policy (update.update_step); always: recompute
    recompute_old_logp: Literal["auto", "always"] = "auto"
    # RL: optimiser steps per batch = epochs x minibatches (PPO-style; pi_old fixed before the first, so
    # later steps see pi/pi_old != 1 and IPA's ratio truncation acts). Minibatches split whole groups.
    epochs: int = Field(1, gt=0)
    minibatches: int = Field(1, gt=0)
    # pi_old of rows sampled by an older policy version (async): engine = the sampling policy's log mu;
    # recompute = the trainer's current weights (what ran before these settings existed)
    stale_old_logp: Literal["engine", "recompute"] = "engine"


class ResampleConfig(_Section):
    """Chunk-level initialised resampling (the report's Eq. 10 setting)."""

    enabled: bool = False
    experts: str | None = None  # folder of expert trajectory JSON files (teacher runs); or from solutions
    expert_from_solution: bool = True  # build a scripted expert from each task's reference solution
    add_successes: bool = True  # the policy's own successes (no prefix) join the store
    mode: Literal["sequential", "parallel"] = "parallel"
    # how a rollout reaches its anchor: fork (the expert's prefix runs once per task and expert, with a
    # sandbox snapshot at each anchor; rollouts fork it) or replay (every rollout re-runs the prefix's
    # tool calls in a fresh sandbox)
    start: Literal["fork", "replay"] = "fork"
    # parallel: anchors per expert, spread over its valid anchors 1..K-1 from the last down and used in rotation
    # across a step's anchored samples and steps; a K-chunk expert has K-1 (fewer than asked: all, with a warning)
    anchors_per_task: int = Field(2, gt=0)
    fraction: float = Field(0.5, ge=0.0, le=1.0)  # of each group's samples that start from an anchor
    master_threshold: float = Field(0.5, ge=0.0, le=1.0)  # sequential: success rate to move the anchor back
    window: int = Field(4, gt=0)  # sequential: episodes at an anchor considered for mastery


class SFTConfig(_Section):
    data: list[str] = []  # trajectory files or folders of them
    epochs: int = Field(1, gt=0)
    batch_size: int = Field(4, gt=0)
    shuffle: bool = True
    drop_errored_chunks: bool = True  # the report's m_k = 1[tool call did not error]


class SafetyConfig(_Section):
    """Safety detectors on every RL episode (ale.safety.rl); none of it runs when the section is absent."""

    enabled: bool = False
    end_episode: bool = False  # a detection ends the episode (the forbidden command does not run)
    penalty: float = Field(0.0, ge=0.0)  # subtracted from the reward of an episode showing a behaviour
    behaviours: list[str] | None = None  # which behaviours count (None: all of ale.safety.BEHAVIOURS)

    @model_validator(mode="after")
    def _known(self) -> "SafetyConfig":
        from ale.safety.taxonomy import BEHAVIOURS

        unknown = sorted(set(self.behaviours or ()) - set(BEHAVIOURS))
        if unknown:
            raise ValueError(f"unknown behaviours {unknown}; known: {', '.join(BEHAVIOURS)}")
        return self


class EvaluationConfig(_Section):
    """Held-out success during `ale train rl` (ale.train.evaluate: plain episodes, no expert prefix), logged
    as ``heldout_success`` / ``heldout_n`` every ``every`` steps; none of it runs when the section is absent."""

    tasks: str  # task folder(s) for ale.bench.load_tasks, none of them trained on
    every: int = Field(..., gt=0)  # RL steps between evaluations (and after the last step)
    samples: int = Field(1, gt=0)  # episodes per task
    temperature: float = Field(0.0, ge=0.0)  # 0: greedy


class DistributedConfig(_Section):
    ray_address: str | None = None  # None: rollouts in-process; "auto" or ray://HOST:PORT: Ray rollout workers
    num_rollout_workers: int = Field(1, gt=0)
    # data-parallel training across torchrun processes (ale/train/parallel.py): none | ddp | fsdp
    strategy: Literal["none", "ddp", "fsdp"] = "none"


class TrainConfig(_Section):
    kind: Literal["rl", "sft"] = "rl"
    run_note: str = ""  # what was actually run with this file
    seed: int = 0
    steps: int = Field(10, gt=0)
    out: str = "runs/default"
    checkpoint_every: int = Field(1, ge=0)  # 0: only at the end
    keep_checkpoints: int = Field(2, gt=0)
    tensorboard: bool = True
    progress: bool = True
    torch_threads: int | None = None
    policy: PolicyConfig = PolicyConfig()
    sampling: SamplingConfig = SamplingConfig()
    agent: AgentSection = AgentSection()
    rollout: RolloutConfig = RolloutConfig()
    algo: AlgoConfig = AlgoConfig()
    optim: OptimConfig = OptimConfig()
    resample: ResampleConfig = ResampleConfig()
    sft: SFTConfig = SFTConfig()
    safety: SafetyConfig = SafetyConfig()
    evaluation: EvaluationConfig | None = None
    distributed: DistributedConfig = DistributedConfig()

    @model_validator(mode="after")
    def _fsdp_without_lora(self) -> "TrainConfig":
        if self.distributed.strategy == "fsdp" and self.policy.lora is not None:
            # the engine needs the merged weights of a peft model, which a sharded one cannot give
            raise ValueError("distributed.strategy=fsdp does not combine with policy.lora (use ddp)")
        if self.distributed.strategy == "fsdp" and self.evaluation is not None:
            raise ValueError("distributed.strategy=fsdp does not combine with evaluation (it needs the whole model; "
                             "use ddp)")
        return self


class ConfigError(ValueError):
    """A bad config file, key or value; the message names it."""


def _set(tree: dict[str, Any], dotted: str, value: Any) -> None:
    node = tree
    parts = dotted.split(".")
    for part in parts[:-1]:
        nxt = node.setdefault(part, {})
        if not isinstance(nxt, dict):
            raise ConfigError(f"override {dotted}: {part} is not a section")
        node = nxt
    node[parts[-1]] = value


def load_config(path: str | Path | None, overrides: list[str] | None = None, **direct: Any) -> TrainConfig:
    """Read YAML, apply ``key=value`` overrides then ``direct`` (dotted keys), validate."""
    tree: dict[str, Any] = {}
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"{p}: no such config file")
        try:
            tree = yaml.safe_load(p.read_text()) or {}
        except yaml.YAMLError as e:
            raise ConfigError(f"{p}: invalid YAML: {e}") from None
        if not isinstance(tree, dict):
            raise ConfigError(f"{p}: expected a mapping at the top level")
    for item in overrides or []:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"override {item!r}: expected key=value")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        _set(tree, key.strip(), value)
    for key, value in direct.items():
        if value is not None:
            _set(tree, key, value)
    try:
        return TrainConfig.model_validate(tree)
    except ValidationError as e:
        lines = []
        for err in e.errors():
            where = ".".join(str(x) for x in err["loc"]) or "(top level)"
            what = "unknown key" if err["type"] == "extra_forbidden" else err["msg"].removeprefix("Value error, ")
            shown = err["type"] != "extra_forbidden" and err["loc"]  # a whole-config check names its keys itself
            lines.append(f"{where}: {what}" + (f" (got {err.get('input')!r})" if shown else ""))
        raise ConfigError("bad config: " + "; ".join(lines)) from None
