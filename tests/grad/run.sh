#!/usr/bin/env bash
# run.sh: gradients of TC defs through emitted C against PyTorch autograd.
# For each fixtures/<def>/ (made by make_fixtures.py with torch 1.13 and
# committed), `aotc run corpus.tc --grad <def> --entry <def>_grad` runs on
# the inputs and the output's adjoint d_Y, and every d_<input>.npy it writes
# is compared with expect_d_<input>.npy by tests/e2e/npycmp.c
# (|got - expected| <= 1e-4 * (1 + |expected|)). The emitted C of every
# gradient must also build with -std=c99 -Wall -Wextra -Werror.
#
#   AOTC=build/aotc tests/grad/run.sh [DEF...]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/lib.sh
. "$here/../lib.sh"
suite_init grad || exit 2

names=${*:-$(ls "$here/fixtures")}
passed=0 failed=0
check() {
  local def=$1 dir=$here/fixtures/$1 out=$work/$1 args=() f why=""
  mkdir -p "$out"
  "$AOTC" "$here/corpus.tc" --grad "$def" --entry "${def}_grad" -o "$out/g.c" 2>"$out/log" &&
    ${CC:-cc} -std=c99 -Wall -Wextra -Werror -c "$out/g.c" -o "$out/g.o" 2>>"$out/log" ||
    { echo "FAIL $def: emitted C: $(head -3 "$out/log")"; return 1; }
  for f in "$dir"/*.npy; do
    case $(basename "$f") in expect_*) ;; *) args+=(--input "$(basename "$f" .npy)=$f") ;; esac
  done
  "$AOTC" run "$here/corpus.tc" --grad "$def" --entry "${def}_grad" "${args[@]}" --output-dir "$out" 2>"$out/log" ||
    { echo "FAIL $def: aotc run: $(head -3 "$out/log")"; return 1; }
  for f in "$dir"/expect_*.npy; do
    local name=$(basename "$f" .npy)
    name=${name#expect_}
    why=$("$work/npycmp" --tol 1e-4 "$out/$name.npy" "$f") || { echo "FAIL $def: $name: $why"; return 1; }
  done
  echo "ok   $def"
}
for def in $names; do
  if check "$def"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
done
echo "grad: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
