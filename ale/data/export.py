"""`ale data export`: kept trajectories -> a Hugging Face `datasets` dataset and trainer-ready files.

A teacher's trajectory may carry no token ids (a scripted expert, an API model) or ids of another
tokenizer, so each one is re-rendered with the student's chat template, the way the harness would
have shown it to the student: tool calls as Hermes `<tool_call>{json}</tool_call>` text in the
assistant turn (what HF policies emit and the harness parses), tool results as one user turn of
`<tool_response>` blocks, the tool list through the template when it takes `tools`, else as text in
the system prompt. Turn by turn, the prompt extends the previous prompt + reply (a new sequence
starts where a template is not prefix-stable), so chunks are exact token spans.

Outputs under OUT:
- `trajectories/*.json`: the trajectories with these token ids, their `messages` the re-rendered chat and
  `config.tokenizer` the student tokenizer's fingerprint (docs/trajectory.md): `ale train sft` reads
  this folder (`sft.data: [OUT/trajectories]`) and uses the ids as they are.
- `data/train.parquet` (or `.jsonl`): one row per training sequence: `input_ids`, `attention_mask`,
  `labels` (-100 off the model's chunks and on chunks whose tool call errored: the report's per-turn
  mask m_k), `completion_mask` (the same as 0/1: TRL's SFTTrainer takes the dataset as it is),
  `loss_mask` (all model tokens), `chunk_spans`, `chunk_turns`, `chunk_errors`, and `task_id`,
  `domain`, `source`, `teacher`, `reward`, `n_tokens`, `messages` (the re-rendered chat, JSON).
- `README.md`: a dataset card with counts by domain, source, teacher and filter reason.
"""
from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

from ale.agent.trajectory import ModelTurn, Trajectory, training_data


def load_tokenizer(spec: str) -> Any:
    """tiny (the test policy's byte tokenizer), smollm2-135m, or hf:PATH."""
    if spec == "tiny":
        from ale.train.policy import byte_tokenizer

        return byte_tokenizer()
    from transformers import AutoTokenizer

    if spec == "smollm2-135m":
        import os

        from ale.agent.models.hf import SMOLLM2_GGUF, smollm2_dir

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        return AutoTokenizer.from_pretrained(smollm2_dir(), gguf_file=SMOLLM2_GGUF)
    if spec.startswith("hf:") and spec[3:]:
        return AutoTokenizer.from_pretrained(spec[3:])
    raise ValueError(f"bad tokenizer {spec!r}; use tiny, smollm2-135m or hf:PATH")


def text_format(messages: list[dict[str, Any]], system_suffix: str = "") -> list[dict[str, Any]]:
    """OpenAI-format messages as the harness's text tool format (see the module docstring)."""
    out: list[dict[str, Any]] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            out.append({"role": "user", "content": "\n\n".join(f"<tool_response>\n{t}\n</tool_response>" for t in pending)})
            pending.clear()

    for m in messages:
        role = m.get("role")
        if role == "tool":
            pending.append(m.get("content") or "")
            continue
        flush()
        content = m.get("content") or ""
        if role == "assistant":
            for tc in m.get("tool_calls") or []:
                fn = tc.get("function", {})
                args = fn.get("arguments") or "{}"
                try:
                    args = json.loads(args) if isinstance(args, str) else args
                except json.JSONDecodeError:
                    pass
                content += ("\n" if content else "") + "<tool_call>" + json.dumps({"name": fn.get("name"), "arguments": args}) + "</tool_call>"
        elif role == "system" and system_suffix and "<tool_call>" not in content:
            content += "\n\n" + system_suffix
        out.append({"role": role, "content": content})
    flush()
    return out


