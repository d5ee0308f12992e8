#!/usr/bin/env bash
# Run one experiment of docs/results.md: experiments/NAME.yaml into runs/NAME, one process per seed
# (train.torch_threads=1, at most JOBS=2 at a time on the 2-core machine), then once more over all
# seeds to write summary.json and results.png (finished seeds and arms are read back, not rerun).
set -euo pipefail
name=$1; shift
cfg=experiments/$name.yaml out=runs/$name jobs=${JOBS:-2}
seeds=$(python -c "import yaml,sys; print(*yaml.safe_load(open('$cfg'))['seeds'])")
mkdir -p "$out/logs"
start=$(date +%s)
for s in $seeds; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do sleep 5; done
  ale train recipe "$cfg" --out "$out" "seeds=[$s]" "$@" >"$out/logs/seed-$s.log" 2>&1 &
  sleep 30  # the first process writes the task split before the next reads it
done
wait
ale train recipe "$cfg" --out "$out" "$@"
echo "wall time: $(( $(date +%s) - start )) s"
