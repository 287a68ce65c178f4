#!/usr/bin/env bash
# run.sh: `aotc check` on TorchScript archives. Every fixture exits 0 and
# lists the operators its code calls exactly as FIXTURE.ops.txt says
# (counted by make_fixtures.py with a regular expression, not by aotc);
# every archive of malformed/ exits 1 with exactly one error, which holds
# the text of its .expected file (never a crash). Uses $AOTC (default
# build/aotc). Ends with the line `N passed, N failed`.
set -u
cd "$(dirname "$0")/../.."
aotc=$(realpath "${AOTC:-build/aotc}")
passed=0 failed=0

check_fixture() {
  local pt=$1 want got out rc
  want=$(cat "${pt%.pt}.ops.txt")
  out=$("$aotc" check "$pt" 2>&1)
  rc=$?
  got=$(grep '^operators:' <<<"$out")
  if [ "$rc" -eq 0 ] && [ "$got" = "$want" ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    printf 'FAIL %s (exit %d)\n  want: %s\n  got:  %s\n%s\n' "$pt" "$rc" "$want" "$got" "$(tail -n 5 <<<"$out")"
  fi
}

check_malformed() {
  local pt=$1 want err rc n
  want=$(cat "${pt%.pt}.expected")
  err=$(cd "$(dirname "$pt")" && "$aotc" check "$(basename "$pt")" 2>&1 >/dev/null)
  rc=$?
  n=$(grep -c ': error: ' <<<"$err")
  if [ "$rc" -eq 1 ] && [ "$n" -eq 1 ] && grep -qF -- "$want" <<<"$err"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    printf 'FAIL %s (exit %d, %d errors)\n  want: %s\n  got:  %s\n' "$pt" "$rc" "$n" "$want" "$err"
  fi
}

for pt in tests/torchscript/fixtures/*/*.pt; do
  check_fixture "$pt"
done
for pt in tests/torchscript/malformed/*.pt; do
  check_malformed "$pt"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
