"""OpenAI-compatible chat-completions backend (vLLM, SGLang, hosted endpoints) over httpx.

Asks for sampled-token log-probs (`logprobs: true`) and, where the server supports it (vLLM's
`return_token_ids`), the prompt and response token ids. A server that rejects the token-id request
is asked again without it, once, and the backend remembers. Retries transport errors, 429 and 5xx with
exponential backoff. The server re-renders the history with its own template, so its prompt may not
extend the previous turn; the trajectory then starts a new training sequence (it never re-tokenises).
"""
from __future__ import annotations

import os
import random
import time
from typing import Any

import httpx

from ale.agent.protocols import ContextLengthError, ModelError, ModelReply


class OpenAIModel:
    supports_native_tools = True

    def __init__(self, model: str, base_url: str, api_key: str | None = None, temperature: float = 0.7,
                 top_p: float = 1.0, top_k: int | None = None, max_tokens: int = 4096, context_window: int = 32768,
                 request_token_ids: bool = True, retries: int = 4, backoff_s: float = 1.0, timeout_s: float = 600.0,
                 transport: httpx.BaseTransport | None = None):
        self.model, self.name = model, f"openai:{model}@{base_url}"
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY", "")
        self.sampling = {"temperature": temperature, "top_p": top_p, "max_tokens": max_tokens}
        if top_k is not None:
            self.sampling["top_k"] = top_k  # not an OpenAI field; vLLM/SGLang accept it
        self.context_window, self.request_token_ids = context_window, request_token_ids
        self.retries, self.backoff_s = retries, backoff_s
        self.client = httpx.Client(timeout=timeout_s, transport=transport)

    def check(self, timeout_s: float = 5.0) -> None:
        """One quick request (GET .../models, no retries) so an unreachable endpoint fails before any work;
        any HTTP answer counts as reachable (not every server serves /models)."""
        url = self.url.removesuffix("/chat/completions") + "/models"
        try:
            self.client.get(url, timeout=timeout_s,
                            headers={"Authorization": f"Bearer {self.api_key}"} if self.api_key else {})
        except httpx.HTTPError as e:
            raise ModelError(f"cannot reach the model endpoint {url}: {type(e).__name__}: {e}") from None

    def _body(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None) -> dict[str, Any]:
        clean = [{k: v for k, v in m.items() if not k.startswith("_")} for m in messages]
        body = {"model": self.model, "messages": clean, "logprobs": True, **self.sampling}
        if tools:
            body["tools"] = tools
        if self.request_token_ids:
            body["return_token_ids"] = True
        return body

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        last = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff_s * 2 ** (attempt - 1) * (0.5 + random.random() / 2))
            try:
                r = self.client.post(self.url, json=body, headers=headers)
            except httpx.TransportError as e:
                last = f"{type(e).__name__}: {e}"
                continue
            if r.status_code == 429 or r.status_code >= 500:
                last = f"HTTP {r.status_code}: {r.text[:300]}"
                continue
            if r.status_code == 400 and "return_token_ids" in body and "return_token_ids" in r.text:
                self.request_token_ids = False  # this server does not know the field
                body = {k: v for k, v in body.items() if k != "return_token_ids"}
                return self._post(body)
            if r.status_code >= 400:
                text = r.text[:500]
                if "context length" in text.lower() or "maximum context" in text.lower() or "too long" in text.lower():
                    raise ContextLengthError(text)
                raise ModelError(f"HTTP {r.status_code} from {self.url}: {text}")
            return r.json()
        raise ModelError(f"{self.url} failed after {self.retries + 1} attempts: {last}")

    def generate(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None) -> ModelReply:
        data = self._post(self._body(messages, tools))
        try:
            choice = data["choices"][0]
            msg = choice["message"]
        except (KeyError, IndexError, TypeError) as e:
            raise ModelError(f"malformed response from {self.url}: {str(data)[:300]}") from e
        message = {"role": "assistant", "content": msg.get("content")}
        if msg.get("tool_calls"):
            message["tool_calls"] = msg["tool_calls"]
        lp = (choice.get("logprobs") or {}).get("content")
        logprobs = [float(t["logprob"]) for t in lp] if lp else None
        prompt_ids, response_ids = data.get("prompt_token_ids"), choice.get("token_ids")
        if response_ids is None or prompt_ids is None:
            prompt_ids = response_ids = None
        elif logprobs is not None and len(logprobs) != len(response_ids):
            logprobs = None  # cannot align them; better none than wrong
        usage = data.get("usage") or {}
        return ModelReply(message=message, prompt_tokens=int(usage.get("prompt_tokens") or 0),
                          completion_tokens=int(usage.get("completion_tokens") or 0), prompt_ids=prompt_ids,
                          response_ids=response_ids, logprobs=logprobs, finish_reason=choice.get("finish_reason"))
