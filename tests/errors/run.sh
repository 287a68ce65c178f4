#!/bin/sh
# run.sh: compiles every malformed program of this directory with $AOTC and
# checks the diagnostic announced on its first line,
#   # expect: LINE:COL: error: SUBSTRING
# that is: exit status 1, a line `FILE:LINE:COL: error: ...SUBSTRING...` on
# stderr, a caret line, and no output file. Prints one line per failure and
# `N passed, N failed`; exits non-zero when something failed.
set -u
dir=$(cd "$(dirname "$0")" && pwd)
: "${AOTC:?set AOTC to the path of the aotc binary}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
passed=0
failed=0

fail() {
  echo "FAIL $1: $2"
  failed=$((failed + 1))
}

check() {
  file=$1
  expect=$(head -n 1 "$file" | sed -n 's/^# expect: //p')
  loc=${expect%%: error: *}
  sub=${expect#*: error: }
  if [ -z "$expect" ] || [ "$loc" = "$expect" ]; then
    fail "$file" "no '# expect: LINE:COL: error: SUBSTRING' first line"
    return
  fi
  rm -f "$tmp/out.c" "$tmp/out.h"
  "$AOTC" compile "$file" -o "$tmp/out.c" >"$tmp/stdout" 2>"$tmp/stderr"
  status=$?
  if [ "$status" -ne 1 ]; then
    fail "$file" "exit status $status, expected 1"
  elif ! grep -F -- "$file:$loc: error: " "$tmp/stderr" | grep -q -F -- "$sub"; then
    fail "$file" "no '$file:$loc: error: ...$sub...' in: $(head -n 1 "$tmp/stderr")"
  elif ! grep -q '^[[:space:]]*\^' "$tmp/stderr"; then
    fail "$file" "no caret line on stderr"
  elif [ -e "$tmp/out.c" ] || [ -e "$tmp/out.h" ]; then
    fail "$file" "an output file was created"
  else
    passed=$((passed + 1))
  fi
}

cd "$dir" || exit 2
for f in [0-9]*.tc; do
  check "$f"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
