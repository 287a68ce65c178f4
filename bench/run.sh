#!/usr/bin/env bash
# run.sh: benchmarks aotc's emitted code against OpenBLAS in one process.
# Usage: bench/run.sh [SIZES...]   (default 256 512 1024 2048); needs libopenblas-dev.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh build
out=build/bench
mkdir -p "$out"
build/aotc bench/kernels.tc --entry mm -o "$out/mm.c" ${AOTC_FLAGS:-}
blas=$(pkg-config --cflags --libs openblas)
cc -O3 -march=native -std=gnu11 -fopenmp -I"$out" -o "$out/gemm" bench/gemm.c "$out/mm.c" $blas -lm
for n in ${@:-256 512 1024 2048}; do
  for t in 1 2; do
    OMP_NUM_THREADS=$t "$out/gemm" "$n" "$t"
  done
done
