#!/usr/bin/env bash
# before_after.sh: the code two aotc builds emit, timed back to back in one
# run (these machines are noisy: rounds alternate between the two): sgemm
# 1024 (bench/kernels.tc, 1 and 2 threads, GFLOP/s) and batch-1 latency of
# the model fixtures (ms, 2 threads). Prints a markdown table with both
# columns and NEW/OLD.
#
#   bench/before_after.sh OLD_AOTC NEW_AOTC [ROUNDS]     (CFLAGS='-O3 -march=native')
#
# The models are made by tests/models/make_fixtures.py (Debian's torch).
set -euo pipefail
cd "$(dirname "$0")/.."
old=$1 new=$2 rounds=${3:-3}
CFLAGS=${CFLAGS:--O3 -march=native}
out=${OUT:-build/bench/before_after}
models="resnet18 mobilenet_v2 transformer mlp"
mkdir -p "$out/models"

build_mm() { # TAG AOTC THREADS
  local d=$out/$1/mm$3
  mkdir -p "$d"
  "$2" bench/kernels.tc --entry mm --threads "$3" -o "$d/mm.c"
  cc -std=gnu11 $CFLAGS -fopenmp -Ibench -I"$d" -o "$d/bench" bench/mm_main.c "$d/mm.c" -lm
}

build_model() { # TAG AOTC MODEL
  local d=$out/$1/$3 src=$out/models
  [ -f "$src/$3.onnx" ] || [ -f "tests/models/$3.onnx" ] || /usr/bin/python3 tests/models/make_fixtures.py "$src" "$3" >/dev/null 2>&1
  [ -f "$src/$3.onnx" ] || cp "tests/models/$3.onnx" "$src/$3.onnx"
  mkdir -p "$d"
  "$2" "$src/$3.onnx" -o "$d/$3.c" --threads 2
  cc -std=gnu11 $CFLAGS -fopenmp -DMODEL="$3" -Ibench -I"$d" -o "$d/bench" bench/model_main.c "$d/$3.c" -lm
}

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

for tag in old new; do
  a=$old; [ $tag = new ] && a=$new
  for t in 1 2; do build_mm $tag "$a" $t; done
  for m in $models; do build_model $tag "$a" "$m"; done
done

echo "| case | before | after | after / before |"
echo "| --- | ---: | ---: | ---: |"
row() { # LABEL CMD-SUFFIX ENV
  local label=$1 rel=$2 env=$3 o n
  : >"$out/o.txt"; : >"$out/n.txt"
  for ((r = 0; r < rounds; r++)); do
    env $env $out/old/$rel >>"$out/o.txt"
    env $env $out/new/$rel >>"$out/n.txt"
  done
  o=$(median <"$out/o.txt"); n=$(median <"$out/n.txt")
  echo "| $label | $o | $n | $(echo "scale=3; $n / $o" | bc) |"
}
row "sgemm 1024, 1 thread (GFLOP/s)" "mm1/bench 1024 9" "OMP_NUM_THREADS=1"
row "sgemm 1024, 2 threads (GFLOP/s)" "mm2/bench 1024 9" "OMP_NUM_THREADS=2"
for m in $models; do
  row "$m, batch 1, 2 threads (ms)" "$m/bench 30" "OMP_NUM_THREADS=2"
done
echo
echo "CFLAGS='$CFLAGS' rounds=$rounds $(cc --version | head -1)"
