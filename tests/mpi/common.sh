# common.sh - what the MPI shell tests share (sourced): $bin, the 2-rank mpiexec command line,
# a temporary working directory (removed on exit), the synthetic data set in ./data, and
# check "what" command... which counts and prints ok / FAIL (with the command's output).
bin=${NNCLR_BIN_DIR:?}
mpi=("${MPIEXEC:-mpiexec}" --allow-run-as-root --oversubscribe -np 2 -x OMP_NUM_THREADS=1)
export OMP_NUM_THREADS=1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir"
pass=0
fail=0
check() {  # check "what" command...
  local what=$1; shift
  if "$@" > check.log 2>&1; then pass=$((pass + 1)); echo "ok   $what"
  else fail=$((fail + 1)); echo "FAIL $what"; sed 's/^/    /' check.log | tail -20; fi
}
"$bin/bench_make_synthetic" data 4 32 24 1 > /dev/null || { echo "cannot write the data set"; exit 1; }
