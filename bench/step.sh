#!/usr/bin/env bash
# The whole NNCLR step, nnclr and PyTorch back to back, and the ratio nnclr/PyTorch.
# Usage: bash bench/step.sh [ITERS]   (after a build)
set -euo pipefail
cd "$(dirname "$0")/.."
iters=${1:-3}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
for cfg in "resnet20 3 32 256 65536" "resnet20 1 28 256 16384" "resnet18 3 32 128 65536"; do
  a=$(build/bench_step $cfg "$iters" cifar)
  b=$(/usr/bin/python3 bench/bench_step_torch.py $cfg "$iters" cifar)
  echo "$a"; echo "$b"
  ta=$(echo "$a" | sed -E 's/.*threads [0-9]+  ([0-9.]+) s.*/\1/')
  tb=$(echo "$b" | sed -E 's/.*threads [0-9]+  ([0-9.]+) s.*/\1/')
  awk -v a="$ta" -v b="$tb" -v c="$cfg" 'BEGIN { printf "ratio  step %s: nnclr/PyTorch throughput = %.2fx\n\n", c, b / a }'
done
