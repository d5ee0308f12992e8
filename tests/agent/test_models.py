import json

import httpx
import pytest
import torch

from ale.agent import Agent, AgentConfig, load_model
from ale.agent.models import ScriptedModel
from ale.agent.models.hf import ChatRenderer, HFModel
from ale.agent.models.openai_http import OpenAIModel
from ale.agent.models.scripted import ScriptExhausted
from ale.agent.protocols import ContextLengthError, Model, ModelError
from .agent_testkit import check_exact, make_tiny_llama

MSGS = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "say hi"}]


@pytest.fixture(scope="module")
def tiny():
    return make_tiny_llama()


def raw_logprobs(model, prompt, response):
    with torch.no_grad():
        logits = model(torch.tensor([prompt + response])).logits[0]
    lp = torch.log_softmax(logits.float(), -1)
    return [lp[len(prompt) - 1 + i, t].item() for i, t in enumerate(response)], logits


def test_hf_sampling_returns_ids_and_sampler_logprobs(tiny):
    model, tok = tiny
    m = HFModel(model, tok, temperature=1.0, top_p=1.0, top_k=0, max_new_tokens=12, seed=1)
    assert isinstance(m, Model) and m.supports_native_tools
    r = m.generate(MSGS)
    assert r.prompt_ids == ChatRenderer(tok).render(MSGS) and r.prompt_tokens == len(r.prompt_ids)
    assert 0 < len(r.response_ids) <= 12 and len(r.logprobs) == len(r.response_ids) == r.completion_tokens
    assert r.message["content"] == tok.decode(r.response_ids, skip_special_tokens=True)
    # at temperature 1 with no top-k/top-p, mu is the model's own distribution: recompute it
    expected, _ = raw_logprobs(model, r.prompt_ids, r.response_ids)
    assert r.logprobs == pytest.approx(expected, abs=1e-4)


def test_hf_top_k_logprobs_are_of_the_truncated_distribution(tiny):
    model, tok = tiny
    r = HFModel(model, tok, temperature=0.8, top_k=5, max_new_tokens=10, seed=2).generate(MSGS)
    raw, logits = raw_logprobs(model, r.prompt_ids, r.response_ids)
    for i, t in enumerate(r.response_ids):
        step = logits[len(r.prompt_ids) - 1 + i] / 0.8
        assert t in torch.topk(step, 5).indices.tolist()  # only the top 5 can be sampled
        exact = torch.log_softmax(torch.topk(step, 5).values, -1)[torch.topk(step, 5).indices.tolist().index(t)]
        assert r.logprobs[i] == pytest.approx(exact.item(), abs=1e-4)


def test_hf_greedy_reports_model_logprobs(tiny):
    model, tok = tiny
    r = HFModel(model, tok, temperature=0.0, max_new_tokens=6).generate(MSGS)
    expected, logits = raw_logprobs(model, r.prompt_ids, r.response_ids)
    assert r.logprobs == pytest.approx(expected, abs=1e-4)
    assert r.response_ids[0] == int(logits[len(r.prompt_ids) - 1].argmax())


def test_hf_context_window_is_enforced(tiny):
    model, tok = tiny
    with pytest.raises(ContextLengthError):
        HFModel(model, tok, context_window=20).generate(MSGS)


def test_hf_agent_episode_is_well_formed_and_token_exact(tiny, env):
    model, tok = tiny
    m = HFModel(model, tok, temperature=1.0, max_new_tokens=8, seed=3)
    t = Agent(m, env, AgentConfig(max_steps=3, max_format_errors=10, tools=("bash", "finish"))).run("list files")
    assert t.end_reason == "step_limit" and len(t.turns) == 3  # random weights: format errors, no crash
    assert len(t.sequences) == 1 and t.sequences[0].reason == "start"
    check_exact(t.turns, t.sequences)
    assert all(turn.prompt_ids[:len(t.turns[0].prompt_ids)] == t.turns[0].prompt_ids for turn in t.turns)


