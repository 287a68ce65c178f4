#!/usr/bin/env bash
# run.sh: window kernels (pooling, depthwise convolution, squeeze-and-
# excitation, a classifier's matrix-vector product) through compiled C,
# against PyTorch's outputs (made by make_fixtures.py, committed here). For
# each case of cases.txt, `aotc run` on NAME.input.npy is compared with
# NAME.output.npy by tests/e2e/npycmp.c (|got - expected| <= 1e-4 * (1 +
# |expected|)), and the emitted C must show the path the case is for:
#   pool       one statement per window tap over the outputs it reaches: no
#              reduction loop over the window (`reduction(`), no padded copy
#              (`_padded`), no padding condition (`>= 0 &&`) in the window's
#              statements (torch writes count_include_pad as a Pad node before
#              the pool: that copy has its own), vectorised loops (`omp simd`)
#   depthwise  the same for the convolution's taps, with its batch
#              normalisation and activation in the same kernel (one loop nest)
#   se         the pooled vector, the two small products and the gate stay
#              off the packed path (no `aotc_ukr_`), no padded copy
#   matvec     the classifier's product streams the weights (no `aotc_ukr_`)
# Every case again on two threads, and the pooling and depthwise cases
# through `--backend llvm` (skipped when aotc was built without LLVM) and
# `--target cuda-sim` (the emitted CUDA on the CPU simulator).
#
#   AOTC=build/aotc tests/pooldw/run.sh [NAME...]
#
# Ends with `N passed, N failed, N skipped`.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/lib.sh
. "$here/../lib.sh"
suite_init pooldw || exit 2

# run NAME TAG THREADS [OPTIONS...]: compiled, run and compared with PyTorch's output.
run() {
  local name=$1 tag=$2 threads=$3 out=$work/$2/out-$1
  shift 3
  mkdir -p "$work/$tag"
  "$AOTC" run "$here/$name.onnx" --threads "$threads" "$@" --input "input=$here/$name.input.npy" --output-dir "$out" \
    >"$out.log" 2>&1 || { echo "aotc run failed: $(grep -m1 error "$out.log")"; return 1; }
  "$work/npycmp" "$out/output.npy" "$here/$name.output.npy"
}

# absent FILE PATTERN...: none of the patterns in FILE.
absent() {
  local file=$1
  shift
  for p in "$@"; do
    ! grep -q -- "$p" "$file" || { echo "'$p' in the C"; return 1; }
  done
}

# path NAME PATH: the emitted C of NAME shows PATH (see the header).
path() {
  local c=$work/c/$1.c
  mkdir -p "$work/c"
  "$AOTC" "$here/$1.onnx" -o "$c" >"$work/c/$1.log" 2>&1 || { echo "compile failed: $(grep -m1 error "$work/c/$1.log")"; return 1; }
  case $2 in
  pool*) absent "$c" "reduction(" _padded || return 1
    grep -q "omp simd" "$c" || { echo "no omp simd"; return 1; } ;;
  depthwise*) absent "$c" "reduction(" _padded || return 1
    [ "$(grep -c "^  for (int64_t c0" "$c")" = 1 ] || { echo "not one loop nest"; return 1; } ;;
  esac
  case $2 in
  pool | depthwise) ! grep -E "^ *(output|_0_Conv_output_0)\[" "$c" | grep -q ">= 0 &&" ||
    { echo "a padding condition in the window's statements"; return 1; } ;;
  se) absent "$c" aotc_ukr_ _padded ;;
  matvec) absent "$c" aotc_ukr_ ;;
  esac
}

# other NAME TAG OPTIONS...: PASS, FAIL or SKIP (aotc built without LLVM).
other() {
  local name=$1 tag=$2
  shift 2
  why=$(run "$name" "$tag" 1 "$@")
  local st=$?
  if [ $st != 0 ] && grep -q "without LLVM" "$work/$tag/out-$name.log" 2>/dev/null; then
    suite_result "$name ($*)" 77 "aotc built without LLVM"
  else
    suite_result "$name ($*)" $st "$why"
  fi
}

# POOLDW_SAMPLE=N: the runs on two threads, LLVM and cuda-sim for every
# Nth case only (CI's shorter variant; every case's own path and output
# are always checked).
sample=${POOLDW_SAMPLE:-1} case_no=0
while read -r name kind; do
  suite_selected "$name" "$@" || continue
  why=$(path "$name" "$kind") && why=$(run "$name" t1 1)
  suite_result "$name ($kind)" $? "$why"
  case_no=$((case_no + 1))
  [ $(((case_no - 1) % sample)) = 0 ] || continue
  why=$(OMP_NUM_THREADS=2 run "$name" t2 2); suite_result "$name ($kind, --threads 2)" $? "$why"
  case $kind in pool* | depthwise*) ;; *) continue ;; esac
  other "$name" llvm --backend llvm
  other "$name" cudasim --target cuda-sim
done <"$here/cases.txt"
suite_end
