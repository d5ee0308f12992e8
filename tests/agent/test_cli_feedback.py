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
