#!/usr/bin/env bash
# kill_resume.sh - crash-consistency check of `nnclr train`: training that is killed with
# SIGKILL at random moments (including while a checkpoint is being written) and resumed with
# `nnclr train --resume DIR` each time must end with exactly the state of an uninterrupted run.
#
#     bench/kill_resume.sh NNCLR_BIN [KILLS=20] [SEED=1]
#
# Builds nothing: bench_make_synthetic and bench_ckpt_compare are taken from the directory of
# NNCLR_BIN (CMake builds every bench/bench_*.c next to nnclr), or from $MAKE_SYNTHETIC and
# $CKPT_COMPARE. Steps:
#   1. a synthetic folder data set (4 classes x 16 RGB 24x24 PNGs) and one uninterrupted
#      reference run of a tiny configuration (resnet20, batch 16, 4 epochs, a checkpoint
#      every epoch);
#   2. `--resume` on a run directory with no checkpoint yet (empty, and with config.txt only):
#      the exit code and message are reported (informational);
#   3. campaigns until KILLS kills have landed: each campaign trains in a fresh directory and
#      is killed over and over - after a random delay (up to half the reference duration at
#      first, adapted to the machine's speed), or, every third kill, as soon as the process's
#      checkpoint temporary file appears - then resumed
#      (started afresh while no checkpoint exists) until a run completes. After every kill all
#      ckpt-*.ckpt files in the directory must still read (CRC and structure); at the end the
#      last checkpoint's sections must be byte-identical to the reference's.
# Exits 0 when every campaign matched and no checkpoint was ever unreadable; 1 otherwise.
# Work files are in a temporary directory, removed at the end unless KEEP=1.
set -uo pipefail

if [ $# -lt 1 ] || [ ! -x "$1" ]; then
  echo "usage: bench/kill_resume.sh NNCLR_BIN [KILLS=20] [SEED=1]" >&2
  exit 2
fi
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
want_kills=${2:-20}
RANDOM=${3:-1}
bindir=$(dirname "$bin")
make_synthetic=${MAKE_SYNTHETIC:-$bindir/bench_make_synthetic}
ckpt_compare=${CKPT_COMPARE:-$bindir/bench_ckpt_compare}
for tool in "$make_synthetic" "$ckpt_compare"; do
  if [ ! -x "$tool" ]; then
    echo "kill_resume: $tool not found (build bench_make_synthetic and bench_ckpt_compare)" >&2
    exit 2
  fi
done

work=$(mktemp -d /tmp/nnclr-kill-resume-XXXXXX)
cleanup() { [ "${KEEP:-0}" = 1 ] && echo "work files kept in $work" || rm -rf "$work"; }
trap cleanup EXIT

# Everything that must match after resume; "progress" (wall time) and "config" (run
# directory) legitimately differ.
sections=(params buffers opt_state queue.entries queue.labels queue.meta rng step)
flags=(--data folder --data-path "$work/data" --arch resnet20 --batch 16 --proj-hidden 32
       --proj-dim 16 --pred-hidden 32 --queue-size 64 --threads 2 --loader-threads 1
       --crop-size 16 --epochs 4 --checkpoint-every 1 --knn-k 10 --no-baseline)

now() { date +%s.%N; }
alive() {
  local st
  st=$(cut -d' ' -f3 "/proc/$1/stat" 2> /dev/null) || return 1
  [ -n "$st" ] && [ "$st" != Z ]
}
latest_ckpt() { ls "$1"/ckpt-*.ckpt 2>/dev/null | sed 's/.*ckpt-\([0-9]*\)\.ckpt$/\1 &/' | sort -n | tail -1 | cut -d' ' -f2; }

"$make_synthetic" "$work/data" 4 16 24 1 > /dev/null || exit 1

echo "== reference run"
t0=$(now)
if ! "$bin" train "${flags[@]}" --run-dir "$work/ref" > "$work/ref.log" 2>&1; then
  echo "kill_resume: the reference run failed:" >&2
  tail -5 "$work/ref.log" >&2
  exit 1
fi
t_ref=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }')
ref_ckpt=$(latest_ckpt "$work/ref")
echo "reference: $(basename "$ref_ckpt") in ${t_ref} s"

echo "== --resume before the first checkpoint"
mkdir -p "$work/no-config" "$work/config-only"
cp "$work/ref/config.txt" "$work/config-only/"
for d in no-config config-only; do
  "$bin" train --resume "$work/$d" > "$work/$d.log" 2>&1
  rc=$?
  printf '%-12s exit %d: %s\n' "$d" "$rc" "$(grep -v '^$' "$work/$d.log" | tail -1)"
