"""Data-parallel training across processes (``distributed.strategy: ddp | fsdp``), launched by torchrun.

    torchrun --nproc_per_node G -m ale.cli train rl CONFIG distributed.strategy=ddp

Every rank holds the policy, wrapped in torch ``DistributedDataParallel`` (``ddp``: full replicas,
gradients all-reduced) or sharded with ``fully_shard`` (``fsdp``, FSDP2: each decoder layer and the
root are a unit; parameters, gradients and optimiser state are split across ranks). Backend: NCCL
on GPUs (rank i uses ``cuda:LOCAL_RANK``), gloo on CPU (how the tests run it, on 127.0.0.1).

One update over G ranks is the single-process update, exactly up to float summation order: each
rank runs forward and backward over its contiguous slice of the batch's rows; the slices' log-probs
(values only) are all-gathered so the algorithm's loss sees the whole batch (group baselines, chunk
masks and token-mean normalisers are over every row); the gradient reaching a rank's rows is that of
the whole-batch loss, and DDP/FSDP average over ranks, so the loss is scaled by G before backward.

Roles: rank 0 (the leader) owns the generation engine, the sandboxes, the logs and the checkpoint
files; the other ranks only train. In RL they wait in ``follow`` for the leader's broadcast of what
to run next (an update on given rows, a checkpoint, the end); SFT ranks all read the same data and
run the same loop. Checkpoints hold full (unsharded) state, so a run resumes at any world size.
"""
from __future__ import annotations

import os
from typing import Any, Callable

import torch
import torch.distributed as dist

class DataParallel:
    def __init__(self, strategy: str):
        if strategy not in ("ddp", "fsdp"):
            raise ValueError(f"distributed.strategy: {strategy!r} is not ddp or fsdp")
        missing = [k for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT") if k not in os.environ]
        if missing:
            raise ValueError(f"distributed.strategy={strategy} runs under torchrun (missing {', '.join(missing)}): "
                             f"torchrun --nproc_per_node N -m ale.cli train rl|sft CONFIG ...")
        self.strategy = strategy
        self.rank, self.world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
        local = int(os.environ["LOCAL_RANK"])
        if torch.cuda.is_available():
            torch.cuda.set_device(local)  # "cuda" (policy.device auto) now means this rank's GPU
            backend = "nccl"
        else:
            backend = "gloo"
        if not dist.is_initialized():
            dist.init_process_group(backend)
        self.leader = self.rank == 0

    def wrap(self, model: torch.nn.Module) -> torch.nn.Module:
        """The module to run forward/backward through (call before building the optimiser)."""
        if self.strategy == "ddp":
            from torch.nn.parallel import DistributedDataParallel

            device = next(model.parameters()).device
            return DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
        from torch.distributed.fsdp import fully_shard

        layers = getattr(getattr(model, "model", None), "layers", None)
        if layers is None:
            raise ValueError(f"distributed.strategy=fsdp: {type(model).__name__} has no model.layers to shard")
        for layer in layers:
            fully_shard(layer)
        fully_shard(model)  # in place: model is now the sharded module
        return model

    def rows(self, n: int, rank: int | None = None) -> tuple[int, int]:
        """A rank's (default: this one's) contiguous slice [lo, hi) of n rows; the first n % world ranks
        take one more."""
        rank = self.rank if rank is None else rank
        base, extra = divmod(n, self.world)
        lo = rank * base + min(rank, extra)
        return lo, lo + base + (rank < extra)

    def gather(self, local: torch.Tensor, n: int) -> torch.Tensor:
        """[n, T] from every rank's [hi - lo, T] slice: other ranks' rows are values (no gradient), ours
        keep theirs. ``local`` may carry one extra row (a rank with no rows of its own runs one as a
        zero-weight dummy, see update_step); it is dropped here."""
        lo, hi = self.rows(n)
        width = -(-n // self.world)
        padded = local.new_zeros((width, *local.shape[1:]))
        padded[:hi - lo] = local.detach()[:hi - lo]
        parts = [torch.empty_like(padded) for _ in range(self.world)]
        dist.all_gather(parts, padded)
        values = torch.cat([p[:b - a] for p, (a, b) in zip(parts, (self.rows(n, r) for r in range(self.world)))])
        return torch.cat([values[:lo], local[:hi - lo], values[hi:]])

    def broadcast(self, obj: Any = None) -> Any:
        """The leader's ``obj`` on every rank."""
        box = [obj if self.leader else None]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def model_state(self, model: torch.nn.Module) -> dict[str, torch.Tensor]:
        """The full state dict on the leader (a collective under fsdp: every rank calls it; others get {})."""
        if self.strategy == "ddp":
            return model.module.state_dict() if self.leader else {}
        from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

        return get_model_state_dict(model, options=StateDictOptions(full_state_dict=True, cpu_offload=True))

    def optimizer_state(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
        if self.strategy == "ddp":
            return optimizer.state_dict() if self.leader else {}
        from torch.distributed.checkpoint.state_dict import StateDictOptions, get_optimizer_state_dict

        full = get_optimizer_state_dict(model, optimizer, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
        if not self.leader:
            return {}
        # torch's own layout (parameters numbered in param_groups order) rather than names, so one
        # checkpoint resumes under any strategy
        ids: dict[str, int] = {}
        groups = [{**g, "params": [ids.setdefault(name, len(ids)) for name in g["params"]]} for g in full["param_groups"]]
        return {"state": {ids[name]: v for name, v in full["state"].items()}, "param_groups": groups}

    def load(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer, model_sd: dict, optim_sd: dict) -> None:
        """Full state (read from a checkpoint by every rank) into the wrapped model and its optimiser."""
        if self.strategy == "ddp":
            model.module.load_state_dict(model_sd)
            optimizer.load_state_dict(optim_sd)
            return
        from torch.distributed.checkpoint.state_dict import (StateDictOptions, set_model_state_dict,
                                                             set_optimizer_state_dict)

        full = StateDictOptions(full_state_dict=True)
        set_model_state_dict(model, model_sd, options=full)
        names = {p: name for name, p in model.named_parameters()}
        order = [names[p] for g in optimizer.param_groups for p in g["params"]]  # numbered as in optimizer_state
        by_name = {"state": {order[i]: v for i, v in optim_sd["state"].items()},
                   "param_groups": [{**g, "params": [order[i] for i in g["params"]]} for g in optim_sd["param_groups"]]}
        set_optimizer_state_dict(model, optimizer, by_name, options=full)

    def follow(self, handlers: dict[str, Callable[[Any], Any]]) -> None:
        """Non-leader ranks: run what the leader ``lead``s, until it sends ``stop``."""
        while True:
            kind, payload = self.broadcast()
            if kind == "stop":
                return
            handlers[kind](payload)

    def lead(self, kind: str, payload: Any = None) -> None:
        """Leader: tell the followers to run ``kind``; the leader then runs it itself."""
        self.broadcast((kind, payload))

    def close(self) -> None:
        if dist.is_initialized():
            dist.destroy_process_group()
