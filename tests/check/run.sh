#!/usr/bin/env bash
# run.sh: `aotc check --size` on each program here must print the shapes and
# ranges in NAME.expected, which were worked out by hand from the bounds of
# the reads (closed forms written in each .tc's comment).
set -u
here=$(cd "$(dirname "$0")" && pwd)
AOTC=${AOTC:-$here/../../build/aotc}
pass=0 fail=0
for tc in "$here"/*.tc; do
  name=$(basename "$tc" .tc)
  got=$("$AOTC" check "$tc" --size "$(cat "$here/$name.sizes")" 2>&1)
  if [ "$got" == "$(cat "$here/$name.expected")" ]; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL $name"
    diff <(echo "$got") "$here/$name.expected" | head -20
  fi
done
# Without --size, the symbolic form: every statement and index must appear.
got=$("$AOTC" check "$here/matmul.tc" 2>&1)
if grep -q "r_k in 0:K" <<<"$got" && grep -q "tensor C: output float(M, N)" <<<"$got"; then
  pass=$((pass + 1))
else
  fail=$((fail + 1)); echo "FAIL symbolic matmul"; echo "$got"
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
