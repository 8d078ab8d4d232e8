#!/usr/bin/env bash
# results.sh - reruns one row of issue 8's tables (CIFAR-10 / Fashion-MNIST, NNCLR vs SimCLR,
# ablations, time-to-accuracy against PyTorch) and appends it to runs/results.md.
#
#   bash bench/results.sh cifar-main MINUTES [nn|self]      NNCLR on CIFAR-10 (self: SimCLR baseline)
#   bash bench/results.sh cifar-simclr MINUTES              = cifar-main MINUTES self
#   bash bench/results.sh cifar-ablation NAME MINUTES       NAME: q4096 q16384 q65536 top5 nopred croponly simclr
#                                                           simclr-croponly
#   bash bench/results.sh fmnist-long MINUTES               NNCLR on Fashion-MNIST
#   bash bench/results.sh torch MINUTES [cifar10|fashion-mnist] [nn|self]
#                                                           bench/torch_nnclr_train.py, the same recipe in PyTorch
#
# Every row uses the small preset of `nnclr train` (cli/options.c: a CIFAR ResNet, 512-512-128
# projector, 512 predictor, queue 4096, top-1, tau 0.1, batch 128, LARS eta 0.02,
# lr 0.5 x 128/256, wd 1e-5) plus the row's own flags, and runs after `bash scripts/build.sh`.
#
# MINUTES is the budget of the training command (data loading, training, its final kNN). The
# number of epochs is chosen to fit it, because nnclr's schedule (warm-up + cosine to 0) needs the
# total up front and `nnclr train` has no step- or time-level stop (--stop-after counts epochs):
#   1. calibration: the row's exact flags for CAL_STEPS + 1 steps on a subset of the data set
#      written under runs/subsets/ ((CAL_STEPS + 1) x batch train images, 200 test images), one
#      epoch, --log-every 1; throughput = (last step - first step) x batch / (time between the two
#      metrics lines), so the first (warm-up) step is not counted. The PyTorch row calibrates the
#      same way with torch_nnclr_train.py --limit-train ... --calibrate-steps CAL_STEPS.
#   2. epochs = floor((MINUTES x 60 x SAFETY - LOAD_S - eval_s) x img/s / (steps/epoch x batch)),
#      at least 1, where eval_s = (train + test images) / (EVAL_FACTOR x img/s) estimates the
#      final kNN pass (feature extraction runs at about 6x the training img/s here). The PyTorch
#      row also gets --time-budget-min as a hard cap.
# Then `nnclr eval knn` and `nnclr eval linear` on the run directory, and one markdown table row
# (date, commit, machine, command, epochs, steps, img/s of one view's batch, wall time, kNN top-1,
# linear top-1) appended to $RESULTS. Logs: runs/<row>.{train,knn,linear,calibrate}.log.
#
# Environment (defaults in brackets):
#   NNCLR [build/nnclr]  PYTHON [/usr/bin/python3]  CIFAR_PATH [../shared/data/cifar10]
#   FMNIST_PATH [/usr/share/datasets/fashion-mnist]  BATCH [128]  SAFETY [0.92]  CAL_STEPS [10]
#   LOAD_S [5]  EVAL_FACTOR [6]  LINEAR_EPOCHS [100]  RUNS [runs]  RESULTS [$RUNS/results.md]
#   EXTRA_FLAGS [] (appended to the training command)
#   EPOCHS=N      train exactly N epochs: no calibration, no budget arithmetic (the ablation grid
#                 uses this so that every row sees the same number of steps; MINUTES is then
#                 only recorded)
#   DRY_RUN=1     print every command and the epoch arithmetic, run nothing (calibration assumes
#                 CAL_IMG_PER_S [150] img/s), print the table row instead of appending it
#   SUBSET=N      smoke test: the first N train and N/5 test images (a subset written under
#                 runs/subsets/), runs under runs/smoke/, rows to runs/smoke/results.md
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."