def retokenize(traj: Trajectory, tok: Any) -> tuple[Trajectory, list[dict[str, Any]]]:
    """The trajectory with token ids of `tok` (one ModelTurn per assistant message); also the chat used."""
    from ale.agent.parsing import text_tool_instructions
    from ale.agent.tools import TOOLS

    names = traj.config.get("tools") or list(TOOLS)
    schemas = [TOOLS[n].schema() for n in names if n in TOOLS]
    native = "tools" in (tok.chat_template or "")
    chat = text_format(traj.messages, "" if native else text_tool_instructions(schemas))
    kw = {"tools": schemas} if native else {}
    eos, eos_id = tok.eos_token, tok.eos_token_id

    def enc(text: str) -> list[int]:
        return tok.encode(text, add_special_tokens=False) if text else []

    turns, prev_text, prev_ids = [], None, []
    old = list(traj.turns)
    for i, m in enumerate(chat):
        if m["role"] != "assistant":
            continue
        prefix = tok.apply_chat_template(chat[:i], add_generation_prompt=True, tokenize=False, **kw)
        full = tok.apply_chat_template(chat[:i + 1], add_generation_prompt=False, tokenize=False, **kw)
        reply = full[len(prefix):] if full.startswith(prefix) else m["content"]
        reply = reply.split(eos, 1)[0] if eos and eos in reply else reply
        if prev_text is not None and prefix.startswith(prev_text):
            prompt_ids = prev_ids + enc(prefix[len(prev_text):])
        else:
            prompt_ids = enc(prefix)
        response_ids = enc(reply) + [eos_id]
        src = old[len(turns)] if len(turns) < len(old) else None
        turns.append(ModelTurn(index=len(turns), prompt_ids=prompt_ids, response_ids=response_ids, logprobs=None,
                               prompt_tokens=len(prompt_ids), completion_tokens=len(response_ids),
                               started_at=src.started_at if src else 0.0, duration_s=src.duration_s if src else 0.0,
                               finish_reason="stop"))
        prev_text, prev_ids = prefix + reply + (eos or ""), prompt_ids + response_ids
    from ale.agent.trajectory import tokenizer_fingerprint

    new = Trajectory.from_dict(traj.to_dict())
    # the messages become the chat these ids render, and the tokenizer is recorded, so a trainer with the same
    # tokenizer uses these ids as they are (ale.agent.trajectory.training_data re-renders only on a mismatch)
    new.messages, new.turns = chat, turns
    new.config = {**new.config, "tokenizer": tokenizer_fingerprint(tok), "retokenized_from": traj.config.get("tokenizer")}
    new.finalize_tokens()
    return new, chat


def rows_of(traj: Trajectory, chat: list[dict[str, Any]]) -> list[dict[str, Any]]:
    meta = (traj.config or {}).get("data") or {}
    rows = []
    for s in training_data(traj):
        keep = [0] * len(s["input_ids"])
        for (a, b), err in zip(s["chunks"], s["chunk_errors"]):
            if not err:
                keep[a:b] = [1] * (b - a)
        rows.append({"input_ids": s["input_ids"], "attention_mask": [1] * len(s["input_ids"]),
                     "labels": [t if k else -100 for t, k in zip(s["input_ids"], keep)], "completion_mask": keep,
                     "loss_mask": s["loss_mask"], "chunk_spans": s["chunks"], "chunk_turns": s["turns"],
                     "chunk_errors": s["chunk_errors"], "task_id": meta.get("task_id", ""),
                     "domain": meta.get("domain", ""), "source": meta.get("source", ""),
                     "teacher": meta.get("teacher", traj.model), "reward": float(traj.reward or 0.0),
                     "n_tokens": len(s["input_ids"]), "messages": json.dumps(chat)})
    return rows


