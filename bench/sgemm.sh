#!/usr/bin/env bash
# sgemm.sh: sgemm of aotc's emitted mm under a given schedule against OpenBLAS.
#   bench/sgemm.sh BUILDDIR "SCHEDULE" THREADS [SIZES...]
# SCHEDULE as sched_options_print writes it, or heuristic[:T]. OPT=-O2 builds
# the emitted code at another level (default -O3); CLOCK=cpu times CPU time.
# OpenBLAS runs its own kernel for this CPU (the process runs without
# OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE; gemm.c prints the kernel's name;
# OPENBLAS_KERNEL=Cooperlake names one where OpenBLAS misreads the CPU, bench/run.sh).
# OPENBLAS_THREAD_TIMEOUT=4: OpenBLAS's idle threads stop spinning at once
# (by default they spin some 2^28 cycles after every call and after
# openblas_set_num_threads, which on 2 cores took one core from aotc's
# OpenMP team: 137 against 390-425 GFLOP/s at 2 threads, bench/RESULTS.md).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --bench >&2
b=$1 sched=$2 t=$3
shift 3
out=$b/bench/s$$
mkdir -p "$out"
"$b/bench/emit_sched" bench/kernels.tc mm "$out/mm.c" "$sched"
cc ${OPT:--O3} -march=native -std=gnu11 -fopenmp -I"$out" -o "$out/gemm" bench/gemm.c "$out/mm.c" $(pkg-config --cflags --libs openblas) -lm
for n in ${@:-1024}; do
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE ${OPENBLAS_KERNEL:+OPENBLAS_CORETYPE=$OPENBLAS_KERNEL} OPENBLAS_THREAD_TIMEOUT=4 OMP_NUM_THREADS=$t "$out/gemm" "$n" "$t" ${REPS:-7}
done
rm -rf "$out"