NNCLR=${NNCLR:-build/nnclr}
PYTHON=${PYTHON:-/usr/bin/python3}
CIFAR_PATH=${CIFAR_PATH:-../shared/data/cifar10}
FMNIST_PATH=${FMNIST_PATH:-/usr/share/datasets/fashion-mnist}
BATCH=${BATCH:-128}
SAFETY=${SAFETY:-0.92}
CAL_STEPS=${CAL_STEPS:-10}
LOAD_S=${LOAD_S:-5}
EVAL_FACTOR=${EVAL_FACTOR:-6}
LINEAR_EPOCHS=${LINEAR_EPOCHS:-100}
EXTRA_FLAGS=${EXTRA_FLAGS:-}
EPOCHS=${EPOCHS:-0}
DRY_RUN=${DRY_RUN:-0}
CAL_IMG_PER_S=${CAL_IMG_PER_S:-150}
SUBSET=${SUBSET:-0}
RUNS=${RUNS:-runs}
if [ "$SUBSET" -gt 0 ]; then RUNS_DIR=$RUNS/smoke; else RUNS_DIR=$RUNS; fi
RESULTS=${RESULTS:-$RUNS_DIR/results.md}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}

usage() {
  sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

die() { echo "results.sh: $*" >&2; exit 1; }

# Prints a command as it would be typed, then runs it (not under DRY_RUN=1).
show() { echo "+ $(printf '%q ' "$@")" >&2; }
run() {
  show "$@"
  [ "$DRY_RUN" = 1 ] || "$@"
}
# run_log LOG CMD...: runs CMD, its output also to LOG.
run_log() {
  local log=$1
  shift
  show "$@"
  [ "$DRY_RUN" = 1 ] && return 0
  "$@" 2>&1 | tee "$log"
}

# ---------------------------------------------------------------------------------------------
# data

# data_sizes FORMAT -> "train test" image counts of what the rows train on.
data_sizes() {
  local tr te
  case $1 in
    cifar10) tr=50000 te=10000 ;;
    fashion-mnist) tr=60000 te=10000 ;;
    *) die "unknown data set $1" ;;
  esac
  if [ "$SUBSET" -gt 0 ]; then
    tr=$((SUBSET < tr ? SUBSET : tr))
    te=$((SUBSET / 5 < te ? SUBSET / 5 : te))
    te=$((te > 0 ? te : 1))
  fi
  echo "$tr $te"
}

data_path() {
  case $1 in
    cifar10) echo "$CIFAR_PATH" ;;
    fashion-mnist) echo "$FMNIST_PATH" ;;
  esac
}

# make_subset FORMAT NTRAIN NTEST -> prints a directory holding the first NTRAIN train and NTEST
# test images of the data set in its own file layout (CIFAR-10: the train images spread over the
# five batch files, the first NTRAIN/5 of each; Fashion-MNIST: raw IDX files).
make_subset() {
  local fmt=$1 ntr=$2 nte=$3
  local dir=$RUNS/subsets/$fmt-$ntr-$nte
  if [ "$DRY_RUN" = 1 ]; then
    echo "$dir"
    return
  fi
  if [ ! -f "$dir/.complete" ]; then
    mkdir -p "$dir"
    "$PYTHON" - "$fmt" "$(data_path "$fmt")" "$dir" "$ntr" "$nte" <<'EOF'
import gzip, os, shutil, struct, sys
fmt, src, dst, ntr, nte = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
if fmt == "cifar10":
    rec = 3073
    if ntr < 5:
        sys.exit("a CIFAR-10 subset needs at least 5 train images (one per batch file)")
    for i in range(5):
        n = ntr // 5 + (1 if i < ntr % 5 else 0)
        with open(os.path.join(src, "data_batch_%d.bin" % (i + 1)), "rb") as f:
            data = f.read(n * rec)
        with open(os.path.join(dst, "data_batch_%d.bin" % (i + 1)), "wb") as f:
            f.write(data)
    with open(os.path.join(src, "test_batch.bin"), "rb") as f:
        data = f.read(nte * rec)
    with open(os.path.join(dst, "test_batch.bin"), "wb") as f:
        f.write(data)
    shutil.copy(os.path.join(src, "batches.meta.txt"), dst)
else:
    for prefix, n in (("train", ntr), ("t10k", nte)):
        for kind, per in (("images-idx3", 28 * 28), ("labels-idx1", 1)):
            name = "%s-%s-ubyte" % (prefix, kind)
            path = os.path.join(src, name)
            opener = open if os.path.exists(path) else gzip.open
            with opener(path if os.path.exists(path) else path + ".gz", "rb") as f:
                head = f.read(16 if kind.startswith("images") else 8)
                body = f.read(n * per)
            head = head[:4] + struct.pack(">I", n) + head[8:]
            with open(os.path.join(dst, name), "wb") as f:
                f.write(head + body)
EOF
    touch "$dir/.complete"
  fi
  echo "$dir"
}

