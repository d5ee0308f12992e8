"""Shared helpers for the trainer tests: a tiny RL config over the easy example tasks."""
from __future__ import annotations

from pathlib import Path

import pytest

from ale.train.config import TrainConfig, load_config

REPO = Path(__file__).resolve().parents[2]
TINY_RL = REPO / "examples" / "cpu-tiny" / "rl.yaml"
EASY_TASKS = REPO / "examples" / "tasks" / "easy-words"


# the example tiny config, shrunk for tests: one task per step, short replies, a short system prompt
TEST_OVERRIDES = [f"rollout.tasks={EASY_TASKS}", "rollout.tasks_per_step=1", "sampling.max_new_tokens=24",
                  "agent.system_prompt=Solve the task with the tools.", "agent.tools=[bash, finish]",
                  "torch_threads=1", "progress=false", "tensorboard=false"]


def tiny_rl_config(out: Path, *overrides: str) -> TrainConfig:
    return load_config(TINY_RL, [*TEST_OVERRIDES, *overrides], out=str(out))


@pytest.fixture
def tiny_policy():
    from ale.train.policy import PolicyConfig, load_policy

    model, tok = load_policy(PolicyConfig(model="tiny", context_window=2048))
    return model, tok


def teacher_tokenizer():
    """FAKE for tests: a real tokenizer of *another* vocabulary (the policy's byte-level one, every id moved
    up by 1000), standing in for a teacher model's tokenizer (SmolLM2's takes ~12 s to load)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    from ale.train.policy import CHATML_WITH_TOOLS

    vocab = {c: i + 1000 for i, c in enumerate(sorted(pre_tokenizers.ByteLevel.alphabet()))}
    vocab.update({f"<unused{i}>": i for i in range(1000)})
    t = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    t.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    t.decoder = decoders.ByteLevel()
    tok = PreTrainedTokenizerFast(tokenizer_object=t, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                  additional_special_tokens=["<|im_start|>"], name_or_path="teacher")
    tok.chat_template = CHATML_WITH_TOOLS
    return tok


def teacher_trajectory(tok, reward=1.0):
    """A 2-turn text-tool-format trajectory whose ids were made by ``tok`` (what a teacher run saves)."""
    from ale.agent.models.hf import ChatRenderer
    from ale.agent.protocols import TOKEN_IDS_KEY
    from ale.agent.trajectory import ModelTurn, Trajectory, tokenizer_fingerprint

    replies = ["```bash\necho apple > /workspace/answer.txt\n```",
               '<tool_call>{"name": "finish", "arguments": {"summary": "done"}}</tool_call>']
    messages = [{"role": "system", "content": "Solve the task with the tools."},
                {"role": "user", "content": "Write the word apple to /workspace/answer.txt"}]
    renderer, turns, live = ChatRenderer(tok), [], [dict(m) for m in messages]
    for i, text in enumerate(replies):
        prompt = renderer.render(live, None)
        ids = tok.encode(text, add_special_tokens=False) + [tok.eos_token_id]
        turns.append(ModelTurn(i, prompt, ids, [-0.5] * len(ids)))
        live.append({"role": "assistant", "content": text, TOKEN_IDS_KEY: ids})
        messages.append({"role": "assistant", "content": text})
        if i == 0:
            obs = {"role": "user", "content": "<tool_response>\n\n</tool_response>"}
            live.append(obs)
            messages.append(obs)
    traj = Trajectory(task="write-apple", model="teacher", reward=reward, messages=messages, turns=turns,
                      end_reason="finished", config={"task_id": "write-apple", "tokenizer": tokenizer_fingerprint(tok)},
                      steps=[{"index": 0, "turn": 0, "error": False}, {"index": 1, "turn": 1, "error": False}])
    traj.finalize_tokens()
    return traj


def assert_engine_samples_from_trainer_weights(trainer, episodes, start_model) -> None:
    """Episodes sampled by the trainer's current policy version carry log mu equal to the trainer model's
    log-probs of the same tokens (the engine, wherever it runs, samples from the trained weights), and
    not to the start weights' (so the weights moved and the new ones reached the engine)."""
    import torch

    from ale.train.update import collate, token_logprobs

    rows = [row for ep in episodes if ep.versions and set(ep.versions) == {trainer.version} for row in ep.rows()]
    assert rows, "no episode sampled entirely by the current weights"
    batch = collate(rows, trainer.tok.pad_token_id)
    known = batch.response_mask & torch.isfinite(batch.infer_logp)
    assert known.any()
    temperature = trainer.cfg.sampling.temperature
    with torch.no_grad():
        now = token_logprobs(trainer.model.eval(), batch.input_ids, batch.attention_mask, 8, temperature)
        start = token_logprobs(start_model.eval(), batch.input_ids, batch.attention_mask, 8, temperature)
    gap_now = float((now - batch.infer_logp)[known].abs().max())
    gap_start = float((start - batch.infer_logp)[known].abs().max())
    assert gap_now < 1e-4, f"engine log mu differs from the trainer's weights by {gap_now}"
    assert gap_start > 1e-3, f"engine log mu equals the start weights' (gap {gap_start}): no update reached it"
