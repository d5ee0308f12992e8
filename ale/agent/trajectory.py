"""Token-exact trajectories: what an episode did, and the training sequences built from its tokens.

Training sequences are built append-only from the ids the backend reported: each model turn's prompt
must extend the current sequence (the extension = observation/template tokens, loss_mask 0) and its
sampled ids are appended as one chunk (loss_mask 1, with the sampler's log-probs mu). Text is never
re-tokenised. When a prompt does not extend the sequence (compaction rewrote the history, or a
server re-rendered differently) a new sequence starts and says why. File format: docs/trajectory.md.

Token ids only mean something with the tokenizer that made them: a trajectory records its tokenizer's
fingerprint (``config["tokenizer"]``, ``tokenizer_fingerprint``), and ``retokenize`` rebuilds the
turns of one made by another (or an unknown) tokenizer from its messages, for training another policy.
"""
from __future__ import annotations

import copy
import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1


@dataclass
class ModelTurn:
    """One call to the policy. Ids are None when the backend does not report tokens."""

    index: int
    prompt_ids: list[int] | None = None
    response_ids: list[int] | None = None
    logprobs: list[float] | None = None
    after_compaction: bool = False  # history was compacted since the previous turn
    prompt_tokens: int = 0
    completion_tokens: int = 0
    started_at: float = 0.0
    duration_s: float = 0.0
    finish_reason: str | None = None
    # filled by build_sequences:
    sequence: int | None = None
    response_start: int | None = None
    response_end: int | None = None


@dataclass
class TrainingSequence:
    index: int
    reason: str  # "start" | "compaction" | "prefix_mismatch"
    input_ids: list[int] = field(default_factory=list)
    loss_mask: list[int] = field(default_factory=list)  # 1 on sampled tokens
    logprobs: list[float] = field(default_factory=list)  # mu on sampled tokens, 0.0 elsewhere
    chunks: list[list[int]] = field(default_factory=list)  # [start, end, turn] per model turn, end exclusive


def build_sequences(turns: list[ModelTurn]) -> list[TrainingSequence]:
    """Append-only construction; also records each turn's sequence and response span on the turn."""
    seqs: list[TrainingSequence] = []
    cur: TrainingSequence | None = None
    for t in turns:
        if t.prompt_ids is None or t.response_ids is None:
            continue
        if t.logprobs is not None and len(t.logprobs) != len(t.response_ids):
            raise ValueError(f"turn {t.index}: {len(t.logprobs)} logprobs for {len(t.response_ids)} tokens")
        n = len(cur.input_ids) if cur else 0
        if cur is not None and t.prompt_ids[:n] == cur.input_ids:
            delta = t.prompt_ids[n:]
        else:
            reason = "start" if cur is None else ("compaction" if t.after_compaction else "prefix_mismatch")
            cur = TrainingSequence(index=len(seqs), reason=reason)
            seqs.append(cur)
            delta = t.prompt_ids
        cur.input_ids += delta
        cur.loss_mask += [0] * len(delta)
        cur.logprobs += [0.0] * len(delta)
        start = len(cur.input_ids)
        cur.input_ids += t.response_ids
        cur.loss_mask += [1] * len(t.response_ids)
        cur.logprobs += list(t.logprobs) if t.logprobs is not None else [0.0] * len(t.response_ids)
        cur.chunks.append([start, len(cur.input_ids), t.index])
        t.sequence, t.response_start, t.response_end = cur.index, start, len(cur.input_ids)
    return seqs


@dataclass
class Trajectory:
    task: str
    model: str = ""
    schema_version: int = SCHEMA_VERSION
    end_reason: str | None = None
    end_detail: str = ""
    reward: float | None = None  # set by a grader; None when there is none
    started_at: float = 0.0
    ended_at: float = 0.0
    wall_s: float = 0.0
    config: dict[str, Any] = field(default_factory=dict)
    messages: list[dict[str, Any]] = field(default_factory=list)  # every message that entered the context
    steps: list[dict[str, Any]] = field(default_factory=list)  # one per action (or format error)
    turns: list[ModelTurn] = field(default_factory=list)
    sequences: list[TrainingSequence] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)  # compaction, loop reminders, guard, ...
    sandbox_events: list[dict[str, Any]] = field(default_factory=list)
    todo: list[dict[str, str]] = field(default_factory=list)

    @property
    def chunks(self) -> list[dict[str, int]]:
        return [{"sequence": s.index, "start": c[0], "end": c[1], "turn": c[2]} for s in self.sequences for c in s.chunks]

    def finalize_tokens(self) -> None:
        self.sequences = build_sequences(self.turns)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        # Turn ids live once in `sequences` (prompt = input_ids[:response_start]); storing every turn's
        # full prompt would grow quadratically with the episode.
        for t in d["turns"]:
            for k in ("prompt_ids", "response_ids", "logprobs"):
                t.pop(k)
        d["chunks"] = self.chunks
        return d

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=1))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Trajectory":
        if d.get("schema_version") != SCHEMA_VERSION:
            raise ValueError(f"trajectory schema_version {d.get('schema_version')!r} is not {SCHEMA_VERSION}")
        d = dict(d)
        d.pop("chunks", None)
        seqs = [TrainingSequence(**s) for s in d.pop("sequences", [])]
        turns = []
        for t in d.pop("turns", []):
            turn = ModelTurn(**t)
            if turn.sequence is not None:  # restore the turn's ids from its sequence
                s = seqs[turn.sequence]
                turn.prompt_ids = s.input_ids[:turn.response_start]
                turn.response_ids = s.input_ids[turn.response_start:turn.response_end]
                turn.logprobs = s.logprobs[turn.response_start:turn.response_end]
            turns.append(turn)
        return cls(**d, turns=turns, sequences=seqs)

    @classmethod
    def load(cls, path: str | Path) -> "Trajectory":
        return cls.from_dict(json.loads(Path(path).read_text()))