# ---------------------------------------------------------------------------------------------
# calibration and the epoch count

# calibrate_nnclr ROW FORMAT FLAGS... -> prints images/s (one view's batch per step)
calibrate_nnclr() {
  local row=$1 fmt=$2
  shift 2
  local n=$(((CAL_STEPS + 1) * BATCH))
  local dir rd=$RUNS_DIR/calibrate-$row
  dir=$(make_subset "$fmt" "$n" 200)
  [ "$DRY_RUN" = 1 ] || rm -rf "$rd"
  show "$NNCLR" train --data "$fmt" --data-path "$dir" "$@" --epochs 1 --log-every 1 --no-baseline --run-dir "$rd"
  if [ "$DRY_RUN" = 1 ]; then
    echo "$CAL_IMG_PER_S"
    return
  fi
  "$NNCLR" train --data "$fmt" --data-path "$dir" "$@" --epochs 1 --log-every 1 --no-baseline --run-dir "$rd" \
    > "$RUNS_DIR/$row.calibrate.log" 2>&1 || { cat "$RUNS_DIR/$row.calibrate.log" >&2; die "calibration run failed"; }
  "$PYTHON" - "$rd/metrics.jsonl" "$BATCH" <<'EOF'
import json, sys
rows = [r for r in map(json.loads, open(sys.argv[1])) if "img_per_s" in r]
if len(rows) < 2:
    sys.exit("calibration: fewer than two steps logged in " + sys.argv[1])
a, b = rows[0], rows[-1]
print("%.2f" % ((b["step"] - a["step"]) * int(sys.argv[2]) / (b["time_s"] - a["time_s"])))
EOF
  rm -rf "$rd"  # its checkpoint holds the whole support set
}

# calibrate_torch ROW FLAGS... -> prints images/s
calibrate_torch() {
  local row=$1
  shift
  local n=$(((CAL_STEPS + 1) * BATCH))
  local cmd=("$PYTHON" bench/torch_nnclr_train.py "$@" --limit-train "$n" --calibrate-steps "$CAL_STEPS")
  show "${cmd[@]}"
  if [ "$DRY_RUN" = 1 ]; then
    echo "$CAL_IMG_PER_S"
    return
  fi
  "${cmd[@]}" > "$RUNS_DIR/$row.calibrate.log" 2>&1 || { cat "$RUNS_DIR/$row.calibrate.log" >&2; die "calibration run failed"; }
  sed -n 's/^CALIBRATE .*img_per_s=\([0-9.]*\).*/\1/p' "$RUNS_DIR/$row.calibrate.log"
}