def export(files: list[Path], tokenizer: str, out: Path, fmt: str = "parquet", filter_report: Path | None = None,
           synth_report: Path | None = None) -> dict[str, Any]:
    """Write OUT/trajectories, OUT/data/train.{parquet|jsonl} and OUT/README.md; returns the counts."""
    import datasets

    if fmt not in ("parquet", "jsonl"):
        raise ValueError("format must be parquet or jsonl")
    datasets.disable_progress_bars()
    t0 = time.time()
    tok = load_tokenizer(tokenizer)
    (out / "trajectories").mkdir(parents=True, exist_ok=True)
    (out / "data").mkdir(exist_ok=True)
    rows, skipped = [], Counter()
    for f in files:
        try:
            traj = Trajectory.load(f)
        except (ValueError, OSError, TypeError):
            skipped["unreadable"] += 1
            continue
        new, chat = retokenize(traj, tok)
        if not new.sequences:
            skipped["no_model_turns"] += 1
            continue
        new.save(out / "trajectories" / f.name)
        rows += rows_of(new, chat)
    if not rows:
        raise ValueError("nothing to export: no trajectory with model turns")
    ds = datasets.Dataset.from_list(rows)
    path = out / "data" / f"train.{fmt}"
    ds.to_parquet(str(path)) if fmt == "parquet" else ds.to_json(str(path), lines=True)
    stats = {"trajectories": len(files) - sum(skipped.values()), "sequences": len(rows),
             "tokens": sum(r["n_tokens"] for r in rows), "trained_tokens": sum(sum(r["completion_mask"]) for r in rows),
             "skipped": dict(skipped), "by_domain": dict(Counter(r["domain"] for r in rows)),
             "by_source": dict(Counter(r["source"] for r in rows)), "by_teacher": dict(Counter(r["teacher"] for r in rows)),
             "tokenizer": tokenizer, "format": fmt, "wall_s": round(time.time() - t0, 1)}
    reports = {"filter": filter_report, "synth": synth_report}
    reports = {k: json.loads(p.read_text()) for k, p in reports.items() if p is not None and p.exists()}
    (out / "README.md").write_text(card(stats, reports, fmt))
    (out / "export.json").write_text(json.dumps(stats, indent=1))
    return stats


def card(stats: dict[str, Any], reports: dict[str, Any], fmt: str) -> str:
    def table(title: str, counts: dict[str, Any]) -> str:
        body = "\n".join(f"| {k} | {v} |" for k, v in sorted(counts.items()))
        return f"| {title} | sequences |\n|---|---|\n{body}\n" if counts else ""

    lines = ["---", "configs:", "- config_name: default", "  data_files:", "  - split: train",
             f"    path: data/train.{fmt}", "tags: [ale, agent-trajectories, sft]", "---", "",
             "# ALE agent trajectories", "",
             "Teacher trajectories made by `ale data` (synth -> rollout -> filter -> export), re-rendered with the "
             f"`{stats['tokenizer']}` chat template. One row per training sequence; `labels` are -100 off the model's "
             "chunks and on chunks whose tool call errored (the per-turn error mask); `completion_mask` is the same as "
             "0/1 for TRL's SFTTrainer; `chunk_spans` are the [start, end) token spans of the model's turns.", "",
             f"- trajectories: {stats['trajectories']}, sequences: {stats['sequences']}, tokens: {stats['tokens']} "
             f"(trained on: {stats['trained_tokens']})", "",
             "## Counts", "", table("domain", stats["by_domain"]), table("source", stats["by_source"]),
             table("teacher", stats["by_teacher"])]
    if "synth" in reports:
        s = reports["synth"]
        lines += ["## Instances (synth)", "", f"made {s['made']}, accepted {s['accepted']}; rejected: "
                  + (", ".join(f"{k} {v}" for k, v in s["rejected"].items()) or "none"), ""]
    if "filter" in reports:
        f = reports["filter"]
        lines += ["## Filter", "", f"input {f['input']} trajectories, kept {f['kept']}.", "",
                  "| dropped because | trajectories |", "|---|---|",
                  *[f"| {k} | {v} |" for k, v in f["dropped"].items()], ""]
    lines += ["## Load", "", "```python", "import datasets",
              f"ds = datasets.load_dataset('{fmt if fmt == 'parquet' else 'json'}', "
              f"data_files='data/train.{fmt}')['train']", "```", "",
              "`ale train sft` reads `trajectories/` (`sft.data: [DIR/trajectories]`).", ""]
    return "\n".join(lines)


__all__ = ["card", "export", "load_tokenizer", "retokenize", "rows_of", "text_format"]
