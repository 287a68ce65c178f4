#!/usr/bin/env bash
# index_checks.sh: the cost of the run-time index checks (emit_checks.c) on
# two gathers, checked (the default) against --unchecked-indices, built with
# `cc -O2 -march=native` and timed back to back (bench/gather_main.c).
#
#   AOTC=build/aotc bench/index_checks.sh [ROUNDS=3]
set -euo pipefail
cd "$(dirname "$0")/.."
AOTC=${AOTC:-build/aotc}
rounds=${1:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf 'def emb(float(V, D) W, int32(N) I) -> (O) {\n  O(n, d) = W(I(n), d)\n}\ndef pick(float(V) T, int32(N) J) -> (P) {\n  P(n) = T(J(n))\n}\n' >"$tmp/g.tc"
for mode in checked unchecked; do
  flag=""
  [ $mode = unchecked ] && flag=--unchecked-indices
  "$AOTC" "$tmp/g.tc" $flag -o "$tmp/$mode.c"
  cc -O2 -march=native -std=gnu11 -Ibench bench/gather_main.c "$tmp/$mode.c" -o "$tmp/$mode"
done
echo "checks in the checked code: $(grep -c 'return 4' "$tmp/checked.c"), in the unchecked code: $(grep -c 'return 4' "$tmp/unchecked.c" || true)"
for r in $(seq 1 "$rounds"); do
  for mode in checked unchecked; do
    echo "round $r $mode: $("$tmp/$mode" 21)"
  done
done
