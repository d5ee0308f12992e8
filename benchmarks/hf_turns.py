"""Per-turn cost of a local HF model in an agent episode, with and without reusing the previous turn's KV
cache: prints one JSON object. `.venv/bin/python benchmarks/hf_turns.py [--turns 5] [--new 32]`.

The episode is the harness's real prompt (system prompt with the text tool instructions, a task), then
each turn appends the model's reply (its sampled ids, as the harness does) and a ~150-token tool
observation. Greedy decoding, at most `--new` tokens a turn; the two modes run one after the other on
the same model and produce the same tokens.
Per turn: prompt tokens, tokens taken from the cache, wall seconds, generated tokens/s (new tokens / wall).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time


def episode(model, turns: int) -> list[dict]:
    from ale.agent.loop import DEFAULT_SYSTEM_PROMPT
    from ale.agent.parsing import text_tool_instructions
    from ale.agent.protocols import TOKEN_IDS_KEY
    from ale.agent.tools import TOOLS

    system = DEFAULT_SYSTEM_PROMPT + "\n\n" + text_tool_instructions([t.schema() for t in TOOLS.values()])
    msgs = [{"role": "system", "content": system},
            {"role": "user", "content": "Count the lines of every .log file under /var/log and write the total to /tmp/total."}]
    out = []
    for t in range(turns):
        t0 = time.perf_counter()
        r = model.generate(msgs)
        dt = time.perf_counter() - t0
        out.append({"turn": t, "prompt_tokens": r.prompt_tokens, "cached_tokens": model.last_cached_tokens,
                    "new_tokens": r.completion_tokens, "wall_s": round(dt, 2),
                    "tokens_per_s": round(r.completion_tokens / dt, 1)})
        observation = "\n".join(f"/var/log/app{i}.log: {1000 + 37 * i} lines, last modified 2026-12-0{1 + i % 9}"
                                for i in range(12))
        msgs += [{**r.message, TOKEN_IDS_KEY: r.response_ids},
                 {"role": "user", "content": f"<tool_response>\n{observation}\n[exit code: 0]\n</tool_response>"}]
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--turns", type=int, default=5)
    ap.add_argument("--new", type=int, default=32, help="new tokens per turn (greedy)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    os.environ.setdefault("TQDM_DISABLE", "1")
    import torch

    from ale.agent.models.hf import load_smollm2

    torch.set_num_threads(args.threads)
    model = load_smollm2(temperature=0, max_new_tokens=args.new)
    # greedy: both modes produce the same tokens (tests/agent/test_cli_feedback.py), so they do equal work
    result = {"model": "smollm2-135m (GGUF Q4_1, fp32 weights)", "threads": args.threads,
              "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                          "loadavg_1m": os.getloadavg()[0]}}
    for mode in ("reuse", "recompute"):
        model.reuse_cache = mode == "reuse"
        model._cache = None
        result[mode] = episode(model, args.turns)
    result["loadavg_1m_after"] = os.getloadavg()[0]
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
