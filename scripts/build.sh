#!/usr/bin/env bash
# Configures and builds nnclr into build/ (Release) or, with `asan`, into build-asan/
# (AddressSanitizer + UndefinedBehaviorSanitizer). Warnings are errors in both.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = asan ]; then
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DNNCLR_SANITIZE=ON -DNNCLR_WERROR=ON > /dev/null
  cmake --build build-asan -j "$(nproc)"
else
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DNNCLR_WERROR=ON > /dev/null
  cmake --build build -j "$(nproc)"
fi
