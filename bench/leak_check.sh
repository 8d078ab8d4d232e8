#!/usr/bin/env bash
# leak_check.sh - runs a tiny `nnclr train` and `nnclr eval knn` from the AddressSanitizer build
# with LeakSanitizer on (tests/lsan.supp suppresses the one-time allocations of the OpenMP
# runtime, oneDNN and OpenBLAS) and reports the leaks found: none is the expected result.
#
#     bench/leak_check.sh [NNCLR_ASAN_BIN=build-asan/nnclr]
#
# The data set is a synthetic PNG folder written by bench_make_synthetic, taken from the
# directory of the binary, from $MAKE_SYNTHETIC, or from build/. Exits 0 when both commands
# succeed with no leak and no sanitizer error, 1 otherwise. Logs are in a temporary directory,
# printed on failure.
set -uo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build-asan/nnclr}
if [ ! -x "$bin" ]; then
  echo "leak_check: $bin not found (scripts/build.sh asan builds it)" >&2
  exit 2
fi
make_synthetic=${MAKE_SYNTHETIC:-}
for cand in "$(dirname "$bin")/bench_make_synthetic" build/bench_make_synthetic; do
  [ -z "$make_synthetic" ] && [ -x "$cand" ] && make_synthetic=$cand
done
if [ -z "$make_synthetic" ]; then
  echo "leak_check: bench_make_synthetic not found (build it, or set MAKE_SYNTHETIC)" >&2
  exit 2
fi
if [ "$( (nm -D "$bin"; nm "$bin") 2> /dev/null | grep -c __asan_)" -eq 0 ]; then
  echo "leak_check: $bin is not built with AddressSanitizer" >&2
  exit 2
fi

work=$(mktemp -d /tmp/nnclr-leak-check-XXXXXX)
trap '[ "${KEEP:-0}" = 1 ] && echo "logs kept in $work" || rm -rf "$work"' EXIT
"$make_synthetic" "$work/data" 4 16 24 1 > /dev/null || exit 1

export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp
export OMP_NUM_THREADS=2

status=0
run() {
  local name=$1
  shift
  "$bin" "$@" > "$work/$name.log" 2>&1
  local rc=$?
  local leaks direct indirect errors
  direct=$(grep -c '^Direct leak' "$work/$name.log")
  indirect=$(grep -c '^Indirect leak' "$work/$name.log")
  errors=$(grep -c 'ERROR: \(AddressSanitizer\|LeakSanitizer\)\|runtime error:' "$work/$name.log")
  leaks=$((direct + indirect))
  printf '%-10s exit %d, leaks: %d direct + %d indirect, sanitizer errors: %d\n' \
    "$name" "$rc" "$direct" "$indirect" "$errors"
  if [ $rc -ne 0 ] || [ "$leaks" -ne 0 ] || [ "$errors" -ne 0 ]; then
    status=1
    echo "---- $name log (tail)"
    tail -60 "$work/$name.log"
  fi
}

run train train --data folder --data-path "$work/data" --arch resnet20 --batch 16 --proj-hidden 32 \
  --proj-dim 16 --pred-hidden 32 --queue-size 64 --threads 2 --loader-threads 2 --crop-size 16 \
  --epochs 2 --knn-k 10 --run-dir "$work/run"
run eval-knn eval knn "$work/run" --batch 32 --threads 2 --k 10
[ $status -eq 0 ] && echo "leak check: no leaks" || echo "leak check: FAILED"
exit $status
