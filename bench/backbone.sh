#!/usr/bin/env bash
# Backbone forward+backward on two views, nnclr and PyTorch back to back for each network,
# and the throughput ratio nnclr/PyTorch. Usage: bash bench/backbone.sh [ITERS]  (after a build)
set -euo pipefail
cd "$(dirname "$0")/.."
iters=${1:-5}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
bin=build/bench_backbone
[ -x "$bin" ] || { echo "build first: bash scripts/build.sh" >&2; exit 1; }
for cfg in "resnet20 3 32 256" "resnet20 1 28 256" "resnet18 3 32 128"; do
  a=$($bin $cfg "$iters" cifar)
  b=$(/usr/bin/python3 bench/bench_backbone_torch.py $cfg "$iters" cifar)
  echo "$a"; echo "$b"
  ta=$(echo "$a" | sed -E 's/.*step ([0-9.]+) s.*/\1/')
  tb=$(echo "$b" | sed -E 's/.*step ([0-9.]+) s.*/\1/')
  awk -v a="$ta" -v b="$tb" -v c="$cfg" 'BEGIN { printf "ratio  %s: nnclr/PyTorch throughput = %.2fx\n\n", c, b / a }'
done
