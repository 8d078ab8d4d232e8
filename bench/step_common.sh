# Shared by bench/step.sh and bench/bf16_step.sh (sourced): the step configurations, a step
# line's seconds, and min / median / max of per-pair ratios.

# CONFIGS (environment) or the default, ";"-separated "ARCH C SIZE BATCH QUEUE STEM", into cfgs.
step_configs() {  # default
  IFS=';' read -r -a cfgs <<< "${CONFIGS:-$1}"
}
# The best-step seconds of a bench_step / bench_step_torch.py line on stdin.
step_secs() { sed -E 's/.*threads [0-9]+  ([0-9.]+) s.*/\1/'; }
# "PREFIX: min Ax  median Bx  max Cx" over the ratios given.
ratio_stats() {  # prefix ratio...
  local prefix=$1; shift
  printf '%s\n' "$@" | sort -g | awk -v p="$prefix" '{ v[NR] = $1 }
    END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
          printf "%s: min %.2fx  median %.2fx  max %.2fx\n", p, v[1], m, v[NR] }'
}
