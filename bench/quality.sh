#!/usr/bin/env bash
# Learning-quality study (docs/RESULTS.md, "Learning quality at short budgets"): runs the rows of
# one table one after another, with the same thread count, and appends one line per run to
# $OUT/results.tsv (table, row, seed, epochs, kNN top-1, linear top-1, training wall seconds).
#
#   bash bench/quality.sh cifar-val          # 2 epochs, validation split (5,000 train images held out)
#   bash bench/quality.sh cifar-test2        # 2 epochs x 3 seeds on the test set: SimCLR, NNCLR, the best variant
#   bash bench/quality.sh cifar-test6        # 6 epochs, 1 seed: the same three
#   bash bench/quality.sh cifar-test20       # 20 epochs, 1 seed: the same three (variant, SimCLR, NNCLR)
#   bash bench/quality.sh fmnist-val         # the default run's candidates on Fashion-MNIST's validation split
#
# The best variant is read from cifar-val's lines: the schedule / start row with the highest
# validation kNN top-1 (never from the test set). Environment: EXTRA (more train flags, e.g.
# "--eval-every 2"), THREADS (compute threads, default
# 2), OUT (default runs/quality), CIFAR (default ../shared/data/cifar10), NNCLR (build/nnclr).
set -euo pipefail
cd "$(dirname "$0")/.."
table=${1:?usage: bench/quality.sh cifar-val|cifar-test2|cifar-test6|cifar-test20|fmnist-val}
THREADS=${THREADS:-2}
OUT=${OUT:-runs/quality}
CIFAR=${CIFAR:-../shared/data/cifar10}
NNCLR=${NNCLR:-build/nnclr}
export OMP_WAIT_POLICY=passive
mkdir -p "$OUT"
res=$OUT/results.tsv
[ -f "$res" ] || printf 'table\trow\tseed\tepochs\tknn_top1\tlinear_top1\ttrain_s\tflags\n' > "$res"

run_row() {  # table row seed epochs linear(0|1) flags...
  local tb=$1 row=$2 seed=$3 ep=$4 lin=$5; shift 5
  local dir=$OUT/$tb/$row-s$seed
  rm -rf "$dir"; mkdir -p "$OUT/$tb"
  local t0=$(date +%s.%N)
  "$NNCLR" train --run-dir "$dir" --seed "$seed" --epochs "$ep" --threads "$THREADS" --loader-threads 1 \
      --keep-checkpoints 1 --log-every 50 --no-baseline ${EXTRA:-} "$@" > "$dir.log" 2>&1
  local t1=$(date +%s.%N)
  local knn=$(grep -o 'kNN (k=200) top-1 [0-9.]*' "$dir.log" | tail -1 | awk '{print $4}')
  local linear=-
  if [ "$lin" = 1 ]; then
    "$NNCLR" eval linear "$dir" --threads "$THREADS" > "$dir.linear.log" 2>&1
    linear=$(grep -o 'top-1 [0-9.]*' "$dir.linear.log" | tail -1 | awk '{print $2}')
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%.0f\t%s\n' "$tb" "$row" "$seed" "$ep" "$knn" "$linear" \
      "$(echo "$t1 - $t0" | bc)" "$*" >> "$res"
  echo "$tb $row seed $seed: kNN $knn linear $linear"
}

# Rows: name and flags. simclr and nn are the baselines; the others are the variants.
C10=(--data cifar10 --data-path "$CIFAR")
declare -A VARIANT=(
  [switch1]="--nn-start 1"
  [ramp2]="--nn-ramp 2"
  [start05-ramp1]="--nn-start 0.5 --nn-ramp 1"
  [empty]="--support-start empty"
  [switch1-empty]="--nn-start 1 --support-start empty"
)
best_variant() {
  awk -F'\t' '$1 == "cifar-val" && $2 != "simclr" && $2 != "nn" && $5 != "" {print $5, $2}' "$res" \
    | sort -k1,1gr | head -1 | awk '{print $2}'
}

case $table in
  cifar-val)
    for row in simclr nn switch1 ramp2 start05-ramp1 empty switch1-empty; do
      case $row in simclr) f="--positive self";; nn) f="";; *) f=${VARIANT[$row]};; esac
      # shellcheck disable=SC2086
      run_row cifar-val "$row" 1 2 0 "${C10[@]}" --val-fraction 0.1 $f
    done;;
  cifar-test2|cifar-test6|cifar-test20)
    best=$(best_variant); [ -n "$best" ] || { echo "run cifar-val first" >&2; exit 2; }
    ep=2; seeds="1 2 3"; rows="simclr nn $best"
    [ "$table" = cifar-test6 ] && { ep=6; seeds=1; }
    # 20 epochs: the variant and SimCLR first (the target compares those two)
    [ "$table" = cifar-test20 ] && { ep=20; seeds=1; rows="$best simclr nn"; }
    for seed in $seeds; do
      for row in $rows; do
        case $row in simclr) f="--positive self";; nn) f="";; *) f=${VARIANT[$row]};; esac
        # nn-start / nn-ramp are in epochs: scale them with the run length
        if [ "$ep" != 2 ] && [ -n "$f" ] && [ "$row" != simclr ]; then
          f=$(echo "$f" | awk -v s="$ep" '{for (i = 1; i <= NF; i++) if (($i == "--nn-start" || $i == "--nn-ramp") && i < NF) {$(i+1) = $(i+1) * s / 2}; print}')
        fi
        # shellcheck disable=SC2086
        run_row "$table" "$row" "$seed" "$ep" 1 "${C10[@]}" $f
      done
    done;;
  fmnist-val)
    shift
    # Candidates for the default run: name=flags pairs given on the command line.
    for spec in "$@"; do
      row=${spec%%=*}; f=${spec#*=}
      # shellcheck disable=SC2086
      run_row fmnist-val "$row" 1 "${EPOCHS:-6}" 0 --val-fraction 0.1 $f
    done;;
  *) echo "unknown table $table" >&2; exit 2;;
esac
