#!/usr/bin/env bash
# run.sh: benchmarks aotc's emitted sgemm against OpenBLAS in one process.
# Usage: bench/run.sh [SIZES...]   (default 256 512 1024 2048); libopenblas-dev comes from `scripts/setup.sh --bench`.
#   OPTS="-O2 -O3"   the emitted code is built at each level (speed must not depend on it)
#   THREADS="1 2"    ROUNDS=3: rounds alternating the builds; a summary of the median ratios
#   CLOCK=cpu        time in CPU time (bench/gemm.c), steadier on a loaded machine
#   AOTC=PATH        another aotc (an older build, for before/after), default build/aotc
#   OUT=DIR          where the builds go (default build/bench)
# OpenBLAS runs its own kernel for this CPU: the benchmark process runs without
# OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE (a machine that pins them to Haswell
# would compare against the AVX2 kernel); gemm.c prints the kernel's name.
#   OPENBLAS_KERNEL=Cooperlake  names the kernel instead, where OpenBLAS does
#                    not recognise the CPU (a VM's "Intel Xeon Processor" gets
#                    the SSE3 Prescott kernel at a fifth of the AVX-512 one's speed)
set -euo pipefail
cd "$(dirname "$0")/.."
AOTC=${AOTC:-build/aotc}
scripts/setup.sh --bench >&2
[ "$AOTC" != build/aotc ] || scripts/build.sh build </dev/null
out=${OUT:-build/bench}
mkdir -p "$out"
blas=$(pkg-config --cflags --libs openblas)
opts=${OPTS:--O2 -O3}
threads=${THREADS:-1 2}
# One build per thread count: the code is scheduled for the threads it runs on.
for t in $threads; do
  mkdir -p "$out/t$t"
  "$AOTC" bench/kernels.tc --entry mm --threads "$t" -o "$out/t$t/mm.c" ${AOTC_FLAGS:-}
  for o in $opts; do
    cc "$o" -march=native -std=gnu11 -fopenmp -I"$out/t$t" -o "$out/t$t/gemm$o" bench/gemm.c "$out/t$t/mm.c" $blas -lm
  done
done
log=$out/run.log
: >"$log"
for r in $(seq "${ROUNDS:-3}"); do
  for n in ${@:-256 512 1024 2048}; do
    for t in $threads; do
      for o in $opts; do
        echo -n "$o round $r: " | tee -a "$log"
        env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE ${OPENBLAS_KERNEL:+OPENBLAS_CORETYPE=$OPENBLAS_KERNEL} OPENBLAS_THREAD_TIMEOUT=4 OMP_NUM_THREADS="$t" "$out/t$t/gemm$o" "$n" "$t" ${REPS:-7} | tee -a "$log"
      done
    done
  done
done
echo "median over rounds of each run's median pairwise ratio (aotc / OpenBLAS):"
sed -E 's/^(-O[0-9s]+) round [0-9]+: sgemm n=([0-9]+) threads=([0-9]+):.*median pairwise ratio ([0-9.]+).*/\2 \3 \1 \4/' "$log" |
  sort -k1,1n -k2,2n -k3,3 -k4,4n |
  awk '{k = $1 " " $2 " " $3; v[k] = v[k] " " $4; c[k]++}
       END {for (k in v) {split(substr(v[k], 2), a, " "); split(k, f, " ");
            printf "sgemm n=%s threads=%s %s: ratio %s (%d rounds:%s)\n", f[1], f[2], f[3], a[int((c[k] + 1) / 2)], c[k], v[k]}}' |
  sort -t= -k2,2n -k3,3n
