"""The HF generation engine: batched sampling returns the ids and the log-probs it sampled from,
weights sync with a version, and the chat model batches concurrent episodes reproducibly."""
from __future__ import annotations

import threading

import pytest
import torch

from ale.train.engine import EngineChatModel, HFEngine, SamplingParams, sample
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


def _hf_greedy(model, tok, prompts, max_new_tokens):
    """HF ``generate`` greedy on the same left-padded batch (the reference our decoding loop must match)."""
    width = max(len(p) for p in prompts)
    ids = torch.tensor([[tok.pad_token_id] * (width - len(p)) + p for p in prompts])
    mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts])
    with torch.no_grad():
        out = model.generate(ids, attention_mask=mask, do_sample=False, max_new_tokens=max_new_tokens,
                             pad_token_id=tok.pad_token_id, eos_token_id=None, temperature=None, top_p=None, top_k=None)
    return out[:, width:].tolist()


@pytest.mark.parametrize("texts", [["same prompt"] * 3, ["short", "a rather longer prompt", "mid prompt"]],
                         ids=["identical-shared-prefill", "left-padded"])
def test_greedy_matches_hf_generate(tiny_policy, texts):
    model, tok = tiny_policy
    engine = HFEngine(model, -1, tok.pad_token_id)  # no eos: every row runs the full length, like the reference
    prompts = [tok.encode(t, add_special_tokens=False) for t in texts]
    outs = engine.generate(prompts, SamplingParams(temperature=0.0, max_new_tokens=10))
    assert [o.ids for o in outs] == _hf_greedy(engine.model, tok, prompts, 10)
    assert {o.finish_reason for o in outs} == {"length"}


def _reference_logmu(model, prompt, ids, params, eos):
    """log mu from one full forward over prompt+completion, processed exactly as the sampler documents."""
    seq = torch.tensor([prompt + ids])
    with torch.no_grad():
        logits = model(input_ids=seq).logits[0, len(prompt) - 1:-1].float()
    out = []
    for t, token in enumerate(ids):
        x = logits[t].clone()
        if params.temperature == 0:
            out.append(torch.log_softmax(x, -1)[token])
            continue
        if t < params.min_new_tokens:
            x[eos] = -float("inf")
        x = x / params.temperature
        if params.top_k:
            x[x < torch.topk(x, params.top_k).values[-1]] = -float("inf")
        if params.top_p < 1:
            probs, order = torch.softmax(x, -1).sort(descending=True)
            before = probs.cumsum(0) - probs  # mass of the strictly more likely tokens
            x[order[before >= params.top_p]] = -float("inf")
        out.append(torch.log_softmax(x, -1)[token])
    return torch.stack(out)


@pytest.mark.parametrize("params", [SamplingParams(temperature=1.0), SamplingParams(temperature=0.0),
                                    SamplingParams(temperature=0.7, top_k=20),
                                    SamplingParams(temperature=0.7, top_p=0.8),
                                    SamplingParams(temperature=0.7, top_k=50, top_p=0.9, min_new_tokens=5)],
                         ids=["t1", "greedy", "t0.7-topk", "t0.7-topp", "t0.7-topk-topp-min"])
def test_logmu_equals_a_full_forward_under_the_processed_distribution(tiny_policy, params):
    model, tok = tiny_policy
    engine = HFEngine(model, tok.eos_token_id, tok.pad_token_id)
    params.max_new_tokens = 12
    prompts = [tok.encode("one prompt", add_special_tokens=False)] * 2 + [tok.encode("another, longer prompt", add_special_tokens=False)]
    outs = engine.generate(prompts, params, seed=11)
    for prompt, out in zip(prompts, outs):
        assert len(out.ids) == len(out.logprobs) > 0
        ref = _reference_logmu(engine.model, prompt, out.ids, params, tok.eos_token_id)
        assert torch.allclose(ref, torch.tensor(out.logprobs), atol=1e-4), (ref, out.logprobs)


def test_seed_eos_min_new_tokens_and_finish_reasons(tiny_policy):
    model, tok = tiny_policy
    prompts = [tok.encode("p", add_special_tokens=False), tok.encode("another p", add_special_tokens=False)] * 2
    params = SamplingParams(temperature=1.0, max_new_tokens=16)
    # make eos likely: a bias on its logit, so rows stop at different steps
    with torch.no_grad():
        model.lm_head.bias = torch.nn.Parameter(torch.zeros(model.config.vocab_size))
        model.lm_head.bias[tok.eos_token_id] = 4.0
    engine = HFEngine(model, tok.eos_token_id, tok.pad_token_id)
    a, b = engine.generate(prompts, params, seed=1), engine.generate(prompts, params, seed=1)
    assert [o.ids for o in a] == [o.ids for o in b] and [o.logprobs for o in a] == [o.logprobs for o in b]
    assert [o.ids for o in engine.generate(prompts, params, seed=2)] != [o.ids for o in a]
    for o in a:
        assert o.ids.count(tok.eos_token_id) <= 1 and len(o.ids) == len(o.logprobs)
        assert o.finish_reason == ("stop" if o.ids[-1] == tok.eos_token_id else "length")
        assert o.finish_reason == "stop" or len(o.ids) == 16
    assert any(o.finish_reason == "stop" for o in a) and len({len(o.ids) for o in a}) > 1  # rows stop apart
    held = engine.generate(prompts, SamplingParams(temperature=1.0, max_new_tokens=16, min_new_tokens=6), seed=1)
    for o in held:
        assert tok.eos_token_id not in o.ids[:6] and (o.finish_reason == "stop") == (o.ids[-1] == tok.eos_token_id)
    fixed = engine.generate(prompts, SamplingParams(temperature=1.0, max_new_tokens=8, min_new_tokens=8), seed=1)
    assert all(len(o.ids) == 8 and o.finish_reason == "length" for o in fixed)
    assert engine.generate(prompts, SamplingParams(max_new_tokens=0), seed=1)[0].ids == []


