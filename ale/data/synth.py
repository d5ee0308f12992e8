"""`ale data synth`: task instances from the generators, reviewed automatically.

The report's pipeline explores real repositories, builds an environment, then reviews it (the
reference solution passes; coverage and false positives checked independently). Here instances come
from `ale.bench.generators` (the seeded families and the mutation family over installed PyPI
packages) and the review is automatic:

- `broken`: the reference solution fails, or the null agent (does nothing) passes, or the image does
  not build (`ale.bench.validate`, through the evaluator, `repeat` runs of each);
- `nondeterministic`: the verdict changed across the repeats;
- `leaks_solution`: a key line of the solution (a `+` line of a patch, or a non-trivial line of
  solution.sh) appears in the instruction.

Accepted instances go to OUT/tasks/, rejects to OUT/rejected/ with `reject.json` (the reason); the
report is OUT/synth.json. Kept from the report: review before use, rejects kept with reasons; not
done: an independent check of test coverage (the mutation family's tests are recorded from the
released package, which is its coverage argument).
"""
from __future__ import annotations

import json
import re
import shutil
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

_TRIVIAL = re.compile(r"^(#.*|set -\w+|cd\s+\S+|EOF|.*<<\s*'?\w+'?|\w+_EOF|python3 - <<.*|fi|done|then|else|\}|\{|)$")


def key_lines(solution: str) -> list[str]:
    """The lines that carry the answer: `+` lines of a patch when there is one, else the solution's
    non-trivial lines (no comments, `set -e`, `cd`, heredoc markers), whitespace-normalised, >= 8 chars."""
    lines = solution.splitlines()
    if any(ln.startswith("+++ ") for ln in lines):
        picked = [ln[1:] for ln in lines if ln.startswith("+") and not ln.startswith("+++")]
    else:
        picked = [ln for ln in lines if not ln.startswith("#!")]
    out = []
    for ln in picked:
        n = " ".join(ln.split())
        if len(n) >= 8 and not _TRIVIAL.match(n):
            out.append(n)
    return out


def leaked_lines(instruction: str, solution: str) -> list[str]:
    text = " ".join(instruction.split())
    return [ln for ln in key_lines(solution) if ln in text]


@dataclass
class Review:
    task_id: str
    family: str
    status: str  # accepted | broken | nondeterministic | leaks_solution
    reasons: list[str]
    oracle_passes: int = 0
    null_passes: int = 0

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def synth(plan: list[tuple[str, int, dict[str, Any]]], seed: int, out: Path, repeat: int = 2, concurrency: int = 4,
          on_review: Callable[[Review], None] | None = None) -> dict[str, Any]:
    """plan: (family, n, params) triples. Generates, reviews, sorts into OUT/tasks and OUT/rejected;
    returns (and writes to OUT/synth.json) the counts and one review per instance."""
    from ale.bench.generators import generate
    from ale.bench.task import TaskError, load_task
    from ale.bench.validate import validate

    t0 = time.time()
    out.mkdir(parents=True, exist_ok=True)
    staging = out / ".candidates"
    shutil.rmtree(staging, ignore_errors=True)
    made: list[tuple[str, Path]] = []
    gen_errors: list[Review] = []
    for family, n, params in plan:
        try:
            made += [(family, p) for p in generate(family, n, seed, staging, **params)]
        except Exception as e:  # a family that cannot make instances here (e.g. a package missing): say why
            gen_errors.append(Review(f"{family}-s{seed}", family, "generator_failed", [f"{type(e).__name__}: {e}"]))
    reviews: dict[str, Review] = {}
    tasks = []
    for family, p in made:
        try:
            task = load_task(p)
        except TaskError as e:
            reviews[p.name] = Review(p.name, family, "broken", [str(e)])
            continue
        leaks = leaked_lines(task.instruction, task.solution.read_text()) if task.solution else []
        if leaks:
            reviews[p.name] = Review(p.name, family, "leaks_solution", [f"instruction contains: {ln}" for ln in leaks])
            continue
        tasks.append(task)
    families = dict((p.name, f) for f, p in made)
    for v in validate(tasks, repeat=repeat, concurrency=concurrency):
        status = "accepted" if v.status == "ok" else v.status
        reviews[v.task_id] = Review(v.task_id, families[v.task_id], status, v.reasons, v.oracle_passes, v.null_passes)
    for dest in ("tasks", "rejected"):
        (out / dest).mkdir(exist_ok=True)
    for family, p in made:
        r = reviews[p.name]
        dest = out / ("tasks" if r.status == "accepted" else "rejected") / p.name
        shutil.rmtree(dest, ignore_errors=True)
        shutil.move(str(p), dest)
        if r.status != "accepted":
            (dest / "reject.json").write_text(json.dumps(r.to_dict(), indent=1))
        if on_review:
            on_review(r)
    shutil.rmtree(staging, ignore_errors=True)
    all_reviews = [reviews[p.name] for _, p in made] + gen_errors
    report = {"made": len(made), "accepted": sum(r.status == "accepted" for r in all_reviews),
              "rejected": dict(Counter(r.status for r in all_reviews if r.status != "accepted")),
              "by_family": {f: dict(Counter(r.status for r in all_reviews if r.family == f))
                            for f in sorted({r.family for r in all_reviews})},
              "repeat": repeat, "seed": seed, "wall_s": round(time.time() - t0, 1),
              "reviews": [r.to_dict() for r in all_reviews]}
    (out / "synth.json").write_text(json.dumps(report, indent=1))
    return report


__all__ = ["Review", "key_lines", "leaked_lines", "synth"]
