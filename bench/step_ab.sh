#!/usr/bin/env bash
# Two builds of nnclr's step benchmark alternated in one invocation: the ratio of B's step
# throughput to A's per pair, then min / median / max over the pairs (the machine's speed
# drifts, so one pair can mislead).
# Usage: bash bench/step_ab.sh A_BUILD_DIR B_BUILD_DIR [ITERS] [PAIRS] [CONFIG...]
#   CONFIG: "arch channels size batch queue [stem]" (stem cifar or imagenet, default cifar;
#           default configs: the three of bench/step.sh). PRECISION=bf16 passes to both.
set -euo pipefail
a=$1 b=$2 iters=${3:-3} pairs=${4:-5}
shift $(( $# < 4 ? $# : 4 ))
configs=("$@")
[ ${#configs[@]} -gt 0 ] || configs=("resnet20 3 32 256 65536" "resnet20 1 28 256 16384" "resnet18 3 32 128 65536")
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
for full in "${configs[@]}"; do
  read -r -a f <<< "$full"
  cfg="${f[*]:0:5}"
  stem=${f[5]:-cifar}
  ratios=()
  for ((p = 1; p <= pairs; p++)); do
    # shellcheck disable=SC2086
    ra=$("$a/bench_step" $cfg "$iters" "$stem")
    # shellcheck disable=SC2086
    rb=$("$b/bench_step" $cfg "$iters" "$stem")
    ta=$(echo "$ra" | sed -E 's/.*threads [0-9]+  ([0-9.]+) s.*/\1/')
    tb=$(echo "$rb" | sed -E 's/.*threads [0-9]+  ([0-9.]+) s.*/\1/')
    r=$(awk -v a="$ta" -v b="$tb" 'BEGIN { printf "%.3f", a / b }')
    ratios+=("$r")
    echo "pair $p  $cfg: A $ta s  B $tb s  B/A throughput ${r}x"
  done
  printf '%s\n' "${ratios[@]}" | sort -g | awk -v c="$cfg" '{ v[NR] = $1 }
    END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
          printf "B/A step %s over %d pairs: min %.3fx  median %.3fx  max %.3fx\n", c, NR, v[1], m, v[NR] }'
done
