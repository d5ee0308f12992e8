"""Export a training run's checkpoint as a Hugging Face folder (`ale train export RUN --out DIR`), which
`--agent hf:DIR` (bench) and `--model hf:DIR` (agent) load like any other model: the train -> evaluate loop.

The policy is rebuilt from the run's config.json, the checkpoint's weights loaded, LoRA adapters merged,
and the result copied into a model made from its config before `save_pretrained`: a model loaded from a
GGUF file refuses to save, a plain copy does not. The tokenizer (with its chat template) is saved beside
it, and `ale-export.json` says which run and step it came from.
"""
from __future__ import annotations

import json
from pathlib import Path


def checkpoint_of(run_dir: Path, step: int | None = None) -> Path:
    """The run's checkpoint for `step` (default: the latest complete one)."""
    from ale.train.trainer import latest_checkpoint

    if not (run_dir / "config.json").is_file():
        raise FileNotFoundError(f"{run_dir}: not a training run folder (no config.json)")
    ckpt = latest_checkpoint(run_dir) if step is None else run_dir / "checkpoints" / f"step-{step}"
    if ckpt is None or not (ckpt / "model.pt").is_file():
        raise FileNotFoundError(f"{run_dir}: no checkpoint{'' if step is None else f' for step {step}'}")
    return ckpt


def export(run_dir: str | Path, out: str | Path, step: int | None = None) -> Path:
    """Write the checkpoint as a Hugging Face model folder at `out`; returns it."""
    import torch
    from transformers import AutoModelForCausalLM

    from ale.train.config import TrainConfig
    from ale.train.policy import engine_base, load_policy

    run_dir, out = Path(run_dir), Path(out)
    ckpt = checkpoint_of(run_dir, step)
    cfg = TrainConfig.model_validate_json((run_dir / "config.json").read_text())
    policy = cfg.policy.model_copy(update={"gradient_checkpointing": False, "device": "cpu"})
    model, tok = load_policy(policy)
    model.load_state_dict(torch.load(ckpt / "model.pt", map_location="cpu"))
    model = engine_base(model)  # LoRA adapters merged into the base weights
    plain = AutoModelForCausalLM.from_config(model.config)
    plain.load_state_dict(model.state_dict())
    plain.eval()  # float32 (from_config): loads anywhere
    out.mkdir(parents=True, exist_ok=True)
    plain.save_pretrained(out)
    tok.save_pretrained(out)
    meta = json.loads((ckpt / "trainer.json").read_text())
    (out / "ale-export.json").write_text(json.dumps({"run": str(run_dir.resolve()), "checkpoint": ckpt.name,
                                                     "weights": _stamp(ckpt), "step": meta["step"],
                                                     "policy": cfg.policy.model}, indent=1))
    return out


def _stamp(ckpt: Path) -> str:
    st = (ckpt / "model.pt").stat()
    return f"{st.st_size}:{st.st_mtime_ns}"


def cached_export(run_dir: str | Path, step: int | None = None) -> Path:
    """RUN/export/step-N, exported once per checkpoint (again if the checkpoint was rewritten since)."""
    run_dir = Path(run_dir)
    ckpt = checkpoint_of(run_dir, step)
    out = run_dir / "export" / ckpt.name
    meta = out / "ale-export.json"
    if meta.is_file() and json.loads(meta.read_text()).get("weights") == _stamp(ckpt):
        return out
    return export(run_dir, out, step)
