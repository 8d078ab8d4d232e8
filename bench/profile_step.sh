#!/usr/bin/env bash
# Where a training step's time goes: runs build/bench_step with ONEDNN_VERBOSE=1 and sums
# oneDNN's own execution times per kind of primitive (convolution by kernel size, stride and
# direction; batch norm, pooling, reorders, ...), per step; the rest of the step (nnclr's
# Winograd kernels, batch-norm passes, heads, loss, optimizer) is the step time minus that sum.
#   bash bench/profile_step.sh [ARCH C SIZE BATCH QUEUE STEM]   (default resnet50 3 224 32 65536 imagenet)
set -euo pipefail
cd "$(dirname "$0")/.."
cfg=(${@:-resnet50 3 224 32 65536 imagenet})
iters=2
out=$(mktemp); trap 'rm -f "$out"' EXIT
ONEDNN_VERBOSE=1 build/bench_step "${cfg[@]:0:5}" "$iters" "${cfg[5]}" > "$out" 2>&1
step_line=$(grep -v '^onednn_verbose' "$out" | tail -1)
echo "$step_line"
steps=$((iters + 1))   # bench_step runs one warm-up step, then ITERS
awk -F, -v steps="$steps" '
  $1 == "onednn_verbose" && $2 == "exec" {
    kind = $4; prop = $6; ms = $NF; desc = $(NF - 1)
    key = kind
    if (kind == "convolution") {
      k = "k?"; s = "s1"
      if (match(desc, /kh[0-9]+/)) k = "k" substr(desc, RSTART + 2, RLENGTH - 2)
      if (match(desc, /sh[0-9]+/)) s = "s" substr(desc, RSTART + 2, RLENGTH - 2)
      key = "conv " k "x" substr(k, 2) " " s " " prop
      # direct-convolution FLOPs from the shape: 2 mb ic oc oh ow kh kw (per direction)
      f = 2
      if (match(desc, /mb[0-9]+/)) f *= substr(desc, RSTART + 2, RLENGTH - 2)
      if (match(desc, /ic[0-9]+/)) f *= substr(desc, RSTART + 2, RLENGTH - 2)
      if (match(desc, /oc[0-9]+/)) f *= substr(desc, RSTART + 2, RLENGTH - 2)
      if (match(desc, /oh[0-9]+/)) f *= substr(desc, RSTART + 2, RLENGTH - 2)
      if (match(desc, /ow[0-9]+/)) f *= substr(desc, RSTART + 2, RLENGTH - 2)
      if (match(desc, /kh[0-9]+/)) f *= substr(desc, RSTART + 2, RLENGTH - 2)
      if (match(desc, /kw[0-9]+/)) f *= substr(desc, RSTART + 2, RLENGTH - 2)
      fl[key] += f
    } else if (kind == "batch_normalization" || kind == "pooling" || kind == "eltwise") {
      key = kind " " prop
    }
    t[key] += ms; n[key]++; total += ms
  }
  END {
    for (k in t) {
      rate = fl[k] > 0 ? sprintf("%.0f GFLOP/s", fl[k] / t[k] / 1e6) : ""
      printf("%9.1f ms/step  %5.1f%%  %6d calls  %-36s %s\n", t[k] / steps, 100 * t[k] / total, n[k] / steps, k, rate) | "sort -rn"
    }
    close("sort -rn")
    printf "%9.1f ms/step  oneDNN in all\n", total / steps
  }' "$out"
