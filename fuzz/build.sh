#!/usr/bin/env bash
# build.sh - builds the libFuzzer targets of fuzz/ with clang, AddressSanitizer and
# UndefinedBehaviorSanitizer (any UB aborts), linking the library sources they exercise
# directly (no CMake, no oneDNN: the readers, the checkpoint container, the model-state loader
# and cli/args.c need only libc, zlib, libpng, libjpeg and OpenMP).
#
#     fuzz/build.sh [BUILD_DIR]        # default: build-fuzz/ at the repository root
#
# Needs: clang, libclang-rt-14-dev (libFuzzer + sanitizer runtimes), libomp-14-dev (clang's
# OpenMP, for support_set.c), zlib1g-dev, libpng-dev, libjpeg62-turbo-dev. Prints the targets
# built.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build-fuzz}
CC=${CC:-clang}
mkdir -p "$out/obj"

flags=(-std=c11 -g -O1 -fno-omit-frame-pointer -Wall -Wextra -fopenmp
       -fsanitize=address,undefined -fno-sanitize-recover=all -Iinclude -Isrc)

lib_sources=(src/core/status.c src/core/rng.c src/core/tensors.c src/core/cancel.c
             src/ssl/support_set.c src/model/model_state.c
             src/data/dataset.c src/data/idx.c src/data/cifar.c src/data/stl10.c
             src/data/image_folder.c src/data/jpeg_decode.c src/data/png_decode.c
             src/io/checkpoint.c src/io/atomic_file.c src/io/safetensors.c)
objs=()
for src in "${lib_sources[@]}"; do
  obj="$out/obj/$(echo "${src%.c}" | tr / _).o"
  "$CC" "${flags[@]}" -fsanitize=fuzzer-no-link -c "$src" -o "$obj"
  objs+=("$obj")
done
rm -f "$out/libnnclr_fuzz.a"
ar rcs "$out/libnnclr_fuzz.a" "${objs[@]}"

targets=(idx cifar stl10 jpeg png checkpoint config safetensors)
for t in "${targets[@]}"; do
  "$CC" "${flags[@]}" -fsanitize=fuzzer "fuzz/fuzz_$t.c" "$out/libnnclr_fuzz.a" \
    -ljpeg -lpng -lz -lm -o "$out/fuzz_$t"
done
echo "built in $out: ${targets[*]/#/fuzz_}"
