#!/usr/bin/env bash
# run.sh: compile time grows near-linearly with the model. Generates (with
# build/tests/onnxgen, no Python) elementwise chains of 2,500, 5,000 and
# 10,000 nodes and ResNet-like graphs (3x3 convolutions, residual adds) of
# 1,250, 2,500 and 5,000 nodes, compiles each (the best of three runs, CPU
# time), prints the times and the ratio between successive sizes, and fails
# when a doubling costs more than 3x (linear: 2x; quadratic: 4x). Absolute
# times are printed, not checked. Ends with `N passed, N failed`.
#
#   AOTC=build/aotc tests/scale/run.sh
set -u
: "${AOTC:?set AOTC to the path of the aotc binary}"
case $AOTC in /*) ;; *) AOTC=$PWD/$AOTC ;; esac
GEN=${ONNXGEN:-$(dirname "$AOTC")/tests/onnxgen}
max_ratio=${SCALE_MAX_RATIO:-3.0}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
passed=0 failed=0

# CPU seconds (user + system, from getrusage: millisecond resolution) of
# compiling $1, the best of three runs.
compile_time() {
  local best="" t TIMEFORMAT='%3U %3S'
  for _ in 1 2 3; do
    if ! { time "$AOTC" "$1" -o "$tmp/out.c" >/dev/null 2>"$tmp/err"; } 2>"$tmp/time"; then
      echo "error"
      return
    fi
    t=$(awk '{printf "%.3f", $1 + $2}' "$tmp/time")
    best=$(awk -v a="$best" -v b="$t" 'BEGIN { print (a == "" || b < a) ? b : a }')
  done
  echo "$best"
}

# series KIND SIZE...: compiles each size, checks the ratio of each doubling.
series() {
  local kind=$1 prev="" prev_n="" n t ratio
  shift
  for n in "$@"; do
    "$GEN" "$kind" "$n" "$tmp/$kind$n.onnx" || { echo "FAIL onnxgen $kind $n"; failed=$((failed + 1)); return; }
    t=$(compile_time "$tmp/$kind$n.onnx")
    if [ "$t" = error ]; then
      echo "FAIL $kind $n: $(head -n 2 "$tmp/err")"
      failed=$((failed + 1))
      return
    fi
    if [ -z "$prev" ]; then
      printf '     %-7s %6d nodes: %6.3f s\n' "$kind" "$n" "$t"
    else
      ratio=$(awk -v a="$prev" -v b="$t" 'BEGIN { printf "%.2f", (a < 0.02 ? b / 0.02 : b / a) }')
      if awk -v r="$ratio" -v m="$max_ratio" 'BEGIN { exit !(r <= m) }'; then
        printf 'PASS %-7s %6d nodes: %6.3f s, %sx the time of %d nodes\n' "$kind" "$n" "$t" "$ratio" "$prev_n"
        passed=$((passed + 1))
      else
        printf 'FAIL %-7s %6d nodes: %6.3f s, %sx the time of %d nodes (more than %s)\n' "$kind" "$n" "$t" \
          "$ratio" "$prev_n" "$max_ratio"
        failed=$((failed + 1))
      fi
    fi
    prev=$t prev_n=$n
  done
}

[ -x "$GEN" ] || { echo "onnxgen not built at $GEN"; echo "0 passed, 1 failed"; exit 1; }
series chain 2500 5000 10000
series resnet 1250 2500 5000
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
