"""Scale-out: one sandbox worker (a Ray actor owning a SandboxManager) per node of a Ray cluster.

`SandboxClient("ray")` joins the running cluster (the address in RAY_ADDRESS, or a local one), and
`SandboxClient("ray://HOST:PORT")` joins through Ray Client; it starts a worker pinned to each alive node that has none, and places every new sandbox
on the worker with the most free capacity (free memory after the limits of the sandboxes it already
runs, then fewest sandboxes). Calls on a sandbox go to the worker that owns it. Nodes must run Ray as
root (the sandbox runtime needs it); start them with `--node-ip-address` set explicitly.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from typing import Any

from .spec import NotFound, OverCapacity, SandboxSpec


class SandboxWorker:
    """Ray actor body: the embedded engine of one node."""

    def __init__(self, node_id: str, **manager_kw):
        from .manager import SandboxManager

        self.node_id = node_id
        self.manager = SandboxManager(node=node_id[:12], **manager_kw)

    async def call(self, verb: str, kw: dict[str, Any]) -> Any:
        from .client import dispatch

        if not self.manager.started:
            await self.manager.start()
        return await dispatch(self.manager, verb, dict(kw))

    async def capacity(self) -> dict:
        mem_available = 0
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    mem_available = int(line.split()[1]) * 1024
        infos = await self.manager.list()
        committed = sum(i.spec.memory for i in infos if i.state == "running")
        return {"node_id": self.node_id, "sandboxes": len(infos), "max": self.manager.max_sandboxes,
                "free_memory": mem_available - committed}

    async def shutdown(self) -> None:
        await self.manager.close()


class RayBackend:
    def __init__(self, address: str | None = None, **manager_kw):
        import ray

        self._owns_ray = not ray.is_initialized()
        if self._owns_ray:
            ray.init(address=address or "auto", ignore_reinit_error=True, log_to_driver=False)
        self.ray = ray
        self.manager_kw = manager_kw
        self.workers: dict[str, Any] = {}  # node id -> actor handle
        self.owner: dict[str, str] = {}  # sandbox id -> node id

    def _ensure_workers(self) -> None:
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        actor = self.ray.remote(num_cpus=0, max_concurrency=1000)(SandboxWorker)
        for node in self.ray.nodes():
            nid = node["NodeID"]
            if node["Alive"] and nid not in self.workers:
                self.workers[nid] = actor.options(
                    name=f"ale-sandbox-worker-{nid[:16]}", namespace="ale", get_if_exists=True, lifetime="detached",
                    scheduling_strategy=NodeAffinitySchedulingStrategy(nid, soft=False),
                ).remote(nid, **self.manager_kw)

    async def _place(self, spec: SandboxSpec) -> str:
        self._ensure_workers()
        caps = await asyncio.gather(*(w.capacity.remote() for w in self.workers.values()))
        fits = [c for c in caps if c["sandboxes"] < c["max"] and c["free_memory"] >= spec.memory]
        if not fits:
            raise OverCapacity("no node of the Ray cluster has room for this sandbox")
        best = max(fits, key=lambda c: (c["free_memory"] - c["sandboxes"] * spec.memory, -c["sandboxes"]))
        return best["node_id"]

    async def call(self, verb: str, **kw: Any) -> Any:
        if verb == "start":
            spec = SandboxSpec(**kw)
            nid = await self._place(spec)
            info = await self.workers[nid].call.remote("start", asdict(spec))
            self.owner[info.id] = nid
            return info
        if verb == "list":
            self._ensure_workers()
            parts = await asyncio.gather(*(w.call.remote("list", {}) for w in self.workers.values()))
            return [i for p in parts for i in p]
        sid = kw.get("sandbox_id")
        nid = self.owner.get(sid) or await self._find(sid)
        out = await self.workers[nid].call.remote(verb, kw)
        if verb == "delete":
            self.owner.pop(sid, None)
        if verb == "fork":  # forks live on their parent's node (the snapshot is there)
            self.owner.update((info.id, nid) for info in out)
        return out

    async def _find(self, sid: str) -> str:
        """A sandbox created by another client: ask every worker."""
        self._ensure_workers()
        for nid, w in self.workers.items():
            if any(i.id == sid for i in await w.call.remote("list", {})):
                self.owner[sid] = nid
                return nid
        raise NotFound(f"no such sandbox in the Ray cluster: {sid}")

    async def upload(self, sandbox_id: str, dest: str, data: bytes) -> int:
        return await self.call("upload", sandbox_id=sandbox_id, dest=dest, data=data)

    async def download(self, sandbox_id: str, path: str) -> tuple[bytes, bool]:
        return await self.call("download", sandbox_id=sandbox_id, path=path)

    async def aclose(self) -> None:
        """Delete the sandboxes this client placed (the workers stay for other clients)."""
        await asyncio.gather(*(self.call("delete", sandbox_id=s) for s in list(self.owner)), return_exceptions=True)
        if self._owns_ray:  # a driver left connected dies with the cluster later, taking its process along
            self.ray.shutdown()
