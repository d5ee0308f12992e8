"""Multi-step terminal workflows: a chain of `length` (1 to 20) required actions, each one a transform of
the previous step's output file, each checked by its own test (so the fraction of tests passed shows
how far along the chain an agent got: material for long-horizon credit assignment)."""
from __future__ import annotations

import random

from ale.bench.generators import family
from ale.bench.generators.common import WORDS, TaskSpec, difficulty_of


def _ops(rng: random.Random, lines: list[str]):
    """(instruction, shell command with {src} {dst}, new lines) candidates for the next step."""
    letters = sorted({c for ln in lines for c in ln if c.isalpha() and c.islower()})
    yield "sort the lines in byte order (as `LC_ALL=C sort`)", "LC_ALL=C sort {src} > {dst}", sorted(lines)
    yield "reverse the order of the lines", "tac {src} > {dst}", lines[::-1]
    yield "convert every letter to upper case", "tr a-z A-Z < {src} > {dst}", [ln.upper() for ln in lines]
    yield "convert every letter to lower case", "tr A-Z a-z < {src} > {dst}", [ln.lower() for ln in lines]
    seen: set[str] = set()
    yield ("remove duplicate lines, keeping the first occurrence of each, in order",
           "awk '!seen[$0]++' {src} > {dst}", [ln for ln in lines if not (ln in seen or seen.add(ln))])
    if len(lines) > 1:
        k = rng.randint((len(lines) + 1) // 2, len(lines) - 1)  # keep material for the later steps
        yield f"keep only the first {k} lines", f"head -n {k} {{src}} > {{dst}}", lines[:k]
        k = rng.randint((len(lines) + 1) // 2, len(lines) - 1)
        yield f"keep only the last {k} lines", f"tail -n {k} {{src}} > {{dst}}", lines[-k:]
    if letters:
        c = rng.choice(letters)
        kept = [ln for ln in lines if c in ln]
        yield f"keep only the lines containing the letter {c}", f"grep {c} {{src}} > {{dst}}", kept
        a, b = c, rng.choice("qjxz")
        yield (f"replace every letter {a} with the letter {b}", f"tr {a} {b} < {{src}} > {{dst}}",
               [ln.replace(a, b) for ln in lines])
    w = rng.choice(WORDS)
    yield f"append a last line `{w}`", f"{{{{ cat {{src}}; echo {w}; }}}} > {{dst}}", lines + [w]
    yield ("prefix every line with its 1-based line number and a colon (e.g. `1:...`)",
           "awk '{{print NR \":\" $0}}' {src} > {dst}", [f"{i}:{ln}" for i, ln in enumerate(lines, 1)])


@family("workflow")
def workflow(rng: random.Random, index: int, length: int | None = None) -> TaskSpec:
    """A chain of `length` (1-20; random when not given) dependent file transforms, one test per step."""
    length = length if length is not None else rng.randint(1, 20)
    if not 1 <= length <= 20:
        raise ValueError(f"workflow length must be between 1 and 20, got {length}")
    lines = [rng.choice(WORDS) + (str(rng.randint(0, 9)) if rng.random() < 0.3 else "") for _ in range(rng.randint(6, 14))]
    start = list(lines)
    steps, commands, expected = [], [], []
    for i in range(1, length + 1):
        ops = list(_ops(rng, lines))
        # never an empty file (later steps need input), and a step should change something when it can
        options = [o for o in ops if o[2] and o[2] != lines] or [o for o in ops if o[2]]
        text, cmd, lines = rng.choice(options)
        src = "wf/input.txt" if i == 1 else f"wf/step{i - 1:02d}.txt"
        dst = f"wf/step{i:02d}.txt"
        steps.append(f"{i}. Read {src}, {text}, and write the result to {dst}.")
        commands.append(cmd.format(src=src, dst=dst))
        expected.append(lines)
    text = ("Carry out this workflow in /workspace, one step after another; each step reads the file the previous "
            "step wrote. Files are plain text, one item per line, each line ending with a newline.\n"
            + "\n".join(steps))
    tests = "from pathlib import Path\n\nEXPECTED = " + repr(expected) + "\n\n" + "\n".join(
        f"\ndef test_step_{i:02d}():\n    assert Path(\"/workspace/wf/step{i:02d}.txt\").read_text().splitlines() == "
        f"EXPECTED[{i - 1}]\n" for i in range(1, length + 1))
    return TaskSpec("", text, "system-administration", difficulty_of(length, 3, 10), tests,
                    "cd /workspace\n" + "\n".join(commands), files={"wf/input.txt": "\n".join(start) + "\n"},
                    tags=["workflow", f"length-{length}"], agent_timeout=300 + 60 * length)
