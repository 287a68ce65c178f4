#!/usr/bin/env bash
# run.sh: fused epilogues (src/graph/epilogue.c, src/emit_c/emit_epilogue.c).
# Each fixture NAME.onnx (make_fixtures.py: torch 1.13 models, PyTorch's
# outputs) is compiled with `aotc compile -v`: the epilogue pass must report
# the expected number of statements rewritten in place, the C must build
# with -Wall -Wextra -Werror and hold the expected number of register-tile
# epilogues ("fused into the store of the tile"; none where the convolution's
# result has a second consumer); with AOTC_EPILOGUE=0 it must hold none.
# Then `aotc run` (1 or 2 threads) with and without the epilogues, and the
# reference interpreter on the rewritten IR (--interpret), every output
# compared with PyTorch's by tests/e2e/npycmp.c; last, one fixture through
# the CPU simulator for CUDA.
#
#   AOTC=build/aotc tests/epilogue/run.sh [NAME...]
#
# Ends with `N passed, N failed, N skipped`.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"
suite_init epilogue || exit 2
# NAME:threads:statements rewritten:tile epilogues
cases="conv_relu:1:2:1 conv_bn_relu6:1:6:2 residual:1:11:5 residual:2:11:5 gemm_relu:1:4:2 gemm_relu:2:4:2
matmul_gelu:1:6:1 matmul_silu:1:5:2 second_consumer:1:1:0"


# NAME THREADS OUTDIR [ENV...]: compiled, built warning-free; prints
# "rewritten tiles".
compile() {
  local name=$1 threads=$2 out=$3 rewritten tiles
  shift 3
  mkdir -p "$out"
  env "$@" "$AOTC" "$here/$name.onnx" --threads "$threads" -o "$out/$name.c" -v >"$out/compile.log" 2>&1 ||
    { echo "aotc compile failed: $(grep -m1 error "$out/compile.log")"; return 1; }
  ${CC:-cc} -std=c99 -Wall -Wextra -Werror -fopenmp -c "$out/$name.c" -o "$out/$name.o" 2>"$out/cc.log" ||
    { echo "the emitted C does not build warning-free: $(grep -m1 -E 'error|warning' "$out/cc.log")"; return 1; }
  rewritten=$(sed -nE "s/.*: ([0-9]+) statements rewritten in place.*/\1/p" "$out/compile.log")
  tiles=$(grep -c "fused into the store of the tile" "$out/$name.c")
  echo "${rewritten:-0} $tiles"
}

