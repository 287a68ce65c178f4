# shellcheck shell=bash
# lib.sh: what the model benchmarks share (sourced by bench/models.sh and its
# wrappers): the peers' Python, the ONNX files, building and timing the code
# aotc emits, medians and ratios. Every time is "WALL_MS CPU_MS" per call.
#
# Models come from bench/bench_models.py (Debian's torch and torchvision)
# into $BENCH_OUT; NAME_bN is NAME at batch N. ONNX Runtime comes from PyPI
# into the git-ignored .venv, made when missing (or PY names a python with it).

BENCH_OUT=${BENCH_OUT:-build/bench/models}

bench_python() { # -> sets PY to a python with onnxruntime
  PY=${PY:-.venv/bin/python}
  if ! "$PY" -c "import onnxruntime" 2>/dev/null; then
    /usr/bin/python3 -m venv --system-site-packages .venv
    .venv/bin/pip install -q onnxruntime
    PY=.venv/bin/python
  fi
}

bench_onnx() { # MODEL: makes $BENCH_OUT/MODEL.onnx and its input when missing
  mkdir -p "$BENCH_OUT"
  [ -f "$BENCH_OUT/$1.onnx" ] && return 0
  if ! /usr/bin/python3 bench/bench_models.py "$BENCH_OUT" "$1" >"$BENCH_OUT/$1.export.log" 2>&1 ||
    [ ! -f "$BENCH_OUT/$1.onnx" ]; then
    echo "bench: exporting $1 failed; its log, $BENCH_OUT/$1.export.log, ends:" >&2
    tail -5 "$BENCH_OUT/$1.export.log" >&2
    return 1
  fi
}

# AOTC MODEL DIR THREADS CFLAGS [ENV...]: DIR/MODEL.bench, weights in the blob
# DIR/MODEL.weights (the C text stays small to compile; none for a model
# without weights); aotc's log in DIR/MODEL.log.
bench_build() {
  local aotc=$1 m=$2 d=$3 t=$4 cflags=$5
  shift 5
  mkdir -p "$d"
  local blob=-DBLOB
  rm -f "$d/$m.weights"
  rm -f "$d/$m.bench"
  env "$@" "$aotc" "$BENCH_OUT/$m.onnx" -o "$d/$m.c" --weights "$d/$m.weights" --threads "$t" -v 2>"$d/$m.log" >&2 ||
    { echo "bench: $aotc failed on $m; $d/$m.log ends:" >&2; tail -3 "$d/$m.log" >&2; return 1; }
  grep -q "_set_weights" "$d/$m.h" || blob=""
  # shellcheck disable=SC2086
  cc -std=gnu11 $cflags -fopenmp $blob -DMODEL="$m" -I"$d" -Ibench -o "$d/$m.bench" bench/model_main.c "$d/$m.c" -lm >&2 ||
    { echo "bench: building $d/$m.bench failed" >&2; return 1; }
}

# MODEL DIR THREADS REPS -> "wall cpu": wall time with libgomp's waiting as
# OMP_WAIT_POLICY says (its default: spin a while, then sleep), CPU time with
# passive waiting (a spinning worker's CPU time is not work).
bench_aotc() {
  local run="$2/$1.bench $4"
  [ ! -f "$2/$1.weights" ] || run+=" $2/$1.weights"
  # shellcheck disable=SC2086
  echo "$(OMP_NUM_THREADS=$3 $run) $(BENCH_CPU_TIME=1 OMP_WAIT_POLICY=passive OMP_NUM_THREADS=$3 $run)"
}

bench_peer() { # ort|torch MODEL THREADS REPS -> "wall cpu"
  if [ "$1" = ort ]; then
    "$PY" bench/peer_time.py ort "$BENCH_OUT/$2.onnx" "$4" "$3"
  else
    /usr/bin/python3 bench/peer_time.py torch "$BENCH_OUT/$2.onnx" "$4" "$3" 2>/dev/null
  fi
}

median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
load_avg() { cut -d' ' -f1-3 /proc/loadavg; }
