#!/usr/bin/env bash
# torch_pair.sh - time to accuracy on CIFAR-10, nnclr against the same recipe in PyTorch
# (bench/torch_nnclr_train.py), trained AT THE SAME TIME with one compute thread and one loader
# worker each, for the same wall-clock budget, so both see the same machine (a 2-core one here).
# Each side calibrates its throughput and picks the epochs that fit (bench/results.sh rows
# `cifar-main` and `torch`); nnclr is then evaluated with kNN (k=200) and a linear probe,
# PyTorch with the same kNN protocol. Rows are appended to runs/results.md.
#
#   bash bench/torch_pair.sh MINUTES [RUNS_DIR]      e.g. 25 (after bash scripts/build.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:?usage: bash bench/torch_pair.sh MINUTES [RUNS_DIR]}
export RUNS=${2:-runs}
mkdir -p "$RUNS"
EXTRA_FLAGS="--threads 1 --loader-threads 1" bash bench/results.sh cifar-main "$minutes" > "$RUNS/pair-nnclr.log" 2>&1 &
a=$!
EXTRA_FLAGS="--threads 1 --loader-workers 1" bash bench/results.sh torch "$minutes" cifar10 > "$RUNS/pair-torch.log" 2>&1 &
b=$!
rc=0
wait "$a" || rc=1
wait "$b" || rc=1
tail -n 2 "$RUNS/pair-nnclr.log" "$RUNS/pair-torch.log"
exit "$rc"
