#!/usr/bin/env bash
# NNCLR and its SimCLR baseline (--positive self) on CIFAR-10 with the same network, recipe and
# wall-clock budget, trained AT THE SAME TIME with one compute thread each (so both see the same
# machine, load included), then evaluated (weighted kNN k=200, linear probe) one after the other.
# Prints one table row per run (date, commit, command, epochs, steps, img/s, wall, kNN, linear).
#
#   bash bench/cifar_pair.sh EPOCHS [RUNS_DIR] [extra train flags...]
# EPOCHS is chosen to fill the budget: on the 2-core Zen 3 of docs/RESULTS.md one thread trains
# ResNet-20 at ~80 img/s while the other run shares the machine, so 4 epochs ~ 45 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
epochs=${1:?usage: cifar_pair.sh EPOCHS [RUNS_DIR] [flags...]}
runs=${2:-runs/cifar_pair}
shift $(( $# >= 2 ? 2 : 1 ))
data=${CIFAR_PATH:-../shared/data/cifar10}
export OMP_WAIT_POLICY=passive
mkdir -p "$runs"
common=(--data cifar10 --data-path "$data" --epochs "$epochs" --threads 1 --loader-threads 1
        --eval-every 2 --no-baseline "$@")
start=$(date +%s)
for pos in nn self; do
  echo "+ build/nnclr train ${common[*]} --positive $pos --run-dir $runs/$pos"
  ( /usr/bin/time -f "wall %e s" build/nnclr train "${common[@]}" --positive "$pos" --run-dir "$runs/$pos" \
      > "$runs/$pos.train.log" 2>&1 ) &
done
wait
echo "both trained in $(( $(date +%s) - start )) s"
commit=$(git rev-parse --short HEAD)
for pos in nn self; do
  build/nnclr eval knn "$runs/$pos" > "$runs/$pos.knn.log" 2>&1
  build/nnclr eval linear "$runs/$pos" > "$runs/$pos.linear.log" 2>&1
  done_line=$(grep '^training done' "$runs/$pos.train.log")
  wall=$(grep '^wall' "$runs/$pos.train.log")
  knn=$(grep -o 'top-1 [0-9.]*%' "$runs/$pos.knn.log" | tail -1)
  lin=$(grep -o 'top-1 [0-9.]*%' "$runs/$pos.linear.log" | tail -1)
  echo "| $(date -u +%F) | $commit | positive $pos | ${common[*]} | $epochs | $done_line | $wall | kNN $knn | linear $lin |"
done
