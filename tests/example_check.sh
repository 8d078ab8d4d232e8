#!/usr/bin/env bash
# example_check.sh BUILD_DIR SOURCE_DIR - the library as a user gets it: install the build into a
# temporary prefix, compile examples/train_and_embed.c with `pkg-config nnclr` only (no source
# tree include paths), run it for 30 steps on Fashion-MNIST, and check what it wrote: 10,000 x D
# floats, all finite, and a nearest-neighbour label agreement above chance (10 classes).
set -euo pipefail
build=$1 src=$2
data=/usr/share/datasets/fashion-mnist
if [ ! -e "$data/t10k-images-idx3-ubyte.gz" ] && [ ! -e "$data/t10k-images-idx3-ubyte" ]; then
  echo "SKIP: Fashion-MNIST not installed ($data; Debian package dataset-fashion-mnist)"; exit 0
fi
tmp=$(mktemp -d /tmp/nnclr_example_XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" > /dev/null
pc=$(find "$tmp/prefix" -name nnclr.pc -printf '%h\n' | head -1)
export PKG_CONFIG_PATH=$pc
flags=$(pkg-config --define-variable=prefix="$tmp/prefix" --cflags --libs nnclr)
cc -O2 -Wall -Wextra -Werror "$src/examples/train_and_embed.c" $flags \
  -lm -o "$tmp/train_and_embed"
LD_LIBRARY_PATH="$(pkg-config --define-variable=prefix="$tmp/prefix" --variable=libdir nnclr)" OMP_NUM_THREADS=2 OMP_WAIT_POLICY=passive "$tmp/train_and_embed" "$tmp/run" 30 "$tmp/emb.f32" | tee "$tmp/out.txt"
grep -q "trained 30 steps" "$tmp/out.txt" || { echo "FAIL: did not train 30 steps"; exit 1; }
size=$(stat -c %s "$tmp/emb.f32")
dim=$(grep -o 'wrote .*: 10000 x [0-9]*' "$tmp/out.txt" | awk '{print $NF}')
[ -n "$dim" ] && [ "$size" -eq $((10000 * dim * 4)) ] || { echo "FAIL: embeddings file size $size"; exit 1; }
od -An -v -f -w4 "$tmp/emb.f32" | awk '$1 != $1 + 0 || $1 == "nan" || $1 == "-nan" || $1 == "inf" || $1 == "-inf" {bad++} END {exit bad > 0}' \
  || { echo "FAIL: non-finite embeddings"; exit 1; }
agree=$(grep -o 'agreement.*: [0-9.]*' "$tmp/out.txt" | awk '{print $NF}')
awk -v a="$agree" 'BEGIN {exit !(a > 30)}' || { echo "FAIL: label agreement $agree% is not above chance"; exit 1; }
knn=$(grep -o 'kNN (k=200) top-1 on the test split: [0-9.]*' "$tmp/out.txt" | awk '{print $NF}')
awk -v a="$knn" 'BEGIN {exit !(a > 30)}' || { echo "FAIL: kNN accuracy '$knn' is missing or not above chance"; exit 1; }
echo "ok: 30 steps, 10000 x $dim embeddings, nearest-neighbour label agreement $agree%, kNN $knn%"
