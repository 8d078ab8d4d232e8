#!/usr/bin/env bash
# README command 1: installs what is missing (Debian 12 packages, as root or with sudo), builds
# nnclr, and trains the default small network on Fashion-MNIST; ends with the kNN accuracy of
# the learned features next to that of raw pixels. Extra arguments go to `nnclr train`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash scripts/build.sh
# Idle OpenMP threads sleep instead of spinning: the data-loader thread shares the cores.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
exec build/nnclr train "$@"
