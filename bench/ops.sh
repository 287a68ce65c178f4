#!/usr/bin/env bash
# ops.sh: builds bench/ops.c with every kernel of bench/kernels.tc emitted
# under SCHEDULE (sched_options_print's text, or heuristic[:T]), then runs
# `ops ARGS...` (see ops.c):
#   bench/ops.sh BUILDDIR "SCHEDULE" ARGS...
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --bench >&2
b=$1 sched=$2
shift 2
out=$b/bench/o$$
mkdir -p "$out"
for e in bmm conv3x3 conv3x3s2 softmax layernorm; do
  "$b/bench/emit_sched" bench/kernels.tc "$e" "$out/$e.c" "$sched"
done
cc -O3 -march=native -std=gnu11 -fopenmp -I"$out" -o "$out/ops" bench/ops.c "$out"/{bmm,conv3x3,conv3x3s2,softmax,layernorm}.c \
  $(pkg-config --cflags --libs openblas) -lm
OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} "$out/ops" "$@"
rm -rf "$out"
