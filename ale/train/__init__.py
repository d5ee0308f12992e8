"""ALE train: RL with IPA (and baselines) over agent rollouts in sandboxes, SFT, checkpoints, logs.

Modules: algorithms (loss functions), engine (generation engines + the harness's batched Model),
policy (HF models, LoRA), update (batch collation, the algorithm-blind update step), rollout
(sandboxes, episodes, dynamic filtering, expert store and prefix replay), trainer (RL/SFT loops,
checkpoints), config (YAML + overrides), metrics (JSONL, TensorBoard, plots), distributed (Ray
rollout workers), cli (`ale train rl|sft|plot`). docs/train.md describes them.
"""
