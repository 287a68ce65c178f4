#!/usr/bin/env bash
# onnx_run.sh: the gradient of every operator the op library lowers, against
# finite differences (build/tests/onnx_grad_check, see its header): the ONNX
# backend node tests of Debian's libonnx-testdata that the interpreter
# passes (tests/onnx/passing.txt) are differentiated in double precision,
# and every test listed in onnx_passing.txt must still pass. The others fail
# for reasons of the test data, not of the gradients: inputs exactly at a
# kink or jump (floor, round, sign, relu-like ops at 0, thresholds), ties
# of min/max (aotc gives every tied point the adjoint; a finite difference
# splits it), points outside the domain (sqrt, pow, acosh: NaN or infinity)
# and uninitialised test data (pytorch-operator add tests). Ends with
# `N passed, N failed, N skipped`.
#
#   tests/grad/onnx_run.sh [BUILD_DIR]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$(dirname "${AOTC:-$root/build/aotc}")}
DATA=${DATA:-/usr/share/libonnx-testdata/data}
check=$build/tests/onnx_grad_check
[ -x "$check" ] || { echo "no $check"; echo "0 passed, 1 failed"; exit 1; }
if [ ! -d "$DATA/node" ]; then
  echo "no test data at $DATA (install libonnx-testdata)"
  echo "0 passed, 0 failed, $(wc -l <"$here/onnx_passing.txt") skipped"
  exit 0
fi
out=$("$check" -q $(sed "s|^|$DATA/|" "$here/onnx_passing.txt"))
echo "$out" | grep -v '^grad of onnx ops'
line=$(echo "$out" | tail -n 1)
echo "$line"
p=$(grep -oE '[0-9]+ passed' <<<"$line" | grep -oE '[0-9]+')
f=$(grep -oE '[0-9]+ failed' <<<"$line" | grep -oE '[0-9]+')
s=$(grep -oE '[0-9]+ skipped' <<<"$line" | grep -oE '[0-9]+')
echo "$p passed, $f failed, $s skipped"
[ "$f" -eq 0 ] && [ "$s" -eq 0 ]
