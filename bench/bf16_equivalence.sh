#!/usr/bin/env bash
# Training-level check of --precision bf16 (docs/RESULTS.md, "bf16 convolutions"): the same
# short CIFAR-10 run (small preset, 2 epochs) in float32 and in bf16 for seeds 1..SEEDS, one
# after another with the same thread count; prints the kNN top-1 (k = 200) of each run and the
# float32 seeds' range, which bf16 should fall inside.
#   bash bench/bf16_equivalence.sh [SEEDS]      (after a build; needs ../shared/data/cifar10)
# Environment: THREADS (default 2), EPOCHS (default 2), OUT (default runs/bf16), NNCLR
# (default build/nnclr), CIFAR (default ../shared/data/cifar10).
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=${1:-3}
THREADS=${THREADS:-2}
EPOCHS=${EPOCHS:-2}
OUT=${OUT:-runs/bf16}
NNCLR=${NNCLR:-build/nnclr}
CIFAR=${CIFAR:-../shared/data/cifar10}
export OMP_WAIT_POLICY=passive
mkdir -p "$OUT"
for ((s = 1; s <= seeds; s++)); do
  for p in f32 bf16; do
    dir=$OUT/$p-s$s
    rm -rf "$dir"
    t0=$(date +%s)
    "$NNCLR" train --data cifar10 --data-path "$CIFAR" --epochs "$EPOCHS" --seed "$s" --precision "$p" \
        --threads "$THREADS" --loader-threads 1 --no-baseline --keep-checkpoints 1 --log-every 100 \
        --run-dir "$dir" > "$dir.log" 2>&1
    knn=$(grep -o 'kNN (k=200) top-1 [0-9.]*' "$dir.log" | tail -1 | awk '{print $4}')
    train_s=$(grep -o 'steps in [0-9.]* s' "$dir.log" | tail -1 | awk '{print $3}')
    printf '%s\tseed %d\tkNN %s\ttraining %s s\twall %d s\n' "$p" "$s" "$knn" "$train_s" $(( $(date +%s) - t0 )) \
        | tee -a "$OUT/results.tsv"
  done
done
awk -F'\t' '{split($3, k, " "); v[$1] = v[$1] " " k[2]} END {for (p in v) print p ":" v[p]}' "$OUT/results.tsv"