done

echo "== kill -9 and resume"
kills=0 during_write=0 unreadable=0 campaigns=0 mismatches=0 fresh_restarts=0
# Delays start at half the reference duration and adapt to the machine's speed: doubled after
# three kills in a row that let no new checkpoint appear, halved when a run completes before
# its kill. Resumed runs have less left to do than fresh ones.
max_ms=$(awk -v t="$t_ref" 'BEGIN { printf "%d", t * 500 + 50 }')
stalls=0
while [ $kills -lt "$want_kills" ]; do
  campaigns=$((campaigns + 1))
  dir="$work/run$campaigns"
  mkdir -p "$dir"
  attempt=0
  trace=""
  while :; do
    attempt=$((attempt + 1))
    log="$dir/attempt$attempt.log"
    before=$(latest_ckpt "$dir")
    if [ -n "$before" ]; then
      "$bin" train --resume "$dir" > "$log" 2>&1 &
    else
      [ $attempt -gt 1 ] && fresh_restarts=$((fresh_restarts + 1))
      "$bin" train "${flags[@]}" --run-dir "$dir" > "$log" 2>&1 &
    fi
    pid=$!
    how=""
    if [ $kills -ge "$want_kills" ]; then
      :                                   # enough kills: let this one finish
    elif [ $(( (kills + 1) % 3 )) -eq 0 ]; then
      # Kill as soon as this process starts writing a checkpoint.
      while alive $pid && ! compgen -G "$dir/ckpt-*.ckpt.tmp.$pid" > /dev/null; do
        sleep 0.002
      done
      kill -9 $pid 2> /dev/null
      how="w"
    else
      ms=$(( (RANDOM * 32768 + RANDOM) % max_ms ))
      sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
      kill -9 $pid 2> /dev/null
      how="${ms}ms"
    fi
    wait $pid 2> /dev/null               # (no "Killed" job message)
    rc=$?
    if [ $rc -eq 137 ]; then
      kills=$((kills + 1))
      after=$(latest_ckpt "$dir")
      step=${after##*ckpt-}
      mark="${how}@${step%.ckpt}"
      [ -z "$after" ] && mark="${how}@none"
      if compgen -G "$dir/*.tmp.$pid" > /dev/null; then
        during_write=$((during_write + 1))
        mark="$mark*"
      fi
      trace="$trace $mark"
      if [ "$after" = "$before" ]; then stalls=$((stalls + 1)); else stalls=0; fi
      if [ $stalls -ge 3 ]; then
        max_ms=$((max_ms * 2))
        stalls=0
      fi
      for f in "$dir"/ckpt-*.ckpt; do
        [ -e "$f" ] || continue
        if ! "$ckpt_compare" "$f" "$f" step > /dev/null 2>&1; then
          unreadable=$((unreadable + 1))
          echo "UNREADABLE after kill $kills: $f"
        fi
      done
      continue
    fi
    if [ -n "$how" ] && [ "$how" != w ] && [ $max_ms -gt 100 ]; then
      max_ms=$((max_ms / 2))               # finished before its kill: shorter delays
    fi
    if [ $rc -ne 0 ]; then
      echo "campaign $campaigns: attempt $attempt exited $rc:"
      tail -3 "$log"
      mismatches=$((mismatches + 1))
      break
    fi
    final=$(latest_ckpt "$dir")
    if "$ckpt_compare" "$ref_ckpt" "$final" "${sections[@]}" > "$dir/compare.txt" 2>&1; then
      result="identical to the reference"
    else
      mismatches=$((mismatches + 1))
      result="DIFFERS from the reference:"
    fi
    echo "campaign $campaigns: $((attempt - 1)) kills [${trace# }]; $(basename "$final") $result"
    [ "$result" = "identical to the reference" ] || cat "$dir/compare.txt"
    break
  done
done
echo "(kill marks: delay or w = at the start of a checkpoint write, @ latest checkpoint step after"
echo " the kill, * = the kill left a checkpoint temporary file, i.e. landed inside a write)"
orphans=$(ls "$work"/run*/*.tmp.* 2> /dev/null | wc -l)
echo "kills: $kills ($during_write while a checkpoint was being written), restarts from scratch (killed before the first checkpoint): $fresh_restarts"
echo "campaigns: $campaigns, differing from the reference: $mismatches, unreadable checkpoints seen: $unreadable"
echo "temporary files left by killed writers: $orphans"
[ $mismatches -eq 0 ] && [ $unreadable -eq 0 ]
