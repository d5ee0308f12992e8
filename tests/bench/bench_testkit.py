"""Test helpers for the bench tests (tiny hand-made tasks, scripted-agent specs). Sandbox-backed tests need root."""
from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="the sandbox runtime needs root")


def write_task(root: Path, name: str, *, instruction: str = "Write hi to /workspace/answer.txt.",
               solution: str | None = "echo hi > /workspace/answer.txt", test: str | None = None,
               extra_yaml: str = "") -> Path:
    """A tiny hand-made task folder (tests of the evaluator's and validate's judgements)."""
    d = root / name
    (d / "tests").mkdir(parents=True)
    (d / "task.yaml").write_text(f"instruction: {json.dumps(instruction)}\ncategory: games\ndifficulty: easy\n{extra_yaml}")
    (d / "Dockerfile").write_text("FROM base\nWORKDIR /workspace\n")
    (d / "tests" / "test_outputs.py").write_text(test or (
        "from pathlib import Path\n\ndef test_answer():\n"
        "    assert Path('/workspace/answer.txt').read_text().strip() == 'hi'\n"))
    if solution is not None:
        (d / "solution.sh").write_text(f"#!/bin/bash\n{solution}\n")
    return d


def scripted(path: Path, *replies: dict) -> str:
    """A scripted-model spec (JSON lines of assistant messages)."""
    path.write_text("\n".join(json.dumps(r) for r in replies) + "\n")
    return f"scripted:{path}"


def bash_call(command: str) -> dict:
    return {"tool_calls": [{"function": {"name": "bash", "arguments": json.dumps({"command": command})}}]}


def builtin_sample(k: int = 2):
    """A fixed (seeded) sample of the built-in suite's easy tasks, from different domains (default-tier
    tests must stay fast; the whole suite runs in the slow tier)."""
    from ale.bench.task import load_tasks

    easy = [t for t in load_tasks("builtin") if t.difficulty == "easy"]
    random.Random(0).shuffle(easy)
    picked, domains = [], set()
    for t in easy:
        if t.domain not in domains:
            picked.append(t)
            domains.add(t.domain)
    return picked[:k]
