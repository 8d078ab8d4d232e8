#!/usr/bin/env bash
# Seconds from SIGTERM to exit in each phase of a run (docs/RESULTS.md, "Reliability, round 2"):
# data loading, training steps, the kNN evaluation and the linear probe after the last epoch.
# Fashion-MNIST, small preset, 1 epoch at batch 512 (117 steps) so the evaluation comes soon.
# Each line: phase, seconds to exit, exit code (143 = 128 + SIGTERM), and what the run said.
#   bash bench/signal_latency.sh [NNCLR]
set -uo pipefail
cd "$(dirname "$0")/.."
NNCLR=${1:-build/nnclr}
export OMP_WAIT_POLICY=passive
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
# phase name, and the pattern in the output after which the signal is sent (+ a delay; the
# delays place the signal inside each phase on an otherwise idle 2-core machine)
probe() {
  local phase=$1 pattern=$2 delay=$3
  rm -rf "$tmp/run"
  "$NNCLR" train --epochs 1 --batch 512 --queue-size 4096 --linear-probe --log-every 5 --run-dir "$tmp/run" \
    > "$tmp/out" 2> "$tmp/err" &
  local pid=$! t0
  if [ -n "$pattern" ]; then
    for _ in $(seq 1 6000); do grep -q -- "$pattern" "$tmp/out" && break; kill -0 $pid 2>/dev/null || break; sleep 0.05; done
  fi
  sleep "$delay"
  t0=$(date +%s.%N)
  kill -TERM $pid
  wait $pid; local rc=$?
  local t1=$(date +%s.%N)
  printf '%-12s %6.2f s  exit %d  %s\n' "$phase" "$(echo "$t1 - $t0" | bc)" "$rc" "$(tail -1 "$tmp/err")"
}
probe loading "" 0.2
probe training "step 20/" 0
probe evaluation "step 115/117" 4
probe probe "step 115/117" 22.5   # the probe runs about 21-23 s after step 115 on the 2-core Zen 5 (features, kNN first)
