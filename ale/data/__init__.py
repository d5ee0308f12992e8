"""Training data: synthesise and review task instances, teacher rollouts, verify and filter, export
a Hugging Face dataset, select the RL set (docs/data.md)."""
