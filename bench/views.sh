#!/usr/bin/env bash
# views.sh: before/after of the views pass (src/graph/views.c) on the models
# heavy in Concat, Split, Reshape and channel shuffles: the code two aotc
# builds emit and ONNX Runtime, CPU time per inference (CLOCK_PROCESS_CPUTIME_ID
# for aotc, bench/ort_cpu.py for ONNX Runtime, spinning off: robust on a loaded machine),
# rounds alternating between the three, median of the rounds' medians.
# Prints a markdown table.
#
#   BASE_AOTC=/path/to/old/aotc bench/views.sh [MODEL...]
#       (AOTC=build/aotc THREADS=1 REPS=20 ROUNDS=3 CFLAGS='-O2 -march=native')
#
# Models come from bench/bench_models.py (Debian's torch and torchvision) into
# build/bench/models; ONNX Runtime from the git-ignored .venv (or ORT_PYTHON).
set -euo pipefail
cd "$(dirname "$0")/.."
AOTC=${AOTC:-build/aotc}
BASE_AOTC=${BASE_AOTC:?set BASE_AOTC to the aotc to compare with}
THREADS=${THREADS:-1}
REPS=${REPS:-20}
ROUNDS=${ROUNDS:-3}
CFLAGS=${CFLAGS:--O2 -march=native}
ORT_PYTHON=${ORT_PYTHON:-.venv/bin/python}
models=${*:-densenet121 googlenet shufflenet_v2_x1_0 efficientnet_b0 mobilenet_v3_small regnet_y_400mf}
out=build/bench/models
mkdir -p "$out"

# The weights go to a blob (--weights): the C file stays small to compile.
build() { # MODEL AOTC TAG
  local m=$1 d=$out/$3
  mkdir -p "$d"
  "$2" "$out/$m.onnx" -o "$d/$m.c" --weights "$d/$m.weights" --threads "$THREADS" -v 2>"$d/$m.log" >&2
  cc -std=gnu11 $CFLAGS -fopenmp -DBLOB -DMODEL="$m" -I"$d" -o "$d/$m.bench" bench/model_main.c "$d/$m.c" -lm >&2
}

aotc_ms() { # MODEL TAG
  BENCH_CPU_TIME=1 OMP_NUM_THREADS=$THREADS "$out/$2/$1.bench" "$REPS" "$out/$2/$1.weights"
}

ort_ms() {
  "$ORT_PYTHON" bench/ort_cpu.py "$out/$1.onnx" "$REPS" "$THREADS"
}

median() { tr ' ' '\n' | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

echo "| model | copies removed | aotc before (ms) | aotc after (ms) | ONNX Runtime (ms) | before / ORT | after / ORT | after / before |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for m in $models; do
  [ -f "$out/$m.onnx" ] || /usr/bin/python3 bench/bench_models.py "$out" "$m" >/dev/null 2>&1
  build "$m" "$BASE_AOTC" before
  build "$m" "$AOTC" after
  removed=$(sed -nE "s/.*: ([0-9]+) copies removed.*/\1/p" "$out/after/$m.log")
  b="" a="" o=""
  for r in $(seq "$ROUNDS"); do
    b="$b $(aotc_ms "$m" before)"
    a="$a $(aotc_ms "$m" after)"
    o="$o $(ort_ms "$m")"
  done
  b=$(echo $b | median) a=$(echo $a | median) o=$(echo $o | median)
  echo "| $m | ${removed:-0} | $b | $a | $o | $(echo "scale=2; $b / $o" | bc) | $(echo "scale=2; $a / $o" | bc) | $(echo "scale=2; $a / $b" | bc) |"
done
echo
echo "THREADS=$THREADS REPS=$REPS ROUNDS=$ROUNDS CFLAGS='$CFLAGS' $(cc --version | head -1); onnxruntime $("$ORT_PYTHON" -c 'import onnxruntime; print(onnxruntime.__version__)'); load average $(cut -d' ' -f1-3 /proc/loadavg)"
