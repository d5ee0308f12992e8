"""Test helpers for the agent harness (imported by its tests and conftest).

LocalEnvironment and TokenScriptedModel are FAKES for unit tests only: the real environment is
ale.agent.SandboxEnvironment over ale.sandbox, and real token-producing models are the HF/OpenAI backends.
"""
from __future__ import annotations

import os
import random
import shlex
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from ale.agent.models.hf import ChatRenderer
from ale.agent.protocols import CommandResult, ModelReply


class LocalEnvironment:
    """FAKE environment: each command is a fresh `bash -c` in a temp dir; cwd and exported variables are
    carried over through state files to imitate a persistent session. No isolation, no idle timeout.
    `guard_on`: a command containing this text gets a guard response, imitating the sandbox guard.
    `truncate_at`: outputs longer than this are cut and the full text saved, imitating the sandbox."""

    def __init__(self, root: Path, guard_on: str | None = None, truncate_at: int | None = None):
        self.workdir = str(root / "ws")
        self._state = root / "state"
        os.makedirs(self.workdir, exist_ok=True)
        self._state.mkdir(exist_ok=True)
        (self._state / "cwd").write_text(self.workdir)
        self.guard_on, self.truncate_at = guard_on, truncate_at
        self.commands: list[str] = []
        self._events: list[dict[str, Any]] = [{"kind": "fake_created"}]

    def run(self, command: str, timeout: float, idle_timeout: float | None = None) -> CommandResult:
        self.commands.append(command)
        if self.guard_on and self.guard_on in command:
            self._events.append({"kind": "guard", "action": "stop_and_reset"})
            return CommandResult(output="", exit_code=137, status="interrupted",
                                 guard={"action": "stop_and_reset", "reason": "fake guard"})
        env_file = self._state / "env"
        script = (f"[ -f {env_file} ] && . {env_file}\ncd {shlex.quote((self._state / 'cwd').read_text().strip())}\n"
                  f"{command}\n__rc=$?; pwd > {self._state}/cwd; export -p > {env_file}; exit $__rc")
        t0 = time.time()
        p = subprocess.Popen(["bash", "-c", script], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            out, _ = p.communicate(timeout=timeout)
            status, code = "completed", p.returncode
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            out, _ = p.communicate()
            status, code = "timeout", None
        text = out.decode(errors="replace")
        path = None
        if self.truncate_at and len(text) > self.truncate_at:
            path = str(self._state / f"out{len(self.commands)}.txt")
            Path(path).write_text(text)
            text = text[: self.truncate_at]
        return CommandResult(output=text, exit_code=code, status=status, truncated=path is not None,
                             output_path=path, duration_s=time.time() - t0)

    def _path(self, path: str) -> Path:
        return Path(path if path.startswith("/") else os.path.join(self.workdir, path))

    def read_file(self, path: str) -> str:
        return self._path(path).read_text()

    def write_file(self, path: str, content: str) -> None:
        p = self._path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(content)

    def events(self) -> list[dict[str, Any]]:
        return list(self._events)

    def close(self) -> None:
        pass


CHATML_WITH_TOOLS = (
    "{% if tools %}<|im_start|>system\n{% if messages[0].role == 'system' %}{{ messages[0].content }}{% endif %}"
    "\n\n<tools>{% for t in tools %}\n{{ t | tojson }}{% endfor %}\n</tools><|im_end|>\n{% endif %}"
    "{% for m in messages %}{% if not (tools and loop.first and m.role == 'system') %}"
    "<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


def make_tiny_tokenizer():
    """Byte-level tokenizer (one token a byte, plus ChatML specials), built offline."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {c: i for i, c in enumerate(sorted(pre_tokenizers.ByteLevel.alphabet()))}
    t = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    t.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    t.decoder = decoders.ByteLevel()
    tok = PreTrainedTokenizerFast(tokenizer_object=t, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                  additional_special_tokens=["<|im_start|>"])
    tok.chat_template = CHATML_WITH_TOOLS
    return tok


def make_tiny_llama():
    """A random-initialised 2-layer Llama over the byte-level test tokenizer: (model, tokenizer)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tok = make_tiny_tokenizer()
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=32768,
                      eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    return LlamaForCausalLM(cfg), tok


class TokenScriptedModel:
    """FAKE token-producing model: renders prompts with the real ChatRenderer, and "samples" the
    scripted reply's tokens (with made-up log-probs). Exercises the token bookkeeping without a network."""

    supports_native_tools = True

    def __init__(self, tokenizer: Any, replies: list[str], context_window: int = 100_000, seed: int = 0):
        self.renderer, self.tok, self.replies = ChatRenderer(tokenizer), tokenizer, list(replies)
        self.name, self.context_window = "token-scripted-fake", context_window
        self.rng = random.Random(seed)
        self.sampled: list[list[int]] = []

    def generate(self, messages, tools=None) -> ModelReply:
        prompt = self.renderer.render(messages, tools)
        text = self.replies.pop(0)
        ids = self.tok.encode(text, add_special_tokens=False) + [self.tok.eos_token_id]
        self.sampled.append(ids)
        return ModelReply(message={"role": "assistant", "content": text}, prompt_tokens=len(prompt),
                          completion_tokens=len(ids), prompt_ids=prompt, response_ids=ids,
                          logprobs=[-self.rng.random() * 3 for _ in ids], finish_reason="stop")


def check_exact(turns, seqs) -> None:
    """Token-exactness: one chunk per model turn with ids, in order; trainable tokens == sampled tokens;
    each turn's prompt is the sequence so far; later sequences start at a compaction."""
    with_ids = [t for t in turns if t.response_ids is not None]
    assert [c[2] for s in seqs for c in s.chunks] == [t.index for t in with_ids]  # one chunk per turn, in order
    for s in seqs:
        assert len(s.input_ids) == len(s.loss_mask) == len(s.logprobs)
        trainable = [x for x, m in zip(s.input_ids, s.loss_mask) if m]
        sampled = [x for c in s.chunks for x in turns[c[2]].response_ids]
        assert trainable == sampled
        covered = [0] * len(s.input_ids)
        for start, end, ti in s.chunks:
            t = turns[ti]
            assert s.input_ids[start:end] == t.response_ids and s.logprobs[start:end] == t.logprobs
            assert s.input_ids[:start] == t.prompt_ids  # append-only: the prompt is the sequence so far
            for k in range(start, end):
                covered[k] = 1
        assert covered == s.loss_mask
    for s in seqs[1:]:
        assert s.reason == "compaction"
        assert turns[s.chunks[0][2]].after_compaction
