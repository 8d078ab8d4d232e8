#!/usr/bin/env bash
# abi_check.sh exports|isa LIB - what the shared library shows the world.
#   exports  every dynamic symbol libnnclr.so defines starts with nnclr_ (the public API of
#            include/nnclr.h; everything else is built with hidden visibility)
#   isa      no function outside the run-time dispatched AVX-512 kernels touches a zmm register,
#            so the library runs on any x86-64 CPU with AVX2 + FMA (the default build is
#            -march=x86-64-v3; the AVX-512 kernels carry target attributes and are chosen by CPUID)
set -euo pipefail
mode=$1 lib=$2
case $mode in
  exports)
    syms=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBR]$/ {print $3}')
    n=$(echo "$syms" | grep -c . || true)
    bad=$(echo "$syms" | grep -v '^nnclr_' | grep -v '^_init$\|^_fini$' || true)
    if [ -n "$bad" ]; then
      echo "FAIL: $lib exports symbols outside the public API:"; echo "$bad" | head -20; exit 1
    fi
    for f in nnclr_model_create nnclr_step nnclr_last_error; do
      echo "$syms" | grep -qx "$f" || { echo "FAIL: $lib does not export $f"; exit 1; }
    done
    echo "ok: $n exported symbols, all nnclr_*";;
  isa)
    # The dispatched kernels, by nnclr's naming rule: the 16-lane Winograd kernels and their
    # helpers (ops/winograd_kernels.inc compiled with SUFFIX 16: conv_pass16, input_tile416, ...)
    # and the support-set scan (ssl/support_set.c: scan_rows_avx512). Debug builds keep the
    # helpers as functions of their own; optimised builds inline them.
    allowed='^[a-z0-9_]*(16|_avx512)(\._omp_fn\.[0-9]+|\.part\.[0-9]+|\.isra\.[0-9]+|\.constprop\.[0-9]+)*$'
    found=$(objdump -d --no-show-raw-insn "$lib" | awk '/^[0-9a-f]+ <.*>:$/ {fn = substr($2, 2, length($2) - 3)} /%zmm|%k[1-7]/ {c[fn]++} END {for (f in c) print f}')
    bad=$(echo "$found" | grep . | grep -Ev "$allowed" || true)
    if [ -n "$bad" ]; then
      echo "FAIL: AVX-512 instructions outside the run-time dispatched kernels:"; echo "$bad"; exit 1
    fi
    echo "ok: AVX-512 only in: $(echo $found)";;
  *) echo "usage: abi_check.sh exports|isa LIB" >&2; exit 2;;
esac
