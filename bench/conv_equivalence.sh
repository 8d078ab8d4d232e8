#!/usr/bin/env bash
# Training-level check of the convolutions that trade exactness for speed (docs/RESULTS.md,
# "Faster convolutions: bf16 and wide Winograd"): the same short CIFAR-10 run (small preset,
# EPOCHS epochs) once per mode for seeds 1..SEEDS, one after another with the same thread
# count; prints the kNN top-1 (k = 200) of each run and, per mode, the seeds' values.
#   MODES="direct auto" bash bench/conv_equivalence.sh [SEEDS]   (after a build; ../shared/data/cifar10)
# Modes: direct  float32, oneDNN's direct kernels everywhere (NNCLR_CONV_ALGO=direct)
#        auto    float32, the default choice (Winograd F(4x4, 3x3) on 3x3 stride-1 layers)
#        f32     the same as auto
#        bf16    --precision bf16 (oneDNN's bf16 kernels; needs AVX512-BF16 or AMX)
# Environment: MODES (default "f32 bf16"), THREADS (2), EPOCHS (2), OUT (runs/conv_equivalence),
# NNCLR (build/nnclr), CIFAR (../shared/data/cifar10).
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=${1:-3}
MODES=${MODES:-f32 bf16}
THREADS=${THREADS:-2}
EPOCHS=${EPOCHS:-2}
OUT=${OUT:-runs/conv_equivalence}
NNCLR=${NNCLR:-build/nnclr}
CIFAR=${CIFAR:-../shared/data/cifar10}
export OMP_WAIT_POLICY=passive
mkdir -p "$OUT"
for ((s = 1; s <= seeds; s++)); do
  for m in $MODES; do
    dir=$OUT/$m-s$s
    rm -rf "$dir"
    env=(); prec=f32
    case $m in
      direct) env=(NNCLR_CONV_ALGO=direct);;
      auto|f32) ;;
      bf16) prec=bf16;;
      *) echo "unknown mode $m" >&2; exit 2;;
    esac
    t0=$(date +%s)
    env "${env[@]}" "$NNCLR" train --data cifar10 --data-path "$CIFAR" --epochs "$EPOCHS" --seed "$s" \
        --precision "$prec" --threads "$THREADS" --loader-threads 1 --no-baseline --keep-checkpoints 1 \
        --log-every 100 --run-dir "$dir" > "$dir.log" 2>&1
    knn=$(grep -o 'kNN (k=200) top-1 [0-9.]*' "$dir.log" | tail -1 | awk '{print $4}')
    train_s=$(grep -o 'steps in [0-9.]* s' "$dir.log" | tail -1 | awk '{print $3}')
    printf '%s\tseed %d\tkNN %s\ttraining %s s\twall %d s\n' "$m" "$s" "$knn" "$train_s" $(( $(date +%s) - t0 )) \
        | tee -a "$OUT/results.tsv"
  done
done
awk -F'\t' '{split($3, k, " "); v[$1] = v[$1] " " k[2]} END {for (p in v) print p ":" v[p]}' "$OUT/results.tsv"
