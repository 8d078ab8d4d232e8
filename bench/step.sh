#!/usr/bin/env bash
# The whole NNCLR step, nnclr and PyTorch back to back, and the ratio nnclr/PyTorch.
# Usage: bash bench/step.sh [ITERS] [PAIRS]   (after a build)
#   CONFIGS (environment): the configurations, ";"-separated "ARCH C SIZE BATCH QUEUE STEM" (STEM
#          cifar or imagenet); default the three CIFAR-size ones below. ResNet-50 at 224:
#          CONFIGS="resnet50 3 224 32 65536 imagenet" bash bench/step.sh 2 5
#   ITERS: steps timed per run (best of them is reported; default 3)
#   PAIRS: nnclr / PyTorch runs alternated per configuration (default 1); with more than one,
#          each pair's ratio is printed and then min / median / max, since the machine's speed
#          drifts from minute to minute and one pair can mislead.
set -euo pipefail
cd "$(dirname "$0")/.."
iters=${1:-3}
pairs=${2:-1}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
. bench/step_common.sh
step_configs "resnet20 3 32 256 65536 cifar;resnet20 1 28 256 16384 cifar;resnet18 3 32 128 65536 cifar"
for full in "${cfgs[@]}"; do
  read -r -a f <<< "$full"
  cfg="${f[*]:0:5}"
  stem=${f[5]:-cifar}
  ratios=()
  for ((p = 1; p <= pairs; p++)); do
    a=$(build/bench_step $cfg "$iters" "$stem")
    b=$(/usr/bin/python3 bench/bench_step_torch.py $cfg "$iters" "$stem")
    echo "$a"; echo "$b"
    ta=$(echo "$a" | step_secs)
    tb=$(echo "$b" | step_secs)
    r=$(awk -v a="$ta" -v b="$tb" 'BEGIN { printf "%.2f", b / a }')
    ratios+=("$r")
    echo "ratio  step $cfg: nnclr/PyTorch throughput = ${r}x"
  done
  if ((pairs > 1)); then ratio_stats "ratios step $cfg over $pairs pairs" "${ratios[@]}"; fi
  echo
done
