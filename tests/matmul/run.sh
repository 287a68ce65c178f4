#!/usr/bin/env bash
# Matrix products on rank-3 and rank-4 tensors (broadcast batch dimensions,
# transposed operands, Gemm with every transA/transB, attention's products,
# Linear on [batch, tokens, features]) at odd sizes, fixtures made by
# tests/matmul/make_fixtures.py. Each case:
#   - compiles without a warning and every product in the C is packed
#     (`packed ... register tiles`, no plain-loop fallback), or, for a case
#     whose line in cases.txt says 0 packed products, with the warning that
#     names the product left to plain loops;
#   - `aotc run` on 1 and 2 threads, and with --weights (packed weights in
#     the blob), against numpy's result (NAME.expected.npy);
#   - `aotc run --interpret` (the reference interpreter) against the same.
# The rows_shared_b cases (fewer columns than rows): with AOTC_SHARED_B=1
# and 4 threads, the panel of B is packed once, its panels shared out among
# the threads (`omp for` over the packing loop; not without the switch),
# and `aotc run` with the switch on 2, 3 and 4 threads matches numpy too.
# linear_streamed (weights beyond L2): B's panels are read columns outer,
# the next one prefetched, and `aotc run --backend llvm` matches numpy.
# swapped_across (18 columns, 92 rows): the operands trade places, C is
# stored across, and `aotc run --backend llvm` matches numpy too.
# The depth_split cases (few rows and columns for the depth): on 2 threads
# the threads split the depth and sum partial products (not with
# AOTC_DEPTH_SPLIT=0), and `aotc run` on 2, 3 and 4 threads matches numpy.
# And tc_dense_relu: the bundled example examples/mlp.tc (a product, its
# bias and ReLU in one TC def) compiles size-generic without a warning, its
# product packed, and its dense_relu matches numpy on 1 and 2 threads.
# Comparison: tests/e2e/npycmp.c (|got - want| <= 1e-4 (1 + |want|)).
#
#   AOTC=build/aotc tests/matmul/run.sh [CASE...]
set -u
here=$(cd "$(dirname "$0")" && pwd)
AOTC=${AOTC:-$here/../../build/aotc}
case $AOTC in /*) ;; *) AOTC=$PWD/$AOTC ;; esac
CC=${CC:-cc}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/aotc-matmul.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
"$CC" -std=c99 -O2 -o "$tmp/npycmp" "$here/../e2e/npycmp.c" -lm || exit 2
cases=${*:-$(awk '{ print $1 }' "$here/cases.txt")}
pass=0 fail=0

inputs_of() { # CASE: --input NAME=PATH for each input fixture
  local f n
  for f in "$here/$1".*.npy; do
    n=${f#"$here/$1".}
    n=${n%.npy}
    [ "$n" = expected ] || printf -- '--input %s=%s ' "$n" "$f"
  done
}

one_case() { # CASE LOG
  local c=$1 d=$tmp/$1 in
  in=$(inputs_of "$c")
  mkdir -p "$d"
  "$AOTC" "$here/$c.onnx" -o "$d/$c.c" 2>"$d/warn" || return 1
  local want got
  want=$(awk -v c="$c" '$1 == c { print $2 }' "$here/cases.txt")
  if [ "$want" = 0 ]; then
    grep -q "warning: .*matrix product writing 'y' runs as plain loops" "$d/warn" || { echo "no fallback warning"; return 1; }
  elif [ -s "$d/warn" ]; then
    echo "warnings:"; cat "$d/warn"; return 1
  fi
  got=$(grep -c 'packed .* register tiles' "$d/$c.c")
  [ "$got" = "$want" ] || { echo "$got packed products, $want MatMul/Gemm nodes"; return 1; }
  for run in "t1:--threads 1" "t2:--threads 2" "interp:--interpret"; do
    # shellcheck disable=SC2086
    "$AOTC" run "$here/$c.onnx" $in ${run#*:} --output-dir "$d/${run%%:*}" || { echo "run ${run%%:*} failed"; return 1; }
    "$tmp/npycmp" "$d/${run%%:*}/y.npy" "$here/$c.expected.npy" || { echo "${run%%:*} differs"; return 1; }
  done
}

shared_b_case() { # CASE: with AOTC_SHARED_B=1, B's panel packed once among the threads; 2 to 4 threads
  local c=$1 d=$tmp/$1 in t
  in=$(inputs_of "$c")
  AOTC_SHARED_B=1 "$AOTC" "$here/$c.onnx" --threads 4 -o "$d/t4.c" || return 1
  grep -A3 '#pragma omp for schedule(static)' "$d/t4.c" | grep -q 'float \*aotc_d = aotc_bp' ||
    { echo "B's panel is not packed once and shared among the threads"; return 1; }
  "$AOTC" "$here/$c.onnx" --threads 4 -o "$d/off.c" || return 1
  ! grep -q 'aotc_bs' "$d/off.c" || { echo "the shared panel without AOTC_SHARED_B=1"; return 1; }
  for t in 2 3 4; do
    # shellcheck disable=SC2086
    AOTC_SHARED_B=1 "$AOTC" run "$here/$c.onnx" $in --threads $t --output-dir "$d/s$t" || { echo "run s$t failed"; return 1; }
    "$tmp/npycmp" "$d/s$t/y.npy" "$here/$c.expected.npy" || { echo "shared, $t threads, differs"; return 1; }
  done
}

depth_split_case() { # CASE: the threads split the product's depth (2 to 4 threads), not with AOTC_DEPTH_SPLIT=0
  local c=$1 d=$tmp/$1 in t
  in=$(inputs_of "$c")
  "$AOTC" "$here/$c.onnx" --threads 2 -o "$d/t2.c" || return 1
  grep -q 'aotc_sk + (aotc_t - 1)' "$d/t2.c" || { echo "the threads do not split the depth"; return 1; }
  AOTC_DEPTH_SPLIT=0 "$AOTC" "$here/$c.onnx" --threads 2 -o "$d/off.c" || return 1
  ! grep -q 'aotc_sk' "$d/off.c" || { echo "the depth split with AOTC_DEPTH_SPLIT=0"; return 1; }
  for t in 2 3 4; do
    # shellcheck disable=SC2086
    "$AOTC" run "$here/$c.onnx" $in --threads $t --output-dir "$d/k$t" || { echo "run k$t failed"; return 1; }
    "$tmp/npycmp" "$d/k$t/y.npy" "$here/$c.expected.npy" || { echo "depth split, $t threads, differs"; return 1; }
  done
}

llvm_matches() { # CASE: `aotc run --backend llvm` against numpy's result
  local c=$1 in
  in=$(inputs_of "$c")
  # shellcheck disable=SC2086
  "$AOTC" run "$here/$c.onnx" $in --backend llvm --output-dir "$tmp/$c/llvm" || { echo "run --backend llvm failed"; return 1; }
  "$tmp/npycmp" "$tmp/$c/llvm/y.npy" "$here/$c.expected.npy" || { echo "--backend llvm differs"; return 1; }
}

streamed_case() { # CASE: B's panels read columns outer, the next one prefetched (weights beyond L2); LLVM's too
  grep -q '__builtin_prefetch(aotc_nx' "$tmp/$1/$1.c" || { echo "B is not read columns outer with the next panel prefetched"; return 1; }
  llvm_matches "$1"
}

swapped_case() { # CASE: C stored across (rs 1); LLVM's column-by-column store of its tiles too
  grep -q 'aotc_rs = (int64_t)1, aotc_cs' "$tmp/$1/$1.c" || { echo "the product's operands did not trade places"; return 1; }
  llvm_matches "$1"
}

tc_case() { # LOG: examples/mlp.tc's dense_relu
  local d=$tmp/tc_dense_relu ex=$here/../../examples/mlp.tc in=""
  mkdir -p "$d"
  "$AOTC" "$ex" -o "$d/mlp.c" 2>"$d/warn" || return 1
  [ ! -s "$d/warn" ] || { echo "warnings:"; cat "$d/warn"; return 1; }
  grep -q 'packed .* register tiles' "$d/mlp.c" || { echo "dense_relu's product is not packed"; return 1; }
  for n in X W bias; do in="$in --input $n=$here/tc_dense_relu.$n.npy"; done
  for run in "t1:--threads 1" "t2:--threads 2"; do
    # shellcheck disable=SC2086
    "$AOTC" run "$ex" --entry dense_relu $in ${run#*:} --output-dir "$d/${run%%:*}" || { echo "run ${run%%:*} failed"; return 1; }
    "$tmp/npycmp" "$d/${run%%:*}/Y.npy" "$here/tc_dense_relu.expected.npy" || { echo "${run%%:*} differs"; return 1; }
  done
}

if [ -z "$*" ] || [[ " $* " == *" tc_dense_relu "* ]]; then
  if tc_case >"$tmp/tc.log" 2>&1; then
    echo "PASS tc_dense_relu"; pass=$((pass + 1))
  else
    echo "FAIL tc_dense_relu"; sed 's/^/  /' "$tmp/tc.log" | head -20; fail=$((fail + 1))
  fi
fi
cases=${cases//tc_dense_relu/}

for c in $cases; do
  if one_case "$c" >"$tmp/$c.log" 2>&1 && { [[ $c != rows_shared_b* ]] || shared_b_case "$c" >>"$tmp/$c.log" 2>&1; } &&
    { [[ $c != linear_streamed ]] || streamed_case "$c" >>"$tmp/$c.log" 2>&1; } &&
    { [[ $c != swapped_across ]] || swapped_case "$c" >>"$tmp/$c.log" 2>&1; } &&
    { [[ $c != depth_split* ]] || depth_split_case "$c" >>"$tmp/$c.log" 2>&1; }; then
    echo "PASS $c"; pass=$((pass + 1))
  else
    echo "FAIL $c"; sed 's/^/  /' "$tmp/$c.log" | head -20; fail=$((fail + 1))
  fi
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
