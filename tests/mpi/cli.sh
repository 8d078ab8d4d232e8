#!/usr/bin/env bash
# cli.sh - `nnclr` under mpiexec -np 2 on a small synthetic image folder (ctest mpi_cli):
#   - a 2-rank run stopped after epoch 1 resumes in ONE process and finishes (checkpoints
#     across world sizes), and a 1-process checkpoint resumes on 2 ranks;
#   - two identical 2-rank runs give byte-identical checkpoints (determinism);
#   - only rank 0 prints and writes (one "training done" line, one metrics log);
#   - `eval knn` on 2 ranks (features extracted in shares, gathered) prints exactly the
#     single-process result, and `embed` writes a byte-identical .npy;
#   - a batch that does not split over the ranks is a usage error (exit 2).
# Needs $NNCLR_BIN_DIR (nnclr, bench_make_synthetic, bench_ckpt_compare) and $MPIEXEC.
set -u
source "$(dirname "$0")/common.sh"
flags=(--data folder --data-path data --batch 16 --queue-size 64 --proj-hidden 64 --proj-dim 32
       --pred-hidden 64 --epochs 2 --no-baseline --log-every 4)

check "2 ranks: train, stop after epoch 1" "${mpi[@]}" "$bin/nnclr" train "${flags[@]}" --stop-after 1 --run-dir a
check "2-rank run resumed in 1 process finishes" "$bin/nnclr" train --resume a
check "  ... with the 2-epoch checkpoint (step 14)" test -f a/ckpt-14.ckpt
check "  ... and metrics continuing to step 14" grep -q '"step":14' a/metrics.jsonl
"${mpi[@]}" "$bin/nnclr" train "${flags[@]}" --run-dir b > b.out 2>&1
check "2 ranks: uninterrupted 2-epoch run" test -f b/ckpt-14.ckpt
check "only rank 0 prints (one 'training done' line)" test "$(grep -c '^training done' b.out)" = 1
"${mpi[@]}" "$bin/nnclr" train "${flags[@]}" --stop-after 1 --run-dir c > /dev/null 2>&1
check "two 2-rank runs: byte-identical epoch-1 checkpoints" "$bin/bench_ckpt_compare" a/ckpt-7.ckpt c/ckpt-7.ckpt \
  params buffers opt_state queue.entries queue.labels
"$bin/nnclr" train "${flags[@]}" --stop-after 1 --run-dir d > /dev/null 2>&1
check "1-process checkpoint resumes on 2 ranks" "${mpi[@]}" "$bin/nnclr" train --resume d
check "  ... to step 14" test -f d/ckpt-14.ckpt
"$bin/nnclr" eval knn b 2>/dev/null | tail -1 > knn1.txt
"${mpi[@]}" "$bin/nnclr" eval knn b 2>/dev/null | tail -1 > knn2.txt
check "eval knn: 2 ranks print the 1-process result ($(cat knn1.txt))" cmp knn1.txt knn2.txt
check "eval knn: a result was printed" grep -q "top-1" knn1.txt
"$bin/nnclr" embed b --out e1 > /dev/null 2>&1
"${mpi[@]}" "$bin/nnclr" embed b --out e2 > /dev/null 2>&1
check "embed: 2-rank .npy byte-identical to 1 process" cmp e1.npy e2.npy
"${mpi[@]}" "$bin/nnclr" train "${flags[@]}" --batch 15 --run-dir e > e.out 2>&1
rc=$?
check "batch 15 on 2 ranks: usage error (exit $rc)" test "$rc" -ne 0
check "  ... saying why" grep -q "multiple of the 2 processes" e.out
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