# plan_epochs MINUTES IMG_PER_S NTRAIN NTEST -> prints "epochs train_budget_s", explains on stderr
plan_epochs() {
  local out
  out=$(awk -v m="$1" -v ips="$2" -v ntr="$3" -v nte="$4" -v b="$BATCH" -v safety="$SAFETY" -v load="$LOAD_S" \
      -v ef="$EVAL_FACTOR" 'BEGIN {
    if (!(ips > 0)) { print "MSG results.sh: calibration gave no throughput"; exit 1 }
    spe = int(ntr / b); eval_s = (ntr + nte) / (ef * ips);
    avail = m * 60 * safety - load - eval_s;
    e = int(avail * ips / (spe * b));
    shown = (e > 0) ? e : 0;
    printf "MSG plan: %.1f img/s, %d steps/epoch (%.0f s each); %.0f s x %.2f - load %.0f s - final kNN %.0f s = %.0f s of training -> %d epoch(s)\n",
      ips, spe, spe * b / ips, m * 60, safety, load, eval_s, avail, shown;
    if (e < 1) {
      printf "MSG results.sh: WARNING: one epoch (%.0f s) does not fit the budget; running 1 epoch anyway\n", spe * b / ips;
      e = 1;
    }
    printf "%d %.0f\n", e, m * 60 - load - eval_s;
  }') || { sed -n 's/^MSG //p' <<< "$out" >&2; die "cannot plan the epochs"; }
  sed -n 's/^MSG //p' <<< "$out" >&2
  grep -v '^MSG ' <<< "$out"
}

# ---------------------------------------------------------------------------------------------
# the table

machine() { echo "$(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"; }

commit() {
  local c
  c=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
  git --no-optional-locks diff --quiet HEAD -- 2>/dev/null || c="$c-dirty"
  echo "$c"
}

hms() { awk -v s="$1" 'BEGIN { s = int(s + 0.5); if (s >= 3600) printf "%dh%02dm%02ds", s / 3600, s / 60 % 60, s % 60; else printf "%dm%02ds", s / 60, s % 60 }'; }

# append_row ROW COMMAND EPOCHS STEPS IMG_PER_S WALL_S TRAIN_S KNN LINEAR
append_row() {
  local line
  line="| $(date +%F) | $(commit) | $(machine) | $1 | \`$2\` | $3 | $4 | $5 | $(hms "$6") (train $(hms "$7")) | $8 | $9 |"
  if [ "$DRY_RUN" = 1 ]; then
    echo "row (not appended under DRY_RUN=1):"
    echo "$line"
    return
  fi
  if [ ! -f "$RESULTS" ]; then
    mkdir -p "$(dirname "$RESULTS")"
    {
      echo "# issue 8 results (bench/results.sh)"
      echo
      echo "img/s: one view's batch per training step (training loop only: the kNN pass at the end of nnclr train is taken out). wall: the whole row (calibration, training, eval knn, eval linear); train: the training command."
      echo
      echo "| date | commit | machine | row | command | epochs | steps | img/s | wall | kNN top-1 | linear top-1 |"
      echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    } > "$RESULTS"
  fi
  echo "$line" >> "$RESULTS"
  echo "appended to $RESULTS:"
  echo "$line"
}

# Moves an existing run directory aside: a stale checkpoint with a higher step would otherwise be
# the one `nnclr eval` picks.
fresh_run_dir() {
  if [ -e "$1" ]; then
    run mv "$1" "$1.prev-$(date +%Y%m%d-%H%M%S)"
  fi
}

# ---------------------------------------------------------------------------------------------
# rows

