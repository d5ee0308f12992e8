"""Multi-step families for learning experiments: several tool calls, one outcome-only reward.

- ``multi-write``: write k given words into k files, one command each (k tool calls, then finish).
  Everything the agent needs is in the instruction: a policy that copies well solves it.
- ``procedure``: the same five commands on fresh data each instance: held-out instances are new data
  for a known procedure (what a tiny model that cannot copy from its prompt can still learn).
- ``breadcrumb``: follow a trail of files, each naming the next, to a secret word. What the next
  command must say is only revealed by the previous command's output, so a policy that has not
  learned to read its observations scores 0 however it samples: the case the report's chunk-level
  initialised resampling is for.

Both are graded by one test (R = 1 only if everything is right: no partial credit for the steps), and
their reference solutions mark one expert chunk per step with a ``# ---`` line (see
``ale.train.rollout.expert_from_solution``), so the scripted expert acts like an agent would.
"""
from __future__ import annotations

import random

from ale.bench.generators import family
from ale.bench.generators.common import WORDS, TaskSpec, difficulty_of

STEP = "\n# ---\n"  # separates the expert chunks of a solution


def _token(rng: random.Random, digits: bool, vocab: int = len(WORDS)) -> str:
    return rng.choice(WORDS[:vocab]) + (str(rng.randint(10, 99)) if digits else "")


@family("multi-write")
def multi_write(rng: random.Random, index: int, k: int = 5, digits: bool = False, vocab: int = len(WORDS)) -> TaskSpec:
    """k files a.txt, b.txt, ... each with a given word out of the first `vocab` common words (a two-digit
    suffix with digits=True). A small vocab turns copying into choosing: within reach of a tiny model."""
    if not 1 <= k <= 26:
        raise ValueError(f"multi-write k must be between 1 and 26, got {k}")
    if not 2 <= vocab <= len(WORDS):
        raise ValueError(f"multi-write vocab must be between 2 and {len(WORDS)}, got {vocab}")
    files = [f"{chr(ord('a') + i)}.txt" for i in range(k)]
    words = [_token(rng, digits, vocab) for _ in range(k)]
    pairs = ", ".join(f"{f} {w}" for f, w in zip(files, words))
    text = f"In /workspace write each word into its file, one command per file: {pairs}. Then call finish."
    tests = ("from pathlib import Path\n\nEXPECTED = " + repr(dict(zip(files, words))) + "\n\n\n"
             "def test_all_files():\n"
             "    got = {f: (Path('/workspace') / f).read_text().strip() if (Path('/workspace') / f).exists() else None\n"
             "           for f in EXPECTED}\n"
             "    assert got == EXPECTED\n")
    solution = STEP.join(f"echo {w} > {f}" for f, w in zip(files, words))
    return TaskSpec("", text, "system-administration", difficulty_of(k, 2, 6), tests, solution,
                    tags=["multi-step", f"k-{k}"], agent_timeout=600)


@family("breadcrumb")
def breadcrumb(rng: random.Random, index: int, hops: int = 3, decoys: int = 3, digits: bool = True,
               vocab: int = len(WORDS)) -> TaskSpec:
    """start.txt names the next file, which names the next, ... until one says `answer: WORD`; write WORD
    to answer.txt. hops+2 tool calls (cat start.txt, hops more cats, the write) and finish; decoy files
    hold other answers, so guessing a file name does not help. File names and answers come from the
    first `vocab` common words (at least hops + decoys)."""
    if not 1 <= hops <= 10:
        raise ValueError(f"breadcrumb hops must be between 1 and 10, got {hops}")
    if not hops + decoys <= vocab <= len(WORDS):
        raise ValueError(f"breadcrumb vocab must be between hops + decoys and {len(WORDS)}, got {vocab}")
    names = rng.sample(WORDS[:vocab], hops + decoys)
    trail, others = [f"{n}.txt" for n in names[:hops]], [f"{n}.txt" for n in names[hops:]]
    answer = _token(rng, digits, vocab)
    files = {"start.txt": f"next: {trail[0]}\n"}
    for cur, nxt in zip(trail, trail[1:]):
        files[cur] = f"next: {nxt}\n"
    files[trail[-1]] = f"answer: {answer}\n"
    for d in others:  # dead ends with wrong answers
        wrong = _token(rng, digits, vocab)
        while wrong == answer:
            wrong = _token(rng, digits, vocab)
        files[d] = f"answer: {wrong}\n"
    text = ("Read /workspace/start.txt. Each file names the next file to read; follow the trail until a file says "
            "`answer: WORD`, then write WORD to /workspace/answer.txt and call finish.")
    tests = ("from pathlib import Path\n\n\ndef test_answer():\n"
             f"    assert Path('/workspace/answer.txt').read_text().strip() == {answer!r}\n")
    solution = STEP.join([f"cat {f}" for f in ["start.txt", *trail]] + [f"echo {answer} > answer.txt"])
    return TaskSpec("", text, "system-administration", difficulty_of(hops, 2, 5), tests, solution,
                    files=files, tags=["multi-step", f"hops-{hops}"], agent_timeout=600)


@family("procedure")
def procedure(rng: random.Random, index: int, lines: int | None = None) -> TaskSpec:
    """The same five-step file procedure on fresh data each instance (sort, dedupe, count, first, last):
    what must be typed never changes, what it produces does, so a held-out instance is new data for a
    known procedure. Within reach of a tiny model that cannot copy strings from its prompt."""
    n = lines if lines is not None else rng.randint(6, 14)
    data = [rng.choice(WORDS[:8]) for _ in range(n)]
    uniq = [w for i, w in enumerate(sorted(data)) if i == 0 or w != sorted(data)[i - 1]]
    expected = {"s.txt": "\n".join(sorted(data)), "u.txt": "\n".join(uniq), "n.txt": str(len(uniq)),
                "h.txt": uniq[0], "t.txt": uniq[-1]}
    text = ("In /workspace, one command per step: 1. sort in.txt into s.txt; 2. remove adjacent duplicate lines of "
            "s.txt into u.txt; 3. write the number of lines of u.txt to n.txt; 4. write the first line of u.txt to "
            "h.txt; 5. write the last line of u.txt to t.txt. Then call finish.")
    tests = ("from pathlib import Path\n\nEXPECTED = " + repr(expected) + "\n\n\n"
             "def test_outputs():\n"
             "    got = {f: (Path('/workspace') / f).read_text().strip() if (Path('/workspace') / f).exists() else None\n"
             "           for f in EXPECTED}\n"
             "    assert got == EXPECTED\n")
    solution = STEP.join(["sort in.txt > s.txt", "uniq s.txt > u.txt", "wc -l < u.txt > n.txt", "head -1 u.txt > h.txt",
                          "tail -1 u.txt > t.txt"])
    return TaskSpec("", text, "data-processing", "easy", tests, solution, files={"in.txt": "\n".join(data) + "\n"},
                    tags=["multi-step", "procedure"], agent_timeout=600)
