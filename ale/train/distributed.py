"""Ray rollout workers: each owns its sandboxes (a SandboxPool on its node) and an engine replica.

Used when ``distributed.ray_address`` is set ("local" starts a single-node Ray in this process,
"auto" joins the running cluster, "ray://HOST:PORT" joins through Ray Client). The trainer splits
a step's episode specs over the workers (contiguous slices, so client ids and batch order stay
fixed), and after each update puts the new weights in the object store once; each worker loads
them with the new policy version before its next rollout. Without an address everything runs in
the trainer's process (the default).

Multi-GPU training itself (DDP/FSDP) is documented in docs/train.md; it is not wired here.
"""
from __future__ import annotations

from typing import Any

import torch


class RolloutWorker:
    """Ray actor body: engine replica + sandbox pool + the same ``run_episodes`` as in-process."""

    def __init__(self, cfg_json: str, state_dict: dict[str, torch.Tensor], version: int):
        from ale.agent.loop import DEFAULT_SYSTEM_PROMPT, AgentConfig
        from ale.train.config import TrainConfig
        from ale.train.engine import EngineChatModel, HFEngine, SamplingParams
        from ale.train.policy import engine_base, load_policy
        from ale.train.rollout import SandboxPool

        self.cfg = cfg = TrainConfig.model_validate_json(cfg_json)
        if cfg.torch_threads:
            torch.set_num_threads(cfg.torch_threads)
        model, tok = load_policy(cfg.policy.model_copy(update={"lora": None}))
        model = engine_base(model)
        model.load_state_dict(state_dict)
        self.engine = HFEngine(model, tok.eos_token_id, tok.pad_token_id, version=version)
        s = cfg.sampling
        self.chat = EngineChatModel(self.engine, tok, SamplingParams(s.temperature, s.top_p, s.top_k, s.max_new_tokens),
                                    cfg.policy.context_window, seed=cfg.seed, max_wait_s=s.max_wait_s)
        a = cfg.agent
        self.agent_cfg = AgentConfig(system_prompt=a.system_prompt or DEFAULT_SYSTEM_PROMPT, max_steps=a.max_steps,
                                     wall_time_s=a.wall_time_s, command_timeout_s=a.command_timeout_s,
                                     tool_format=a.tool_format, max_format_errors=a.max_format_errors,
                                     tools=tuple(a.tools) if a.tools else None, notes_file=None)
        self.pool = SandboxPool(cfg.rollout.memory, cfg.rollout.workdir)

    def load_weights(self, state_dict: dict[str, torch.Tensor], version: int) -> int:
        self.engine.load_weights(state_dict, version)
        return version

    def collect(self, specs: list[Any], seed: int) -> Any:
        from ale.train.rollout import run_episodes

        r = self.cfg.rollout
        self.chat.seed, self.chat.batches = seed, 0
        gen0, tok0 = self.chat.generate_s, self.chat.tokens_generated
        res = run_episodes(specs, self.pool, self.chat, self.agent_cfg, r.concurrency, r.max_resamples, r.reward)
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
        actor = ray.remote(num_cpus=0)(RolloutWorker)
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
                               max(p[0].wall_s for p in parts))
        # workers generate in parallel: the step's generation time is the slowest worker's
        return merged, max(p[1] for p in parts), sum(p[2] for p in parts)

    def close(self) -> None:
        self.ray.get([w.close.remote() for w in self.workers])
        for w in self.workers:
            self.ray.kill(w)
