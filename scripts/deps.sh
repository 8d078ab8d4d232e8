#!/usr/bin/env bash
# Installs the Debian 12 packages nnclr needs to build and run (as root; skipped when all are
# present already). `deps.sh test` adds what the tests need: clang and its libFuzzer/OpenMP
# runtimes for the fuzz targets, and the real clients of `nnclr export`: PyTorch + torchvision,
# python3-onnx (ONNX Runtime itself comes from npm, installed by tests/onnx_check.sh), and
# headless Chromium, which renders `nnclr report` in its test, and FAISS (`dedup --approx`).
set -euo pipefail
pkgs=(build-essential cmake pkg-config libdnnl-dev libopenblas-dev zlib1g-dev libpng-dev
      libjpeg62-turbo-dev dataset-fashion-mnist libopenmpi-dev openmpi-bin
      protobuf-c-compiler libprotobuf-c-dev libonnx-dev)
[ "${1:-}" = test ] && pkgs+=(clang libclang-rt-14-dev libomp-14-dev python3-torch python3-torchvision python3-numpy python3-pip python3-setuptools python3-onnx chromium libfaiss-dev)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}"
fi