_PROBES = ("Hello, world! 123", "<|im_start|>assistant\n```bash\nls -la /tmp\n```<|im_end|>\n", "é ü 中文\t{}[]\n")


def tokenizer_fingerprint(tokenizer: Any) -> str:
    """``name|vocab size|hash``: the tokenizer's name (last path part), its size and a hash of its ids for a
    few probe strings (chat markers included). Equal fingerprints: saved ids can be reused as they are."""
    name = Path(str(getattr(tokenizer, "name_or_path", "") or "tokenizer")).name
    ids = [tokenizer.encode(p, add_special_tokens=False) for p in _PROBES]
    digest = hashlib.sha1(json.dumps([len(tokenizer), tokenizer.eos_token_id, ids]).encode()).hexdigest()[:12]
    return f"{name}|{len(tokenizer)}|{digest}"


def retokenize(traj: Trajectory, tokenizer: Any, tool_format: str = "auto") -> Trajectory:
    """A copy of ``traj`` whose model turns are rebuilt from its messages with ``tokenizer``'s chat
    template: each assistant message becomes one turn (prompt = the conversation before it, rendered
    with the earlier replies spliced in as their new ids, so the sequences stay append-only; reply =
    the template's text of that message up to the end token, then eos). log mu is unknown (NaN).
    Used when the trajectory was made by another tokenizer, records none, or has no ids (a scripted
    oracle). The conversation is shown as the harness shows it to a policy served by our engines
    (whose calls are parsed from the reply text, so they carry no call id): native tool calls become
    ``<tool_call>`` JSON in the reply and tool results one user message of ``<tool_response>`` blocks.
    ``tool_format`` is the harness's (``AgentConfig.tool_format``): native (or ``auto`` with a template
    that takes ``tools``) passes the tool list to the template, text puts it into the system prompt.
    Steps keep their turn indices (one model turn per assistant message, as the harness writes them).
    Kept: messages, steps, reward, end reason. Dropped: a compaction's history rewrite (the message
    log is rendered as one conversation)."""
    from ale.agent.models.hf import ChatRenderer
    from ale.agent.protocols import TOKEN_IDS_KEY
    from ale.agent.tools import TOOLS

    renderer = ChatRenderer(tokenizer)
    schemas = [TOOLS[n].schema() for n in (traj.config.get("tools") or TOOLS) if n in TOOLS]
    native = tool_format == "native" or (tool_format == "auto" and renderer.supports_tools)
    messages = _results_as_text([_calls_as_text(dict(m)) for m in traj.messages], [] if native else schemas)
    tools = schemas if native else None
    kw = {"tools": tools} if tools and renderer.supports_tools else {}
    old = {t.index: t for t in traj.turns}
    turns: list[ModelTurn] = []
    for i, message in enumerate(messages):
        if message.get("role") != "assistant":
            continue
        prompt = renderer.render(messages[:i], tools)
        reply = _reply_ids(tokenizer, messages[:i], message, kw)
        message[TOKEN_IDS_KEY] = reply  # later prompts splice it, as the harness does with sampled ids
        was = old.get(len(turns))
        turns.append(ModelTurn(index=len(turns), prompt_ids=prompt, response_ids=reply, logprobs=[math.nan] * len(reply),
                               prompt_tokens=len(prompt), completion_tokens=len(reply),
                               started_at=was.started_at if was else 0.0, duration_s=was.duration_s if was else 0.0,
                               finish_reason=was.finish_reason if was else "stop"))
    out = copy.deepcopy(traj)
    out.turns = turns
    out.config = {**traj.config, "tokenizer": tokenizer_fingerprint(tokenizer),
                  "retokenized_from": traj.config.get("tokenizer")}
    out.finalize_tokens()
    return out


def _calls_as_text(message: dict[str, Any]) -> dict[str, Any]:
    """An assistant message's native tool calls written into its content as ``<tool_call>`` JSON."""
    if message.get("role") != "assistant" or not message.get("tool_calls"):
        return message
    parts = [message.get("content") or ""]
    for call in message["tool_calls"]:
        fn = call.get("function", call)
        args = fn.get("arguments") or {}
        if isinstance(args, str):
            try:
                args = json.loads(args)
            except json.JSONDecodeError:
                pass  # kept as the string the model wrote
        parts.append("<tool_call>\n" + json.dumps({"name": fn.get("name"), "arguments": args}) + "\n</tool_call>")
    return {k: v for k, v in message.items() if k != "tool_calls"} | {"content": "\n".join(p for p in parts if p)}


