#!/usr/bin/env bash
# The whole NNCLR step with the backbone's convolutions in bf16 (--precision bf16) against
# float32 nnclr, float32 PyTorch and PyTorch's own bf16 autocast, all four alternated in each
# round; per configuration the ratios over rounds (min / median / max):
#   bf16 speed-up    = nnclr f32 time / nnclr bf16 time
#   vs PyTorch f32   = PyTorch f32 time / nnclr bf16 time   (the issue's target)
#   vs PyTorch bf16  = PyTorch autocast-bf16 time / nnclr bf16 time
# Usage: bash bench/bf16_step.sh [ITERS] [ROUNDS]  (after a build; a CPU with AVX512-BF16 or AMX)
#   CONFIGS: as in bench/step.sh; default ResNet-50 224 b32, ResNet-18 CIFAR b128, ResNet-20 b256.
set -euo pipefail
cd "$(dirname "$0")/.."
iters=${1:-2}
rounds=${2:-5}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
. bench/step_common.sh
step_configs "resnet50 3 224 32 65536 imagenet;resnet18 3 32 128 65536 cifar;resnet20 3 32 256 65536 cifar"
for full in "${cfgs[@]}"; do
  read -r -a f <<< "$full"
  cfg="${f[*]:0:5}"
  stem=${f[5]:-cifar}
  up=(); vt=(); vtb=()
  for ((r = 1; r <= rounds; r++)); do
    a=$(PRECISION=f32 build/bench_step $cfg "$iters" "$stem")
    b=$(PRECISION=bf16 build/bench_step $cfg "$iters" "$stem")
    t=$(/usr/bin/python3 bench/bench_step_torch.py $cfg "$iters" "$stem")
    tb=$(TORCH_PRECISION=bf16 /usr/bin/python3 bench/bench_step_torch.py $cfg "$iters" "$stem")
    printf '%s\n%s\n%s\n%s\n' "$a" "$b" "$t" "$tb"
    sa=$(echo "$a" | step_secs); sb=$(echo "$b" | step_secs); st=$(echo "$t" | step_secs); stb=$(echo "$tb" | step_secs)
    up+=("$(awk -v x="$sa" -v y="$sb" 'BEGIN { print x / y }')")
    vt+=("$(awk -v x="$st" -v y="$sb" 'BEGIN { print x / y }')")
    vtb+=("$(awk -v x="$stb" -v y="$sb" 'BEGIN { print x / y }')")
  done
  echo "ratios step $cfg over $rounds rounds:"
  ratio_stats "  bf16 speed-up  " "${up[@]}"
  ratio_stats "  vs PyTorch f32 " "${vt[@]}"
  ratio_stats "  vs PyTorch bf16" "${vtb[@]}"
  echo
done
