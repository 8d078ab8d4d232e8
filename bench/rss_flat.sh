#!/usr/bin/env bash
# Memory stays flat over a long run: resident set size of `nnclr train` at step 500 and at
# step 5,000 (small model on Fashion-MNIST, 5,625 steps; docs/RESULTS.md "Reliability, round
# 2"). Prints both, and their ratio; exits 1 when step 5,000 is more than 2 % above step 500.
#   bash bench/rss_flat.sh [NNCLR]
set -uo pipefail
cd "$(dirname "$0")/.."
NNCLR=${1:-build/nnclr}
export OMP_WAIT_POLICY=passive
tmp=$(mktemp -d); trap 'kill $pid 2>/dev/null; rm -rf "$tmp"' EXIT
"$NNCLR" train --arch resnet8 --batch 32 --proj-hidden 64 --proj-dim 32 --pred-hidden 64 --queue-size 1024 \
  --epochs 3 --log-every 50 --no-baseline --run-dir "$tmp/run" > "$tmp/out" 2>&1 &
pid=$!
rss_at() {   # step -> RSS in kB, read as soon as the log passes that step
  local want=$1
  while kill -0 $pid 2>/dev/null; do
    local step
    step=$(grep -o 'step [0-9]*/' "$tmp/out" | tail -1 | tr -dc 0-9)
    if [ -n "$step" ] && [ "$step" -ge "$want" ]; then
      awk '/VmRSS/ {print $2}' /proc/$pid/status; echo "$step" > "$tmp/step"; return
    fi
    sleep 0.2
  done
  echo 0
}
a=$(rss_at 500); sa=$(cat "$tmp/step" 2>/dev/null)
b=$(rss_at 5000); sb=$(cat "$tmp/step" 2>/dev/null)
kill $pid 2>/dev/null; wait $pid 2>/dev/null
echo "RSS at step $sa: $a kB; at step $sb: $b kB; ratio $(echo "scale=4; $b / $a" | bc)"
[ "$a" -gt 0 ] && [ "$b" -gt 0 ] && [ $((b * 100)) -le $((a * 102)) ]
