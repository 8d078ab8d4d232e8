#!/usr/bin/env bash
# README command 2: installs what is missing, builds (warnings are errors), runs each libFuzzer
# target for a few seconds (FUZZ_SECONDS, default 10), then every test twice: under
# AddressSanitizer + UndefinedBehaviorSanitizer, then optimised. Ends with ctest's summary line.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh test
bash scripts/build.sh
bash scripts/build.sh asan
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp
status=0
echo "== fuzz targets, ${FUZZ_SECONDS:-10} s each =="
bash fuzz/run.sh "${FUZZ_SECONDS:-10}" || status=1
echo "== tests under AddressSanitizer/UBSan =="
(cd build-asan && ctest --output-on-failure -j 2) || status=1
echo "== tests, optimised build =="
(cd build && ctest --output-on-failure -j 2) || status=1
exit $status
