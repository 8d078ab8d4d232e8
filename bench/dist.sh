#!/usr/bin/env bash
# Data-parallel step on this machine: 1 process x 2 threads against 2 MPI ranks x 1 thread, for
# the same global batch (ResNet-20 3x32x32, batch 256, support set 65,536), back to back,
# twice. Prints each bench_step line (the 2-rank one with the time inside MPI collectives).
# Usage: bash bench/dist.sh [ITERS]   (after a build with Open MPI)
set -euo pipefail
cd "$(dirname "$0")/.."
iters=${1:-3}
cfg=(resnet20 3 32 256 65536 "$iters" cifar)
for round in 1 2; do
  OMP_NUM_THREADS=2 OMP_WAIT_POLICY=passive build/bench_step "${cfg[@]}"
  mpiexec --allow-run-as-root --oversubscribe -np 2 -x OMP_NUM_THREADS=1 -x OMP_WAIT_POLICY=passive \
    build/bench_step "${cfg[@]}"
done