# nnclr_row ROW MINUTES FORMAT FLAGS...
nnclr_row() {
  local row=$1 minutes=$2 fmt=$3
  shift 3
  local flags=(--batch "$BATCH" "$@")
  # shellcheck disable=SC2206
  [ -n "$EXTRA_FLAGS" ] && flags+=($EXTRA_FLAGS)
  local sizes ntr nte path rd=$RUNS_DIR/$row t0 t1 t2 ips plan epochs
  sizes=$(data_sizes "$fmt")
  ntr=${sizes% *} nte=${sizes#* }
  path=$(data_path "$fmt")
  [ "$SUBSET" -gt 0 ] && path=$(make_subset "$fmt" "$ntr" "$nte")
  [ -x "$NNCLR" ] || [ "$DRY_RUN" = 1 ] || die "$NNCLR not found: run bash scripts/build.sh first"
  [ "$DRY_RUN" = 1 ] || mkdir -p "$RUNS_DIR"
  t0=$(date +%s.%N)
  if [ "$EPOCHS" -gt 0 ]; then
    echo "== $row: EPOCHS=$EPOCHS given, no calibration (budget $minutes min only recorded)" >&2
    epochs=$EPOCHS
  else
    echo "== $row: calibrating ($CAL_STEPS timed steps)" >&2
    ips=$(calibrate_nnclr "$row" "$fmt" "${flags[@]}")
    plan=$(plan_epochs "$minutes" "$ips" "$ntr" "$nte")
    epochs=${plan% *}
  fi
  local cmd=("$NNCLR" train --data "$fmt" --data-path "$path" "${flags[@]}" --epochs "$epochs" --no-baseline
             --run-dir "$rd")
  echo "== $row: training" >&2
  [ "$DRY_RUN" = 1 ] || fresh_run_dir "$rd"
  t1=$(date +%s.%N)
  run_log "$RUNS_DIR/$row.train.log" "${cmd[@]}"
  t2=$(date +%s.%N)
  echo "== $row: evaluation" >&2
  run_log "$RUNS_DIR/$row.knn.log" "$NNCLR" eval knn "$rd"
  run_log "$RUNS_DIR/$row.linear.log" "$NNCLR" eval linear "$rd" --epochs "$LINEAR_EPOCHS"
  local steps=dry train_s knn=dry linear=dry img=dry
  train_s=$(awk -v a="$t1" -v b="$t2" 'BEGIN { print b - a }')
  if [ "$DRY_RUN" != 1 ]; then
    local done_line
    done_line=$(grep '^training done:' "$RUNS_DIR/$row.train.log" | tail -1)
    [ -n "$done_line" ] || die "no 'training done' line in $RUNS_DIR/$row.train.log"
    steps=$(echo "$done_line" | sed -E 's/^training done: ([0-9]+) steps in ([0-9.]+) s.*/\1/')
    # The "training done" time includes the kNN evaluations inside the epoch loop ("epoch N: kNN
    # ... (X s)" lines): they are taken out of the img/s.
    local loop_s knn_s
    loop_s=$(echo "$done_line" | sed -E 's/^training done: ([0-9]+) steps in ([0-9.]+) s.*/\2/')
    knn_s=$(sed -n -E 's/^epoch [0-9]+: kNN .*\(([0-9.]+) s\)$/\1/p' "$RUNS_DIR/$row.train.log" | awk '{ t += $1 } END { print t + 0 }')
    img=$(awk -v s="$steps" -v b="$BATCH" -v t="$loop_s" -v k="$knn_s" 'BEGIN { printf "%.1f", s * b / (t - k) }')
    knn=$(sed -n -E 's/^kNN \(k=[0-9]+, tau=[0-9.e+-]+\): top-1 ([0-9.]+%).*/\1/p' "$RUNS_DIR/$row.knn.log" | tail -1)
    linear=$(sed -n -E 's/^linear \([^)]*\): top-1 ([0-9.]+%).*/\1/p' "$RUNS_DIR/$row.linear.log" | tail -1)
  fi
  local wall
  wall=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
  append_row "$row" "$(printf '%q ' "${cmd[@]}" | sed 's/ $//')" "$epochs" "$steps" "$img" "$wall" "$train_s" \
    "${knn:-?}" "${linear:-?}"
}

# torch_row MINUTES FORMAT POSITIVE
torch_row() {
  local minutes=$1 fmt=${2:-cifar10} pos=${3:-nn}
  local row=torch-$fmt-$pos
  local flags=(--data "$fmt" --positive "$pos" --batch "$BATCH")
  # shellcheck disable=SC2206
  [ -n "$EXTRA_FLAGS" ] && flags+=($EXTRA_FLAGS)
  local sizes ntr nte t0 t1 t2 ips plan epochs cap
  sizes=$(data_sizes "$fmt")
  ntr=${sizes% *} nte=${sizes#* }
  flags+=(--data-path "$(data_path "$fmt")")
  [ "$SUBSET" -gt 0 ] && flags+=(--limit-test "$nte")
  [ "$DRY_RUN" = 1 ] || mkdir -p "$RUNS_DIR"
  t0=$(date +%s.%N)
  echo "== $row: calibrating ($CAL_STEPS timed steps)" >&2
  ips=$(calibrate_torch "$row" "${flags[@]}")
  plan=$(plan_epochs "$minutes" "$ips" "$ntr" "$nte")
  epochs=${plan% *}
  cap=$(awk -v s="${plan#* }" 'BEGIN { printf "%.2f", s / 60 }')
  local cmd=("$PYTHON" bench/torch_nnclr_train.py "${flags[@]}" --epochs "$epochs" --time-budget-min "$cap")
  [ "$SUBSET" -gt 0 ] && cmd+=(--limit-train "$ntr")
  echo "== $row: training" >&2
  t1=$(date +%s.%N)
  run_log "$RUNS_DIR/$row.train.log" "${cmd[@]}"
  t2=$(date +%s.%N)
  local steps=dry knn=dry img=dry done_epochs=$epochs result
  if [ "$DRY_RUN" != 1 ]; then
    result=$(grep '^RESULT ' "$RUNS_DIR/$row.train.log" | tail -1)
    [ -n "$result" ] || die "no RESULT line in $RUNS_DIR/$row.train.log"
    field() { echo "$result" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
    steps=$(field steps)
    img=$(field img_per_s)
    knn="$(field knn_top1)%"
    done_epochs=$(field epochs_done)
    [ "$done_epochs" = "$epochs" ] || done_epochs="$done_epochs of $epochs (time cap)"
  fi
  local wall train_s
  train_s=$(awk -v a="$t1" -v b="$t2" 'BEGIN { print b - a }')
  wall=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
  append_row "$row" "$(printf '%q ' "${cmd[@]}" | sed 's/ $//')" "$done_epochs" "$steps" "$img" "$wall" "$train_s" \
    "$knn" "n/a"
}

# ---------------------------------------------------------------------------------------------

[[ $EPOCHS =~ ^[0-9]+$ ]] || die "EPOCHS must be a whole number, got '$EPOCHS'"

is_minutes() { [[ ${1:-} =~ ^[0-9]+([.][0-9]+)?$ ]] || die "MINUTES must be a number, got '${1:-}'"; }

[ $# -ge 1 ] || usage
case $1 in
  cifar-main)
    is_minutes "${2:-}"
    case ${3:-nn} in
      nn) nnclr_row cifar-main "$2" cifar10 ;;
      self) nnclr_row cifar-simclr "$2" cifar10 --positive self ;;
      *) usage ;;
    esac
    ;;
  cifar-simclr)
    is_minutes "${2:-}"
    nnclr_row cifar-simclr "$2" cifar10 --positive self
    ;;
  cifar-ablation)
    [ $# -ge 3 ] || usage
    is_minutes "$3"
    case $2 in
      q4096) abl=(--queue-size 4096) ;;
      q16384) abl=(--queue-size 16384) ;;
      q65536) abl=(--queue-size 65536) ;;
      top5) abl=(--topk 5) ;;
      nopred) abl=(--no-predictor) ;;
      croponly) abl=(--augment crop-only) ;;
      simclr) abl=(--positive self) ;;
      simclr-croponly) abl=(--positive self --augment crop-only) ;;
      *) die "unknown ablation '$2' (q4096 q16384 q65536 top5 nopred croponly simclr simclr-croponly)" ;;
    esac
    nnclr_row "cifar-$2" "$3" cifar10 "${abl[@]}"
    ;;
  fmnist-long)
    is_minutes "${2:-}"
    nnclr_row fmnist-long "$2" fashion-mnist
    ;;
  torch)
    is_minutes "${2:-}"
    case ${3:-cifar10} in cifar10 | fashion-mnist) ;; *) usage ;; esac
    case ${4:-nn} in nn | self) ;; *) usage ;; esac
    torch_row "$2" "${3:-cifar10}" "${4:-nn}"
    ;;
  -h | --help | help) usage ;;
  *) usage ;;
esac
