#!/usr/bin/env bash
# ablations.sh - the paper's ablation axes on CIFAR-10 at a small budget, one row each, same seed
# and the same number of epochs (EPOCHS, default 2: about 15 minutes per row with one compute
# thread on the 2-core Zen 3 of docs/RESULTS.md), appended to runs/results.md by bench/results.sh.
#
#   bash bench/ablations.sh [ROW...]     ROW: q4096 q16384 q65536 top5 nopred croponly simclr
#                                        simclr-croponly (default: the NNCLR rows)
#
# q4096 is the small preset itself (queue 4,096, top-1, predictor, full augmentation): the
# reference row the others differ from by one flag. Rows run one after another with
# --threads 1 --loader-threads 1, so a second job can share the machine without changing the
# comparison (the epochs are fixed; only the wall time moves).
set -euo pipefail
cd "$(dirname "$0")/.."
export EPOCHS=${EPOCHS:-2}
export EXTRA_FLAGS="${EXTRA_FLAGS:-} --threads 1 --loader-threads 1"
rows=("$@")
[ ${#rows[@]} -gt 0 ] || rows=(q4096 q16384 q65536 top5 nopred croponly)
for r in "${rows[@]}"; do
  bash bench/results.sh cifar-ablation "$r" 15
done