def test_sampler_draws_from_the_processed_distribution():
    probs = torch.tensor([0.5, 0.3, 0.15, 0.05])
    logits = probs.log().expand(40000, 4).clone()
    gen = torch.Generator().manual_seed(0)
    tok, lp = sample(logits, SamplingParams(temperature=1.0), gen)
    freq = torch.bincount(tok, minlength=4) / len(tok)
    assert torch.allclose(freq, probs, atol=0.01), freq
    assert torch.allclose(lp, probs.log()[tok], atol=1e-6)
    tok, lp = sample(logits, SamplingParams(temperature=1.0, top_p=0.75), gen, ban=0)  # eos=0 banned
    kept = torch.tensor([0.0, 0.3, 0.15, 0.0]) / 0.45  # ban 0 -> [.6,.3,.1]; top-p .75 keeps the first two
    freq = torch.bincount(tok, minlength=4) / len(tok)
    assert freq[0] == 0 and freq[3] == 0 and torch.allclose(freq, kept, atol=0.01), freq
    assert torch.allclose(lp, kept.log()[tok], atol=1e-6)


def test_each_row_stops_at_its_own_max_new_tokens(tiny_policy):
    """C7: a lock-step batch used the smallest limit of its episodes for every row."""
    model, tok = tiny_policy
    engine = HFEngine(model, tok.eos_token_id, tok.pad_token_id)
    prompts = [tok.encode("p", add_special_tokens=False), tok.encode("another p", add_special_tokens=False)]
    params = SamplingParams(temperature=1.0, max_new_tokens=10, min_new_tokens=10)  # no eos: rows run to their limit
    outs = engine.generate(prompts, params, seed=1, max_new_tokens=[3, 10])
    assert [len(o.ids) for o in outs] == [3, 10] and [o.finish_reason for o in outs] == ["length", "length"]
    alone = engine.generate(prompts[1:], params, seed=1)[0]
    assert len(alone.ids) == 10
    # through the chat model: one episode's prompt nearly fills the context window, the other's does not
    short = [{"role": "user", "content": "hi"}]
    long = [{"role": "user", "content": "x" * 40}]
    renderer_len = len(EngineChatModel(engine, tok, params, 4096).renderer.render(long, None))
    chat = EngineChatModel(engine, tok, SamplingParams(temperature=1.0, max_new_tokens=12, min_new_tokens=12),
                           context_window=renderer_len + 4, seed=0)
    clients = [chat.client(i) for i in range(2)]
    replies = [None, None]

    def episode(i, msgs):
        replies[i] = clients[i].generate(msgs)
        clients[i].release()

    threads = [threading.Thread(target=episode, args=(0, short)), threading.Thread(target=episode, args=(1, long))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    chat.close()
    assert chat.batches == 1  # one lock-step batch held both
    assert len(replies[1].response_ids) == 4  # the room left in its context window
    assert renderer_len + 4 - len(replies[0].prompt_ids) > 12 and len(replies[0].response_ids) == 12  # its own limit


def test_a_lower_precision_engine_samples_from_a_measurably_different_policy(tiny_policy):
    """sampling.dtype=bfloat16: the engine's copy runs in bf16 (the trainer's stays fp32), so its log mu
    departs from the trainer's log pi on the same tokens (the mismatch the train/inference masks are for);
    weight sync casts into the engine's dtype."""
    model, tok = tiny_policy
    prompt = [tok.encode("a prompt of some length", add_special_tokens=False)]
    gaps = {}
    for dtype in (None, torch.bfloat16):
        engine = HFEngine(model, tok.eos_token_id, tok.pad_token_id, dtype=dtype)
        assert next(engine.model.parameters()).dtype == (dtype or torch.float32)
        out = engine.generate(prompt, SamplingParams(temperature=1.0, max_new_tokens=16), seed=0)[0]
        seq = torch.tensor([prompt[0] + out.ids])
        ref = token_logprobs(model, seq, torch.ones_like(seq), micro_batch=1)[0, len(prompt[0]):]
        gaps[dtype] = (ref - torch.tensor(out.logprobs)).abs().max().item()
        engine.load_weights(model.state_dict(), version=1)
        assert next(engine.model.parameters()).dtype == (dtype or torch.float32)
    assert gaps[None] < 1e-4 < gaps[torch.bfloat16], gaps
