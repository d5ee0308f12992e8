"""What a generator returns (TaskSpec) and how it becomes a task folder."""
from __future__ import annotations

import json
import shlex
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

WORDS = ("apple", "river", "stone", "cloud", "tiger", "maple", "ocean", "piano", "rocket", "garden", "silver", "candle",
         "forest", "bridge", "lemon", "planet", "window", "falcon", "marble", "violet", "harbor", "meadow", "copper",
         "thunder", "pepper", "glacier", "lantern", "orchid", "canyon", "saddle", "walnut", "comet")


@dataclass
class TaskSpec:
    id: str
    instruction: str
    domain: str
    difficulty: str
    tests: str  # tests/test_outputs.py
    solution: str  # solution.sh (runs in the workdir)
    files: dict[str, str | bytes] = field(default_factory=dict)  # copied into the workdir by the Dockerfile
    setup: list[str] = field(default_factory=list)  # extra RUN lines after the COPY
    tags: list[str] = field(default_factory=list)
    workdir: str = "/workspace"
    agent_timeout: int = 300
    test_timeout: int = 60
    extra: dict[str, Path | str] = field(default_factory=dict)  # extra files of the task folder (e.g. instance.json)
    prebuilt: Path | None = None  # a finished task folder to copy instead (SWE-style families)


def write_task(spec: TaskSpec, dest: Path, **generator: Any) -> Path:
    if spec.prebuilt is not None:
        shutil.move(spec.prebuilt, dest)
        shutil.rmtree(spec.prebuilt.parent, ignore_errors=True)
        if (dest / "instance.json").exists():  # the id is only known now
            inst = json.loads((dest / "instance.json").read_text())
            inst["instance_id"] = spec.id
            (dest / "instance.json").write_text(json.dumps(inst, indent=1))
        _add_meta(dest / "task.yaml", {"swe_instance": spec.id, **generator})
        return dest
    dest.mkdir(parents=True)
    meta = {"instruction": spec.instruction, "category": spec.domain, "difficulty": spec.difficulty,
            "tags": ["generated", *spec.tags], "max_agent_timeout_sec": spec.agent_timeout,
            "max_test_timeout_sec": spec.test_timeout}
    (dest / "task.yaml").write_text(yaml.safe_dump(meta, sort_keys=False, width=100, allow_unicode=True))
    _add_meta(dest / "task.yaml", generator)
    docker = ["FROM base", f"WORKDIR {spec.workdir}"]
    if spec.files:
        for rel, content in spec.files.items():
            p = dest / "files" / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(content if isinstance(content, bytes) else content.encode())
        docker.append(f"COPY files/ {spec.workdir}/")
    docker += [f"RUN {cmd}" for cmd in spec.setup]
    (dest / "Dockerfile").write_text("\n".join(docker) + "\n")
    (dest / "tests").mkdir()
    (dest / "tests" / "test_outputs.py").write_text(spec.tests)
    (dest / "run-tests.sh").write_text(f"#!/bin/bash\ncd {shlex.quote(spec.workdir)}\n"
                                       "python3 -m pytest /tests/test_outputs.py -rA -p no:cacheprovider\n")
    (dest / "solution.sh").write_text("#!/bin/bash\nset -e\n" + spec.solution.rstrip() + "\n")
    for name, content in spec.extra.items():
        (dest / name).write_text(content if isinstance(content, str) else content.read_text())
    return dest


def _add_meta(path: Path, generator: dict[str, Any]) -> None:
    meta = yaml.safe_load(path.read_text())
    if "swe_instance" in generator:
        meta["swe_instance"] = generator.pop("swe_instance")
    meta["generator"] = generator
    path.write_text(yaml.safe_dump(meta, sort_keys=False, width=100, allow_unicode=True))


def difficulty_of(size: int, easy: int, medium: int) -> str:
    return "easy" if size <= easy else "medium" if size <= medium else "hard"
