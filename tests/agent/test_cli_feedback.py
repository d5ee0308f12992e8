"""`ale agent run` with a local HF model: a live status with the tokens generated so far (not minutes of
silence) and no transformers loading bars. A tiny random Llama saved to a folder, a real sandbox, a
real subprocess whose console is told it is a terminal (TTY_COMPATIBLE)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ale.agent.models.hf import HFModel
from .agent_testkit import make_tiny_llama

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    model, tok = make_tiny_llama()
    d = tmp_path_factory.mktemp("tiny-hf")
    model.save_pretrained(d)
    tok.save_pretrained(d)
    return d


def test_hf_model_reports_tokens_as_they_come():
    model, tok = make_tiny_llama()
    m = HFModel(model, tok, temperature=1.0, max_new_tokens=20, seed=0)
    seen = []
    m.on_token = seen.append
    r = m.generate([{"role": "user", "content": "hi"}])
    assert seen == list(range(1, len(r.response_ids) + 1))


@pytest.mark.skipif(os.geteuid() != 0, reason="real sandboxes need root")
def test_agent_run_shows_generation_progress_without_loading_bars(tiny_dir, tmp_path):
    r = subprocess.run([sys.executable, "-m", "ale.cli", "agent", "run", "x", "--model", f"hf:{tiny_dir}",
                        "--max-steps", "1", "--out", str(tmp_path / "t.json")], cwd=ROOT, capture_output=True,
                       text=True, timeout=300,
                       env={**os.environ, "PYTHONPATH": str(ROOT), "TTY_COMPATIBLE": "1", "COLUMNS": "200"})
    assert r.returncode == 1, r.stderr  # a random model does not finish
    assert f"hf:{tiny_dir}: generating, " in r.stdout and " tokens (" in r.stdout
    assert "Loading weights" not in r.stderr + r.stdout and "it/s]" not in r.stderr


def test_hf_model_reuses_the_previous_turns_kv_cache():
    """A turn feeds the model only its new tokens; greedy outputs match a model that recomputes all."""
    from ale.agent.protocols import TOKEN_IDS_KEY

    model, tok = make_tiny_llama()

    def episode(m):
        msgs = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "say hi " * 20}]
        turns = []
        for t in range(3):
            r = m.generate(msgs)
            turns.append((r.response_ids, r.logprobs, m.last_cached_tokens, len(r.prompt_ids)))
            msgs += [{**r.message, TOKEN_IDS_KEY: r.response_ids}, {"role": "user", "content": f"observation {t} " * 10}]
        return turns

    cached = episode(HFModel(model, tok, temperature=0, max_new_tokens=12))
    plain_model = HFModel(model, tok, temperature=0, max_new_tokens=12)
    plain_model.reuse_cache = False
    plain = episode(plain_model)
    assert [c[0] for c in cached] == [p[0] for p in plain]
    for c, p in zip(cached, plain):
        assert c[1] == pytest.approx(p[1], abs=1e-4)
    assert cached[0][2] == 0 and all(p[2] == 0 for p in plain)
    for prev, cur in zip(cached, cached[1:]):  # all of the previous prompt and response but its last token
        assert cur[2] == prev[3] + len(prev[0]) - 1 and cur[2] > cur[3] // 2
