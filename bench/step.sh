#!/usr/bin/env bash
# The whole NNCLR step, nnclr and PyTorch back to back, and the ratio nnclr/PyTorch.
# Usage: bash bench/step.sh [ITERS] [PAIRS]   (after a build)
#   ITERS: steps timed per run (best of them is reported; default 3)
#   PAIRS: nnclr / PyTorch runs alternated per configuration (default 1); with more than one,
#          each pair's ratio is printed and then min / median / max, since the machine's speed
#          drifts from minute to minute and one pair can mislead.
set -euo pipefail
cd "$(dirname "$0")/.."
iters=${1:-3}
pairs=${2:-1}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
for cfg in "resnet20 3 32 256 65536" "resnet20 1 28 256 16384" "resnet18 3 32 128 65536"; do
  ratios=()
  for ((p = 1; p <= pairs; p++)); do
    a=$(build/bench_step $cfg "$iters" cifar)
    b=$(/usr/bin/python3 bench/bench_step_torch.py $cfg "$iters" cifar)
    echo "$a"; echo "$b"
    ta=$(echo "$a" | sed -E 's/.*threads [0-9]+  ([0-9.]+) s.*/\1/')
    tb=$(echo "$b" | sed -E 's/.*threads [0-9]+  ([0-9.]+) s.*/\1/')
    r=$(awk -v a="$ta" -v b="$tb" 'BEGIN { printf "%.2f", b / a }')
    ratios+=("$r")
    echo "ratio  step $cfg: nnclr/PyTorch throughput = ${r}x"
  done
  if ((pairs > 1)); then
    printf '%s\n' "${ratios[@]}" | sort -g | awk -v c="$cfg" '{ v[NR] = $1 }
      END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
            printf "ratios step %s over %d pairs: min %.2fx  median %.2fx  max %.2fx\n", c, NR, v[1], m, v[NR] }'
  fi
  echo
done
