"""Model backends and load_model(spec).

Specs: `openai:MODEL@URL` (key from OPENAI_API_KEY), `hf:PATH_OR_NAME`, `smollm2-135m`, `scripted:FILE`.
Keyword overrides (temperature, max_new_tokens, ...) go to the backend's constructor.
"""
from __future__ import annotations

from typing import Any

from ale.agent.models.scripted import ScriptedModel
from ale.agent.protocols import Model


def load_model(spec: str, **kw: Any) -> Model:
    if spec == "smollm2-135m":
        from ale.agent.models.hf import load_smollm2

        return load_smollm2(**kw)
    kind, _, rest = spec.partition(":")
    if kind == "scripted" and rest:
        return ScriptedModel.from_file(rest, **kw)
    if kind == "hf" and rest:
        from ale.agent.models.hf import HFModel

        return HFModel.from_pretrained(rest, **kw)
    if kind == "openai" and "@" in rest:
        from ale.agent.models.openai_http import OpenAIModel

        model, _, url = rest.partition("@")
        if model and url:
            return OpenAIModel(model, url, **kw)
    raise ValueError(f"bad model spec {spec!r}; use openai:MODEL@URL, hf:PATH, smollm2-135m or scripted:FILE")


__all__ = ["load_model", "ScriptedModel"]
