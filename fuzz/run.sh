#!/usr/bin/env bash
# run.sh - runs every fuzz target (or the ones named) for SECONDS each, starting from the
# committed seeds in fuzz/corpus/<target>/, and prints the executions per target.
#
#     fuzz/run.sh SECONDS [TARGET...]    # TARGET: idx cifar stl10 jpeg png checkpoint config safetensors
#
# Builds the targets first when BUILD_DIR (default build-fuzz/) lacks them. New inputs go to
# BUILD_DIR/corpus/<target>/ (the committed seeds are only read); a crash, leak, timeout or
# out-of-memory input is saved as BUILD_DIR/crashes/<target>-crash-<sha1> (or leak-, timeout-,
# oom-) and makes the script exit 1 after all targets ran. Reproduce one with
# `BUILD_DIR/fuzz_<target> FILE`; a fixed one belongs in fuzz/corpus/<target>/ as a seed.
set -uo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 1 ] || ! [[ $1 =~ ^[0-9]+$ ]]; then
  echo "usage: fuzz/run.sh SECONDS [TARGET...]" >&2
  exit 2
fi
seconds=$1
shift
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(idx cifar stl10 jpeg png checkpoint config safetensors)
build=${BUILD_DIR:-build-fuzz}
for t in "${targets[@]}"; do
  if [ ! -x "$build/fuzz_$t" ]; then
    fuzz/build.sh "$build" || exit 1
    break
  fi
done
mkdir -p "$build/crashes" "$build/logs"
# Scratch files on tmpfs when there is one: the checkpoint target fsyncs every file it writes.
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then export TMPDIR=/dev/shm; fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=()
printf '%-12s %12s %10s %s\n' target executions exec/s result
for t in "${targets[@]}"; do
  mkdir -p "$build/corpus/$t"
  log="$build/logs/$t.log"
  "$build/fuzz_$t" "$build/corpus/$t" "fuzz/corpus/$t" -max_total_time="$seconds" -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -close_fd_mask=3 \
    -artifact_prefix="$build/crashes/$t-" > "$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -1)
  [ -z "$execs" ] && execs=$(sed -n 's/^#\([0-9]*\)[[:space:]]*DONE.*/\1/p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *\([0-9]*\).*/\1/p' "$log" | tail -1)
  if [ $rc -eq 0 ]; then
    result=ok
  else
    result="FAILED (exit $rc; see $log)"
    failed+=("$t")
  fi
  printf '%-12s %12s %10s %s\n' "$t" "${execs:-?}" "${rate:-?}" "$result"
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz targets with findings: ${failed[*]}; inputs in $build/crashes/" >&2
  exit 1
fi
