#!/usr/bin/env bash
# run.sh: benchmarks aotc's emitted code against OpenBLAS in one process.
# Usage: bench/run.sh [SIZES...]   (default 256 512 1024 2048); needs libopenblas-dev.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh build
out=build/bench
mkdir -p "$out"
blas=$(pkg-config --cflags --libs openblas)
# One build per thread count: the code is scheduled for the threads it runs on.
for t in 1 2; do
  mkdir -p "$out/t$t"
  build/aotc bench/kernels.tc --entry mm --threads "$t" -o "$out/t$t/mm.c" ${AOTC_FLAGS:-}
  cc -O3 -march=native -std=gnu11 -fopenmp -I"$out/t$t" -o "$out/t$t/gemm" bench/gemm.c "$out/t$t/mm.c" $blas -lm
done
for n in ${@:-256 512 1024 2048}; do
  for t in 1 2; do
    OMP_NUM_THREADS=$t "$out/t$t/gemm" "$n" "$t"
  done
done
