#!/usr/bin/env bash
# run.sh: row kernels (softmax, log-softmax, layer normalisation; src/schedule/
# rows.c). Each fixture NAME.onnx (made by make_fixtures.py with torch 1.13)
# is run by `aotc run --threads 2` on NAME.input.npy and compared with
# PyTorch's NAME.output.npy by tests/e2e/npycmp.c (|got - expected| <= 1e-4 *
# (1 + |expected|)). Every fixture but the rows of one element must also take
# the row path: `--dump=schedule` shows the row kernel's marks
# (aotc_red_rows: a reduction along the row). Rows of 128 and more
# (softmax_last_1000, layernorm_offset) reduce into 32 lanes on vector CPUs
# (x86-64-v3: `aotc_l[32]`, gcc vectorises the lanes' loop at -O2 -fopenmp,
# and the lanes' pass prefetches x 8 KB ahead: the next rows) and not on
# --cpu cortex-m4 (no vectors: plain loops, no prefetch). softmax_last_1000's
# exp and sum share one loop (aotc_map_red_rows), whose AVX-512 form calls the
# 16-lane exp; it builds with -Werror with and without -DAOTC_NO_VECTORS.
#
#   AOTC=build/aotc tests/rows/run.sh [NAME...]
#
# Ends with `N passed, N failed, N skipped`.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
AOTC=${AOTC:-$root/build/aotc}
[ -x "$AOTC" ] || { echo "rows: no aotc at $AOTC (set AOTC)"; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/aotc-rows.XXXXXX")
trap 'rm -rf "$work"' EXIT
${CC:-cc} -O2 -o "$work/npycmp" "$root/tests/e2e/npycmp.c" -lm || exit 2

if [ $# -gt 0 ]; then names="$*"; else names=$(cd "$here" && ls *.onnx | sed 's/\.onnx$//'); fi

# Whether NAME's kernel should be a row kernel (a row of one element is not).
wants_rows() {
  case $1 in softmax_last_1 | logsoftmax_axis0) return 1 ;; *) return 0 ;; esac
}

check_one() {
  local name=$1 out=$work/$1
  mkdir -p "$out"
  if wants_rows "$name"; then
    "$AOTC" "$here/$name.onnx" -o "$out/$name.c" --threads 2 --dump=schedule >"$out/sched.txt" 2>&1 ||
      { echo "compile failed: $(grep -m1 error "$out/sched.txt")"; return 1; }
    grep -q "aotc_red_rows\|aotc_simd_rows" "$out/sched.txt" || { echo "not a row kernel (no row marks)"; return 1; }
  fi
  case $name in softmax_last_1000 | layernorm_offset)
    "$AOTC" "$here/$name.onnx" -o "$out/v3.c" --cpu x86-64-v3 && "$AOTC" "$here/$name.onnx" -o "$out/m4.c" --cpu cortex-m4 ||
      { echo "compile failed (--cpu x86-64-v3 / cortex-m4)"; return 1; }
    grep -q "aotc_l\[32\]" "$out/v3.c" || { echo "x86-64-v3: the row's reductions are not in 32 lanes"; return 1; }
    ${CC:-cc} -std=gnu11 -O2 -fopenmp -march=x86-64-v3 -fopt-info-vec-optimized -c -o "$out/v3.o" "$out/v3.c" \
      >"$out/vec.txt" 2>&1 || { echo "x86-64-v3: cc failed"; return 1; }
    local l
    for l in $(grep -n "for (int aotc_k = 0; aotc_k < 32; aotc_k += 1) {" "$out/v3.c" | cut -d: -f1); do
      grep -q "v3.c:$((l + 1)):[0-9]*: optimized: loop vectorized" "$out/vec.txt" ||
        { echo "x86-64-v3: gcc did not vectorise the lanes' loop at line $l"; return 1; }
    done
    ! grep -q "aotc_l\[" "$out/m4.c" || { echo "--cpu cortex-m4: lanes printed"; return 1; }
    grep -q "__builtin_prefetch((const char \*)&x\[.* + 8192);" "$out/v3.c" ||
      { echo "x86-64-v3: the lanes' pass does not prefetch x 8 KB ahead"; return 1; }
    ! grep -q "__builtin_prefetch" "$out/m4.c" || { echo "--cpu cortex-m4: prefetches printed"; return 1; } ;;
  esac
  if [ "$name" = softmax_last_1000 ]; then # exp and sum in one loop; its AVX-512 form and the portable one build clean
    grep -q "aotc_map_red_rows" "$out/sched.txt" || { echo "exp and sum not in one loop (no aotc_map_red_rows)"; return 1; }
    grep -q "aotc_expf_neg16(" "$out/v3.c" || { echo "no 16-lane exp in the fused loop"; return 1; }
    local d
    for d in -DAOTC_VECTORS_ON -DAOTC_NO_VECTORS; do
      ${CC:-cc} -std=c99 -O2 -Wall -Wextra -Werror -march=x86-64-v4 "$d" -c -o "$out/v4.o" "$out/v3.c" ||
        { echo "-march=x86-64-v4 $d: warnings or errors"; return 1; }
    done
  fi
  if [ "$name" = attention ]; then
    "$AOTC" "$here/$name.onnx" -o "$out/$name.c" -v >"$out/compile.log" 2>&1 && grep -q "4 kernels" "$out/compile.log" ||
      { echo "the scale and mask did not join the softmax (not 4 kernels: x^T, two products, one row kernel)"; return 1; }
  fi
  "$AOTC" run "$here/$name.onnx" --threads 2 --input "x=$here/$name.input.npy" --output-dir "$out" \
    >"$out/run.log" 2>&1 || { echo "aotc run failed: $(grep -m1 error "$out/run.log")"; return 1; }
  "$work/npycmp" "$out/y.npy" "$here/$name.output.npy"
}

passed=0 failed=0 skipped=0
for name in $names; do
  if [ ! -f "$here/$name.onnx" ]; then
    echo "SKIP $name (no fixture)"; skipped=$((skipped + 1)); continue
  fi
  if msg=$(check_one "$name" 2>&1); then
    passed=$((passed + 1))
  else
    echo "FAIL $name: $msg"; failed=$((failed + 1))
  fi
done
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
