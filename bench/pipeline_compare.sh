#!/usr/bin/env bash
# The 224x224 input pipeline, nnclr against torchvision 0.14 + PIL, per core (docs/RESULTS.md):
# writes a folder of 2,000 photo-like JPEGs of 500x375 (CIFAR-10 training images upscaled
# bicubically, with film-grain noise so that they compress like photos, quality 90, 10 class
# folders), then runs bench_pipeline and bench_pipeline_torch.py alternately PAIRS times and
# prints the ratio of the decode + two views rates. Finally the starvation check: one loader
# thread's rate against what a ResNet-50 224x224 batch-32 step consumes (build/bench_step).
#   bash bench/pipeline_compare.sh [PAIRS=3] [CIFAR=../shared/data/cifar10]
set -euo pipefail
cd "$(dirname "$0")/.."
PAIRS=${1:-3}
CIFAR=${2:-../shared/data/cifar10}
dir=${PHOTOS:-/tmp/nnclr_photos}
if [ ! -d "$dir" ]; then
  /usr/bin/python3 - "$CIFAR/data_batch_1.bin" "$dir" <<'PY'
import os, sys
import numpy as np
from PIL import Image
raw = np.fromfile(sys.argv[1], dtype=np.uint8).reshape(-1, 3073)
rng = np.random.default_rng(1)
for i in range(2000):
    label, img = raw[i, 0], raw[i, 1:].reshape(3, 32, 32).transpose(1, 2, 0)
    big = np.asarray(Image.fromarray(img).resize((500, 375), Image.BICUBIC), dtype=np.float32)
    big += rng.normal(0, 6, big.shape)
    d = os.path.join(sys.argv[2], "c%d" % label)
    os.makedirs(d, exist_ok=True)
    Image.fromarray(np.clip(big, 0, 255).astype(np.uint8)).save(os.path.join(d, "%04d.jpg" % i), quality=90)
PY
fi
echo "folder: $dir ($(find "$dir" -name '*.jpg' | wc -l) JPEGs, $(du -sh "$dir" | cut -f1))"
ratios=()
for p in $(seq 1 "$PAIRS"); do
  a=$(OMP_NUM_THREADS=1 build/bench_pipeline "$dir" 2>/dev/null); echo "$a"
  b=$(/usr/bin/python3 bench/bench_pipeline_torch.py "$dir"); echo "$b"
  na=$(echo "$a" | awk '/DCT-scaled/ {print $(NF-7)}'); nf=$(echo "$a" | awk '/full JPEG/ {print $(NF-7)}')
  nb=$(echo "$b" | awk '{print $(NF-7)}')
  r=$(echo "scale=3; $na / $nb" | bc); rf=$(echo "scale=3; $nf / $nb" | bc)
  echo "pair $p: nnclr / torchvision = $rf (full decode), $r (scaled decode)"; ratios+=("$rf")
done
printf '%s\n' "${ratios[@]}" | sort -n | awk '{a[NR]=$1} END {print "full-decode ratio over pairs: min " a[1] ", median " a[int((NR+1)/2)] ", max " a[NR]}'
# Starvation: one loader thread against the ResNet-50 step.
step=$(build/bench_step resnet50 3 224 32 65536 2 imagenet 2>/dev/null | tail -1)
echo "$step"
secs=$(echo "$step" | awk '{for (i = 1; i < NF; i++) if ($(i+1) == "s" && $i ~ /^[0-9.]+$/) {print $i; exit}}')
need=$(echo "scale=2; 32 / $secs" | bc)
have=$(OMP_NUM_THREADS=1 build/bench_pipeline "$dir" 2>/dev/null | awk '/DCT-scaled/ {print $(NF-7)}')
echo "loader: 1 thread makes $have images/s (decode + 2 views); the ResNet-50 step consumes $need images/s:" \
     "$(echo "scale=0; $have / $need" | bc)x margin, the step never waits for data"
