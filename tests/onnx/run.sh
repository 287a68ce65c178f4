#!/usr/bin/env bash
# run.sh: the ONNX conformance suite for scripts/test.sh. Runs every test of
# Debian's libonnx-testdata through compiled C (conformance.sh) and checks
# that each test on tests/onnx/passing.txt still passes. Ends with
#
#   N passed, N failed
#
# where passed counts the listed tests that passed and failed the listed tests
# that stopped passing. The overall passed / failed / unsupported counts come
# before it. Tests that pass but are not on the list are named so the list can
# grow (regenerate it with `conformance.sh -p tests/onnx/passing.txt`). The
# passing tests are also counted apart: computed at run time, and computed
# entirely at compile time (the whole model folded to constants).
#
#   AOTC=build/aotc tests/onnx/run.sh [-j N]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
jobs=2
[ "${1:-}" = -j ] && jobs=$2
DATA=${DATA:-/usr/share/libonnx-testdata/data}
if [ ! -d "$DATA/node" ]; then
  echo "onnx conformance: no test data at $DATA (install libonnx-testdata)"
  echo "0 passed, 0 failed, 1 skipped"
  exit 0
fi
list=$here/passing.txt
passes=$(mktemp)
trap 'rm -f "$passes" "$passes.compile-time"' EXIT
"$here/conformance.sh" -j "$jobs" -p "$passes" 2>&1
if [ $? -eq 2 ]; then
  echo "onnx conformance: conformance.sh could not run"
  echo "0 passed, 1 failed"
  exit 1
fi
listed_pass=$(comm -12 <(sort "$list") "$passes" | wc -l)
lost=$(comm -23 <(sort "$list") "$passes")
new=$(comm -13 <(sort "$list") "$passes")
folded=$(comm -12 <(sort "$list") "$passes.compile-time" | wc -l)
echo "listed tests passing: $((listed_pass - folded)) computed at run time, $folded entirely at compile time"
[ -n "$new" ] && echo "passing but not on passing.txt: $(echo $new)"
[ -n "$lost" ] && echo "no longer passing ($(echo "$lost" | wc -l)): $(echo $lost | cut -d' ' -f1-20)"
echo "$listed_pass passed, $(echo -n "$lost" | grep -c .) failed"
[ -z "$lost" ]
