#!/usr/bin/env bash
# run.sh: copies turned into views by the memory plan (src/graph/views.c).
# Each fixture NAME.onnx (made by make_fixtures.py, outputs computed by
# numpy) is run by `aotc run` on NAME.input.npy and every output compared
# with NAME.<output>.npy by tests/e2e/npycmp.c; `aotc compile -v` must also
# report at least as many copies removed as the case expects (a DenseNet-like
# chain of concatenations loses every copy), the emitted C must build with
# -Wall -Wextra -Werror, and the same outputs must come with the views off
# (AOTC_VIEWS=0). dense_bn also checks that a batch normalisation with
# constant statistics and no convolution before it is a per-channel scale
# and shift (no square root left in the C) and runs in one loop with the
# ReLU after it. pools: global pools of temporaries of rank 4 and 5, each
# read through a [N, C, plane] view (src/graph/ops_nn.c).
#
#   AOTC=build/aotc tests/views/run.sh [NAME...]
#
# Ends with `N passed, N failed, N skipped`.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/lib.sh
. "$here/../lib.sh"
# NAME:copies at least removed (Concat bands, Split parts, Slices, Reshapes)
cases="dense_chain:14 shuffle:8 shared:2 strided:0 batch2:0 reshapes:5 dense_bn:9 pools:4"
names=${*:-$(for c in $cases; do echo "${c%%:*}"; done)}

suite_init views || exit 2

expected_removed() {
  for c in $cases; do [ "${c%%:*}" = "$1" ] && echo "${c##*:}"; done
}


check_removed() {
  local name=$1 out=$2 want got
  want=$(expected_removed "$name")
  "$AOTC" "$here/$name.onnx" -o "$out/$name.c" -v >"$out/compile.log" 2>&1 ||
    { echo "aotc compile failed: $(grep -m1 error "$out/compile.log")"; return 1; }
  ${CC:-cc} -std=c99 -Wall -Wextra -Werror -c "$out/$name.c" -o "$out/$name.o" 2>"$out/cc.log" ||
    { echo "the emitted C does not build warning-free: $(grep -m1 -E 'error|warning' "$out/cc.log")"; return 1; }
  got=$(sed -nE "s/.*: ([0-9]+) copies removed.*/\1/p" "$out/compile.log")
  got=${got:-0}
  [ "$got" -ge "${want:-0}" ] || { echo "$got copies removed, expected at least $want"; return 1; }
  echo "$got"
}

# dense_bn's C (from check_removed): no sqrtf, and each batch normalisation
# of a concatenation written in the loop body that its ReLU reads it in.
check_scale_shift() {
  local c=$1 bn fused
  ! grep -q "sqrtf(" "$c" || { echo "a batch normalisation still takes a square root per element"; return 1; }
  bn=$(grep -c "^ *batchnormalization[0-9]*\[.*\] = (concat" "$c")
  fused=$(grep -A1 "^ *batchnormalization[0-9]*\[.*\] = (concat" "$c" | grep -c "^ *relu[0-9]*\[.*aotc_max_float(batchnormalization")
  [ "$bn" -eq 3 ] && [ "$fused" -eq 3 ] || { echo "$fused of $bn batch normalisations share a loop with their ReLU (3 expected)"; return 1; }
}

run_and_compare() { # NAME OUTDIR [ENV...]
  local name=$1 out=$2 o why
  shift 2
  mkdir -p "$out"
  env "$@" "$AOTC" run "$here/$name.onnx" --input "input=$here/$name.input.npy" --output-dir "$out" \
    >"$out/run.log" 2>&1 || { echo "aotc run failed: $(grep -m1 error "$out/run.log")"; return 1; }
  for o in $(suite_outputs "$name"); do
    why=$("$work/npycmp" "$out/$o.npy" "$here/$name.$o.npy") || { echo "$o: $why"; return 1; }
  done
}

for name in $names; do
  if [ ! -f "$here/$name.onnx" ]; then
    suite_result "$name" 77 "no fixture"; continue
  fi
  out=$work/$name
  mkdir -p "$out"
  if ! removed=$(check_removed "$name" "$out"); then
    suite_result "$name" 1 "$removed"; continue
  fi
  if [ "$name" = dense_bn ] && ! why=$(check_scale_shift "$out/$name.c"); then
    suite_result "$name" 1 "$why"; continue
  fi
  if ! why=$(run_and_compare "$name" "$out/views") || ! why=$(run_and_compare "$name" "$out/plain" AOTC_VIEWS=0); then
    suite_result "$name" 1 "$why"; continue
  fi
  suite_result "$name ($removed copies removed)" 0
done
suite_end
