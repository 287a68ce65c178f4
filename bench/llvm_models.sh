#!/usr/bin/env bash
# llvm_models.sh: the LLVM backend's objects against the C path on whole
# models, side by side (docs/llvm.md). For each model NAME in MODELS (ONNX
# files made by bench/bench_models.py or tests/models/make_fixtures.py):
# `aotc NAME.onnx --threads T -o` built with `cc -O2 -march=native -fopenmp`
# (at every thread count, as README.md asks: gcc reads the omp simd pragmas
# only under it), and `aotc NAME.onnx --threads T --emit obj` linked alike,
# each with bench/model_main.c; the two run in turns in
# every round, REPS timed calls each (the median); the table holds the median
# of ROUNDS rounds and LLVM / C (below 1: LLVM faster).
#
#   MODELS=/tmp/models bench/llvm_models.sh resnet18 mobilenet_v2 ...
#   (AOTC=build/aotc MODELS=build/models THREADS="1 2" ROUNDS=3 REPS=20)
set -euo pipefail
cd "$(dirname "$0")/.."
AOTC=${AOTC:-build/aotc}
MODELS=${MODELS:-build/models} THREADS=${THREADS:-1 2} ROUNDS=${ROUNDS:-3} REPS=${REPS:-20}
out=build/bench/llvm_models
mkdir -p "$out"
[ $# -gt 0 ] || { echo "usage: MODELS=DIR $0 NAME..." >&2; exit 2; }
echo "load: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores, $(date -u +%FT%TZ)"
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo
echo "| model | threads | C, cc -O2 (ms) | LLVM object (ms) | LLVM / C |"
echo "| --- | ---: | ---: | ---: | ---: |"
for name in "$@"; do
  if [ ! -f "$MODELS/$name.onnx" ]; then
    echo "| $name | | skipped: no $MODELS/$name.onnx | | |"
    continue
  fi
  for t in $THREADS; do
    d=$out/$name.t$t
    mkdir -p "$d/c" "$d/l"
    "$AOTC" "$MODELS/$name.onnx" --threads "$t" -o "$d/c/$name.c" 2>/dev/null
    "$AOTC" "$MODELS/$name.onnx" --threads "$t" --emit obj -o "$d/l/$name.o" 2>/dev/null
    for v in c l; do
      src=$d/$v/$name.c
      [ "$v" = c ] || src=$d/$v/$name.o
      cc -std=gnu11 -O2 -march=native -fopenmp -DMODEL="$name" -I"$d/$v" -Ibench -o "$d/run_$v" \
        bench/model_main.c "$src" -lm
      : >"$d/$v.txt"
    done
    for ((r = 0; r < ROUNDS; r++)); do
      "$d/run_c" "$REPS" >>"$d/c.txt"
      "$d/run_l" "$REPS" >>"$d/l.txt"
    done
    c=$(median <"$d/c.txt") l=$(median <"$d/l.txt")
    awk -v n="$name" -v t="$t" -v c="$c" -v l="$l" 'BEGIN { printf "| %s | %d | %.3f | %.3f | %.2f |\n", n, t, c, l, l / c }'
  done
done
