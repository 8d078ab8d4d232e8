#!/usr/bin/env bash
# README command 2: installs what is missing, builds, and runs every test twice: optimised, and
# under AddressSanitizer + UndefinedBehaviorSanitizer. Ends with ctest's summary line.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash scripts/build.sh
bash scripts/build.sh asan
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp
status=0
echo "== tests under AddressSanitizer/UBSan =="
(cd build-asan && ctest --output-on-failure -j 2) || status=1
echo "== tests, optimised build =="
(cd build && ctest --output-on-failure -j 2) || status=1
exit $status
