#!/usr/bin/env bash
# faults.sh - `nnclr train` on 2 ranks over TCP (Open MPI's tcp + self transports, as between
# machines, not shared memory), and a rank killed mid-run (ctest mpi_faults):
#   - a 2-rank run over TCP finishes and equals the shared-memory run's checkpoint;
#   - kill -9 of rank 1 mid-run: the job ends (non-zero) within 30 s, no hang; the last
#     checkpoint verifies (`nnclr info`), and the run resumes to the end on 1 process and on
#     2 ranks.
# Needs $NNCLR_BIN_DIR (nnclr, bench_make_synthetic, bench_ckpt_compare) and $MPIEXEC.
set -u
source "$(dirname "$0")/common.sh"
tcp=(--mca btl tcp,self)
export OMP_WAIT_POLICY=passive
flags=(--data folder --data-path data --batch 16 --queue-size 64 --proj-hidden 64 --proj-dim 32
       --pred-hidden 64 --no-baseline --log-every 1)

check "2 ranks over TCP: a 2-epoch run" "${mpi[@]}" "${tcp[@]}" "$bin/nnclr" train "${flags[@]}" --epochs 2 --run-dir t
"${mpi[@]}" "$bin/nnclr" train "${flags[@]}" --epochs 2 --run-dir s > /dev/null 2>&1
check "  ... byte-identical to the shared-memory run" "$bin/bench_ckpt_compare" t/ckpt-14.ckpt s/ckpt-14.ckpt \
  params buffers opt_state queue.entries queue.labels

# A long run (60 epochs of 7 steps), rank 1 killed once the epoch-2 checkpoint exists.
"${mpi[@]}" "${tcp[@]}" "$bin/nnclr" train "${flags[@]}" --epochs 60 --run-dir k > k.out 2>&1 &
job=$!
for _ in $(seq 1 600); do [ -f k/ckpt-14.ckpt ] && break; sleep 0.1; done
rank1=""
for p in $(pgrep -f "nnclr train .*--run-dir k"); do
  [ "$p" = "$job" ] && continue
  if tr '\0' '\n' < /proc/$p/environ 2>/dev/null | grep -q '^OMPI_COMM_WORLD_RANK=1$'; then rank1=$p; fi
done
check "rank 1 found after the epoch-2 checkpoint ($rank1)" test -n "$rank1"
t0=$(date +%s.%N)
[ -n "$rank1" ] && kill -9 "$rank1"
ended=0
for _ in $(seq 1 300); do kill -0 $job 2>/dev/null || { ended=1; break; }; sleep 0.1; done
t1=$(date +%s.%N)
if [ $ended = 0 ]; then kill -9 $job 2>/dev/null; pkill -9 -f "nnclr train .*--run-dir k"; fi
wait $job; rc=$?
secs=$(echo "$t1 - $t0" | bc)
check "the job ends within 30 s of the kill (${secs} s), exit $rc" test $ended = 1 -a $rc -ne 0
latest=$(ls k/ckpt-*.ckpt | sort -t- -k2 -n | tail -1)
check "the last checkpoint verifies ($latest)" "$bin/nnclr" info k
check "the run resumes on 1 process" "$bin/nnclr" train --resume k --epochs 4
check "  ... to the end (step 28)" test -f k/ckpt-28.ckpt
check "and on 2 ranks" "${mpi[@]}" "$bin/nnclr" train --resume k --epochs 6
check "  ... to the end (step 42)" test -f k/ckpt-42.ckpt
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
