#!/usr/bin/env bash
# shapes.sh: the matrix products of ResNet-18 and MobileNetV2 (bench/shapes.py
# makes one single-convolution model per shape) through aotc's emitted code,
# against aotc's sgemm 1024 and OpenBLAS's AVX-512 kernel on the same shape,
# all in one run, one thread, CPU time.
# Usage: bench/shapes.sh [NAMES...]   (default: every shape of bench/shapes.py)
#   OPT=-O2     the level the emitted code is built at
#   REPS=30     calls per model (median of the packed product's time, bench/kernel_times.py)
#   AOTC=PATH   another aotc (default build/aotc, rebuilt); OUT=DIR (default build/bench/shapes)
# Prints per shape: GFLOP/s of aotc's product, of OpenBLAS's sgemm on m x n x k,
# and aotc's as a fraction of aotc's sgemm 1024 in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
AOTC=${AOTC:-build/aotc}
[ "$AOTC" != build/aotc ] || scripts/build.sh build </dev/null >/dev/null
out=${OUT:-build/bench/shapes}
opt=${OPT:--O2}
mkdir -p "$out"
/usr/bin/python3 bench/shapes.py "$out"
if [ $# -gt 0 ]; then
  pat=$(printf '^%s \\|' "$@")
  grep "${pat%\\|}" "$out/shapes.txt" >"$out/sel.txt"
else
  cp "$out/shapes.txt" "$out/sel.txt"
fi
"$AOTC" bench/kernels.tc --entry mm --threads 1 -o "$out/mm.c"
cc $opt -march=native -std=gnu11 -I"$out" -Ibench -o "$out/blas" bench/shapes_blas.c "$out/mm.c" \
  $(pkg-config --cflags --libs openblas) -lm
while read -r name m n k nb; do
  "$AOTC" "$out/$name.onnx" -o "$out/$name.c" --threads 1 --name "$name"
  /usr/bin/python3 bench/kernel_times.py "$out/$name.c" "$name" "$out/${name}_kt.c"
  cc $opt -march=native -std=gnu11 -fopenmp -DKT_MAIN -DMODEL="$name" -I"$out" -o "$out/$name.kt" \
    bench/model_main.c "$out/${name}_kt.c" -lm
done <"$out/sel.txt"
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_THREAD_TIMEOUT=4 OMP_NUM_THREADS=1 "$out/blas" <"$out/sel.txt" >"$out/blas.txt"
ref=$(awk '$1 == "sgemm1024_aotc" {print $2}' "$out/blas.txt")
echo "load: $(cut -d' ' -f1-3 /proc/loadavg); $opt; sgemm 1024: aotc $ref GFLOP/s, OpenBLAS $(awk '$1 == "sgemm1024_openblas" {print $2 " (" $3 ")"}' "$out/blas.txt")"
printf '%-16s %5s %6s %5s %3s %9s %8s %9s %8s\n' shape m n k b aotc_ms aotc_GF OpenBLAS_GF /sgemm1024
while read -r name m n k nb; do
  ms=$(OMP_NUM_THREADS=1 "$out/$name.kt" "${REPS:-30}" | awk '/ packed / {s += $1} END {print s}')
  blas=$(awk -v n="$name" '$1 == n {print $2}' "$out/blas.txt")
  awk -v name="$name" -v m="$m" -v n="$n" -v k="$k" -v b="$nb" -v ms="$ms" -v blas="$blas" -v ref="$ref" 'BEGIN {
    gf = 2 * m * n * k * b / (ms * 1e-3) * 1e-9
    printf "%-16s %5d %6d %5d %3d %9.3f %8.1f %11.1f %8.2f\n", name, m, n, k, b, ms, gf, blas, gf / ref }'
done <"$out/sel.txt"
