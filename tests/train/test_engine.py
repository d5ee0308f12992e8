"""The HF generation engine: batched sampling returns the ids and the log-probs it sampled from,
weights sync with a version, and the chat model batches concurrent episodes reproducibly."""
from __future__ import annotations

import threading

import pytest
import torch

from ale.train.engine import EngineChatModel, HFEngine, SamplingParams
from ale.train.update import token_logprobs


@pytest.mark.parametrize("temperature", [1.0, 0.7])
def test_batched_generation_logprobs_match_a_teacher_forced_forward(tiny_policy, temperature):
    model, tok = tiny_policy
    engine = HFEngine(model, tok.eos_token_id, tok.pad_token_id)
    prompts = [tok.encode("hello there", add_special_tokens=False), tok.encode("a much longer prompt here", add_special_tokens=False)]
    outs = engine.generate(prompts, SamplingParams(temperature=temperature, max_new_tokens=12), seed=3)
    assert [o.version for o in outs] == [0, 0]
    for prompt, out in zip(prompts, outs):
        assert out.prompt_ids == prompt and len(out.ids) == len(out.logprobs) > 0
        seq = torch.tensor([prompt + out.ids])
        ref = token_logprobs(engine.model, seq, torch.ones_like(seq), micro_batch=1, temperature=temperature)[0, len(prompt):]
        # left padding in the batch changes the arithmetic a little, never the distribution
        assert torch.allclose(ref, torch.tensor(out.logprobs), atol=1e-4), (ref, out.logprobs)
    again = engine.generate(prompts, SamplingParams(temperature=temperature, max_new_tokens=12), seed=3)
    assert [o.ids for o in again] == [o.ids for o in outs]


def test_load_weights_changes_the_samplers_distribution_and_version(tiny_policy):
    model, tok = tiny_policy
    engine = HFEngine(model, tok.eos_token_id, tok.pad_token_id)
    prompt = [tok.encode("x = ", add_special_tokens=False)]
    before = engine.generate(prompt, SamplingParams(temperature=0.0, max_new_tokens=4))[0]
    with torch.no_grad():  # the trainer's copy changes; the engine's must not until synced
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.5)
    assert engine.generate(prompt, SamplingParams(temperature=0.0, max_new_tokens=4))[0].logprobs == before.logprobs
    engine.load_weights(model.state_dict(), version=7)
    after = engine.generate(prompt, SamplingParams(temperature=0.0, max_new_tokens=4))[0]
    assert after.version == 7 and after.logprobs != before.logprobs


def test_chat_model_batches_concurrent_episodes_in_lock_step(tiny_policy):
    model, tok = tiny_policy
    engine = HFEngine(model, tok.eos_token_id, tok.pad_token_id)

    def run(seed):
        chat = EngineChatModel(engine, tok, SamplingParams(max_new_tokens=8), context_window=2048, seed=seed)
        clients = [chat.client(i) for i in range(3)]
        replies = [None] * 3

        def episode(i):
            msgs = [{"role": "user", "content": f"task {i}"}]
            replies[i] = [clients[i].generate(msgs).response_ids for _ in range(2)]
            clients[i].release()

        threads = [threading.Thread(target=episode, args=(i,)) for i in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        chat.close()
        return replies, chat.batches, [c.versions for c in clients]

    replies, batches, versions = run(seed=5)
    assert batches == 2  # three episodes x two turns, sampled as two batches of three
    assert versions == [[0, 0]] * 3
    assert run(seed=5)[0] == replies  # same seed, same samples, whatever the thread timing
