"""Task generators: parametrised, seeded families that write fresh task folders (the built-in format).

    generate("workflow", n=10, seed=0, out=Path("gen"), length=12)

Every family is a function `(rng, index, **params) -> TaskSpec`. Instance i of seed s gets its own
`random.Random(f"{family}:{s}:{i}")`, so output is byte-identical per (family, seed, params) and the
first n instances do not change when more are asked for.
"""
from __future__ import annotations

import random
import shutil
from pathlib import Path
from typing import Any, Callable

from ale.bench.generators.common import TaskSpec, write_task

FAMILIES: dict[str, Callable[..., TaskSpec]] = {}


def family(name: str):
    def deco(fn: Callable[..., TaskSpec]) -> Callable[..., TaskSpec]:
        FAMILIES[name] = fn
        return fn
    return deco


def generate(name: str, n: int, seed: int, out: Path, **params: Any) -> list[Path]:
    """Write n task folders of family `name` under out/; returns them."""
    _load_families()
    if name not in FAMILIES:
        raise ValueError(f"unknown family {name!r}; families: {', '.join(sorted(FAMILIES))}")
    if n < 1:
        raise ValueError("n must be at least 1")
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        spec = FAMILIES[name](random.Random(f"{name}:{seed}:{i}"), i, **params)
        spec.id = f"{name}-s{seed}-{i:04d}"
        dest = out / spec.id
        if dest.exists():
            shutil.rmtree(dest)
        paths.append(write_task(spec, dest, family=name, seed=seed, params=params))
    return paths


def families() -> list[str]:
    _load_families()
    return sorted(FAMILIES)


def _load_families() -> None:
    from ale.bench.generators import basic, multistep, mutation, workflow  # noqa: F401  (they register themselves)


__all__ = ["FAMILIES", "TaskSpec", "families", "family", "generate", "write_task"]