run_and_compare() { # NAME THREADS OUTDIR [ENV [AOTC FLAGS...]]
  local name=$1 threads=$2 out=$3 envs=${4:-AOTC_EPILOGUE=1} o why
  shift 3
  [ $# -gt 0 ] && shift
  mkdir -p "$out"
  env OMP_NUM_THREADS="$threads" "$envs" "$AOTC" run "$here/$name.onnx" "$@" --threads "$threads" \
    --input "input=$here/$name.input.npy" --output-dir "$out" >"$out/run.log" 2>&1 ||
    { echo "aotc run failed: $(grep -m1 error "$out/run.log")"; return 1; }
  for o in $(suite_outputs "$name"); do
    why=$("$work/npycmp" "$out/$o.npy" "$here/$name.$o.npy") || { echo "$o: $why"; return 1; }
  done
}

check_case() { # NAME THREADS REWRITTEN TILES
  local name=$1 threads=$2 out=$work/$1-t$2 got
  got=$(compile "$name" "$threads" "$out/on") || { echo "$got"; return 1; }
  [ "$got" = "$3 $4" ] || { echo "rewritten, tile epilogues: got $got, expected $3 $4"; return 1; }
  got=$(compile "$name" "$threads" "$out/off" AOTC_EPILOGUE=0) || { echo "AOTC_EPILOGUE=0: $got"; return 1; }
  [ "$got" = "0 0" ] || { echo "AOTC_EPILOGUE=0: rewritten, tile epilogues: got $got, expected 0 0"; return 1; }
  run_and_compare "$name" "$threads" "$out/run-on" || return 1
  run_and_compare "$name" "$threads" "$out/run-interp" AOTC_EPILOGUE=1 --interpret | sed 's/^/--interpret: /'
  [ "${PIPESTATUS[0]}" -eq 0 ] || return 1
  run_and_compare "$name" "$threads" "$out/run-off" AOTC_EPILOGUE=0 | sed 's/^/AOTC_EPILOGUE=0: /'
  return "${PIPESTATUS[0]}"
}

for c in $cases; do
  IFS=: read -r name threads rewritten tiles <<<"$c"
  suite_selected "$name" "$@" || continue
  label="$name (--threads $threads; $rewritten statements in place, $tiles tile epilogues)"
  if [ ! -f "$here/$name.onnx" ]; then
    suite_result "$label" 77 "no fixture"
    continue
  fi
  why=$(check_case "$name" "$threads" "$rewritten" "$tiles")
  suite_result "$label" $? "$why"
done
# The GELU epilogue's full-row store loop (the tile's full width, a constant
# trip count) vectorised by gcc -O2 on x86-64, as gcc's own report says. gcc
# 12 once guessed that loop never taken, optimised it for size and left it
# scalar (5x the product's time). (The loop for partial tiles may keep a
# scalar remainder: it runs on the edges only.)
gelu_vectorised() {
  local line
  "$AOTC" "$here/matmul_gelu.onnx" -o "$work/gelu_vec.c" >/dev/null 2>&1 || { echo "aotc compile failed"; return 1; }
  ${CC:-cc} -std=c99 -O2 -fopenmp -fopt-info-vec-optimized -c "$work/gelu_vec.c" -o "$work/gelu_vec.o" \
    2>"$work/gelu_vec.info" || { echo "cc failed"; return 1; }
  line=$(grep -nE 'for \(int64_t aotc_ej = 0; aotc_ej < [0-9]+; aotc_ej\+\+\)' "$work/gelu_vec.c" | head -1 | cut -d: -f1)
  [ -n "$line" ] || { echo "no full-row store loop in the emitted C"; return 1; }
  grep -q "gelu_vec.c:$line:[0-9]*: optimized: loop vectorized" "$work/gelu_vec.info" ||
    { echo "the epilogue's full-row store loop (line $line) is not vectorised"; return 1; }
}
if suite_selected gelu_vectorised "$@"; then
  if [ "$(uname -m)" = x86_64 ] && ${CC:-cc} --version 2>/dev/null | grep -qiE 'gcc|free software'; then
    why=$(gelu_vectorised)
    suite_result "matmul_gelu: epilogue store loop vectorised (gcc -O2, x86-64)" $? "$why"
  else
    suite_result "matmul_gelu: epilogue store loop vectorised (gcc -O2, x86-64)" 77 "not gcc on x86-64"
  fi
fi
# CUDA: the chain rewritten in place (a point of a kernel run by two blocks
# would apply GELU twice: the grid mapping once did that when isl left a loop
# of one iteration out), through the CPU simulator for CUDA.
cuda_in_place() {
  "$AOTC" "$here/matmul_gelu.onnx" --target cuda -v -o "$work/matmul_gelu.cu" >"$work/cuda.log" 2>&1 &&
    grep -q "rewritten in place" "$work/cuda.log" || { echo "no statements rewritten in place for CUDA"; return 1; }
  run_and_compare matmul_gelu 1 "$work/cuda-sim" AOTC_EPILOGUE=1 --target cuda-sim 2>&1
}
if suite_selected cuda_sim "$@"; then
  if command -v "${CXX:-g++}" >/dev/null; then
    why=$(cuda_in_place)
    suite_result "matmul_gelu --target cuda-sim (in place)" $? "$why"
  else
    suite_result "matmul_gelu --target cuda-sim (in place)" 77 "no C++ compiler for the simulator"
  fi
fi
suite_end