def _results_as_text(messages: list[dict[str, Any]], schemas: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Consecutive tool results become one user message of ``<tool_response>`` blocks; with ``schemas``
    (text tool format) the system prompt gets the tool list, as the harness writes it."""
    from ale.agent.parsing import text_tool_instructions

    out: list[dict[str, Any]] = []
    for m in messages:
        if m.get("role") == "tool":
            block = f"<tool_response>\n{m.get('content') or ''}\n</tool_response>"
            if out and out[-1].get("_tool_results"):
                out[-1]["content"] += "\n\n" + block
            else:
                out.append({"role": "user", "content": block, "_tool_results": True})
            continue
        if m.get("role") == "system" and schemas and "<tools>" not in (m.get("content") or ""):
            m = {**m, "content": (m.get("content") or "") + "\n\n" + text_tool_instructions(schemas)}
        out.append(m)
    return out


def _reply_ids(tokenizer: Any, history: list[dict[str, Any]], message: dict[str, Any], kw: dict[str, Any]) -> list[int]:
    """The ids of one assistant message as the chat template writes it, cut at the end token, plus eos."""
    def clean(ms: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{**{k: v for k, v in m.items() if not k.startswith("_")}, "content": m.get("content") or ""} for m in ms]

    before = tokenizer.apply_chat_template(clean(history), tokenize=False, add_generation_prompt=True, **kw)
    full = tokenizer.apply_chat_template(clean(history + [message]), tokenize=False, **kw)
    text = full[len(before):] if full.startswith(before) else message.get("content") or ""
    eos = tokenizer.eos_token or ""
    if eos and eos in text:
        text = text[:text.index(eos)]
    return (tokenizer.encode(text, add_special_tokens=False) if text else []) + [tokenizer.eos_token_id]


def needs_retokenize(traj: Trajectory, tokenizer: Any) -> bool:
    """False only for ids recorded as ``tokenizer``'s, or ids with no tokenizer recorded and no assistant
    message to rebuild them from (kept: the caller checks them against the vocabulary)."""
    recorded = traj.config.get("tokenizer")
    if traj.sequences and recorded == tokenizer_fingerprint(tokenizer):
        return False  # the policy's own ids
    has_text = any(m.get("role") == "assistant" for m in traj.messages)
    return has_text or recorded is not None or not traj.sequences


def training_data(traj: Trajectory | dict[str, Any] | str | Path, tokenizer: Any = None,
                  tool_format: str = "auto") -> list[dict[str, Any]]:
    """Per training sequence, as plain lists: what the trainer consumes.

    input_ids, loss_mask (== response_mask: 1 on sampled tokens), logprobs (mu, 0.0 off-mask),
    chunks ([start, end) spans of one model turn each, in order), chunk_errors (the turn's reply was
    malformed or one of its tool calls failed: the SFT chunk mask of the report drops those), reward,
    end_reason, and the episode-level chunk numbering: chunk_offset (chunks of the trajectory in
    earlier sequences, so this sequence's chunk j is the episode's chunk chunk_offset + j) and
    episode_chunks (K of the whole trajectory; a compaction splits an episode, not its discount).

    ``tokenizer`` (the policy's): unless the trajectory has ids and records that same tokenizer's
    fingerprint, its turns are first rebuilt with it (``retokenize(traj, tokenizer, tool_format)``:
    another tokenizer's ids would index another vocabulary; a trajectory without ids, e.g. a scripted
    oracle's, gets them this way). Ids with no tokenizer recorded and no assistant message to rebuild
    them from are kept as they are (the caller checks them against the vocabulary).
    """
    if isinstance(traj, (str, Path)):
        traj = Trajectory.load(traj)
    elif isinstance(traj, dict):
        traj = Trajectory.from_dict(traj)
    if tokenizer is not None and needs_retokenize(traj, tokenizer):
        traj = retokenize(traj, tokenizer, tool_format)
    failed = {st["turn"] for st in traj.steps if st.get("error") or st.get("format_error")}
    offsets = [sum(len(s.chunks) for s in traj.sequences[:i]) for i in range(len(traj.sequences))]
    total = sum(len(s.chunks) for s in traj.sequences)
    return [{"input_ids": list(s.input_ids), "loss_mask": list(s.loss_mask), "response_mask": list(s.loss_mask),
             "logprobs": list(s.logprobs), "chunks": [[c[0], c[1]] for c in s.chunks],
             "turns": [c[2] for c in s.chunks], "chunk_errors": [c[2] in failed for c in s.chunks],
             "chunk_offset": offset, "episode_chunks": total,
             "sequence_reason": s.reason, "reward": traj.reward, "end_reason": traj.end_reason}
            for s, offset in zip(traj.sequences, offsets)]