def test_scripted_from_file_and_exhaustion(tmp_path):
    f = tmp_path / "s.jsonl"
    f.write_text('{"content": "hi"}\n\n{"tool_calls": [{"function": {"name": "bash", "arguments": "{}"}}]}\n')
    m = load_model(f"scripted:{f}")
    assert m.generate(MSGS).message == {"role": "assistant", "content": "hi"}
    tc = m.generate(MSGS).message["tool_calls"][0]
    assert tc["function"] == {"name": "bash", "arguments": "{}"} and tc["id"]
    with pytest.raises(ScriptExhausted):
        m.generate(MSGS)
    f.write_text("{oops\n")
    with pytest.raises(ValueError, match="s.jsonl:1: not JSON"):
        load_model(f"scripted:{f}")
    with pytest.raises(ValueError, match="function.name"):
        ScriptedModel([{"tool_calls": [{"function": {}}]}])


def test_load_model_specs():
    m = load_model("openai:qwen3@http://127.0.0.1:9/v1", api_key="k")
    assert isinstance(m, OpenAIModel) and m.model == "qwen3" and m.url == "http://127.0.0.1:9/v1/chat/completions"
    for bad in ["gpt", "openai:x", "openai:@u", "hf:", "scripted:", "foo:bar"]:
        with pytest.raises(ValueError, match="bad model spec"):
            load_model(bad)


class FakeServer:
    """FAKE OpenAI-compatible server (httpx MockTransport) for the HTTP backend's unit tests."""

    def __init__(self, statuses, token_ids=True, reject_token_ids=False):
        self.statuses, self.token_ids, self.reject = list(statuses), token_ids, reject_token_ids
        self.bodies = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.bodies.append(body)
        assert request.headers["authorization"] == "Bearer sk-test"
        status = self.statuses.pop(0) if self.statuses else 200
        if self.reject and "return_token_ids" in body:
            return httpx.Response(400, json={"error": "Unrecognized request argument: return_token_ids"})
        if status != 200:
            return httpx.Response(status, json={"error": "busy"})
        choice = {"index": 0, "finish_reason": "tool_calls",
                  "message": {"role": "assistant", "content": None, "tool_calls": [
                      {"id": "c1", "type": "function", "function": {"name": "bash", "arguments": '{"command":"ls"}'}}]},
                  "logprobs": {"content": [{"token": "a", "logprob": -0.5}, {"token": "b", "logprob": -1.5}]}}
        data = {"choices": [choice], "usage": {"prompt_tokens": 3, "completion_tokens": 2}}
        if self.token_ids and body.get("return_token_ids"):
            choice["token_ids"] = [7, 8]
            data["prompt_token_ids"] = [1, 2, 3]
        return httpx.Response(200, json=data)


def openai_model(server, **kw):
    return OpenAIModel("m", "http://fake/v1", api_key="sk-test", backoff_s=0.001,
                       transport=httpx.MockTransport(server), **kw)


def test_openai_backend_token_ids_logprobs_and_retries():
    server = FakeServer([503, 429, 200])
    m = openai_model(server, temperature=0.3, top_k=20)
    r = m.generate(MSGS + [{"role": "assistant", "content": "x", "_token_ids": [1]}],
                   [{"type": "function", "function": {"name": "bash"}}])
    assert len(server.bodies) == 3  # two retries
    b = server.bodies[-1]
    assert b["logprobs"] is True and b["return_token_ids"] is True and b["temperature"] == 0.3 and b["top_k"] == 20
    assert "_token_ids" not in b["messages"][-1] and b["tools"][0]["function"]["name"] == "bash"
    assert (r.prompt_ids, r.response_ids, r.logprobs) == ([1, 2, 3], [7, 8], [-0.5, -1.5])
    assert r.message["tool_calls"][0]["function"]["name"] == "bash" and r.prompt_tokens == 3


def test_openai_backend_gives_up_after_retries_and_adapts_to_servers_without_token_ids():
    with pytest.raises(ModelError, match="after 3 attempts: HTTP 500"):
        openai_model(FakeServer([500] * 5), retries=2).generate(MSGS)
    server = FakeServer([], reject_token_ids=True)
    m = openai_model(server)
    r = m.generate(MSGS)
    assert r.response_ids is None and r.logprobs == [-0.5, -1.5] and m.request_token_ids is False
    m.generate(MSGS)
    assert len(server.bodies) == 3  # the field is not sent again
    with pytest.raises(ModelError, match="HTTP 401"):
        openai_model(lambda req: httpx.Response(401, json={"error": "bad key"})).generate(MSGS)
    with pytest.raises(ContextLengthError):
        openai_model(lambda req: httpx.Response(400, text="maximum context length is 8192")).generate(MSGS)
