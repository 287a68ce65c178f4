#!/usr/bin/env bash
# dynamic.sh: what size-generic code costs. The CNN and the transformer block
# of tests/models/dynamic compiled for fixed shapes (--shape with numbers) and
# as one size-generic object, timed back to back at the fixed-shape sizes and at
# larger ones (ms, 1 thread, median of REPS calls); and compiled once with
# --size-hint for the smallest sizes (a fast path compiled for them, the
# generic code for the others).
#
#   bench/dynamic.sh          (AOTC=build/aotc REPS=30 CFLAGS='-O2 -march=native')
set -euo pipefail
cd "$(dirname "$0")/.."
AOTC=${AOTC:-build/aotc}
REPS=${REPS:-30}
CFLAGS=${CFLAGS:--O2 -march=native}
out=build/bench/dynamic
mkdir -p "$out"
build() { # NAME ONNX [aotc flags]
  local name=$1 model=$2
  shift 2
  "$AOTC" "$model" --name "$name" -o "$out/$name.c" "$@"
  cc -std=gnu11 $CFLAGS -DMODEL="$name" -Ibench -I"$out" -o "$out/$name" bench/dyn_main.c "$out/$name.c" -lm
}
d=tests/models/dynamic
build cnn_fixed $d/cnn_dyn.onnx --shape input=1,3,32,32
build cnn_generic $d/cnn_dyn.onnx
build cnn_fixed8 $d/cnn_dyn.onnx --shape input=8,3,32,32
build tr_fixed $d/transformer_dyn.onnx --shape input=1,16,64
build tr_generic $d/transformer_dyn.onnx
build tr_fixed8 $d/transformer_dyn.onnx --shape input=8,64,64
build cnn_hint $d/cnn_dyn.onnx --size-hint N=1
build tr_hint $d/transformer_dyn.onnx --size-hint B=1,T=16
echo "| model and sizes | fixed-shape code (ms) | size-generic code (ms) | generic / fixed | generic with --size-hint (ms) | hinted / fixed |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
row() { # LABEL FIXED GENERIC HINTED SIZES...
  local label=$1 f=$2 g=$3 h=$4 a b c
  shift 4
  a=$("$out/$f" "$REPS")
  b=$("$out/$g" "$REPS" "$@")
  c=$("$out/$h" "$REPS" "$@")
  echo "| $label | $a | $b | $(echo "scale=2; $b / $a" | bc) | $c | $(echo "scale=2; $c / $a" | bc) |"
}
row "CNN, N=1 (hinted)" cnn_fixed cnn_generic cnn_hint 1
row "CNN, N=8" cnn_fixed8 cnn_generic cnn_hint 8
row "transformer block, B=1 T=16 (hinted)" tr_fixed tr_generic tr_hint 1 16
row "transformer block, B=8 T=64" tr_fixed8 tr_generic tr_hint 8 64
echo
echo "CFLAGS='$CFLAGS' REPS=$REPS $(cc --version | head -1)"
