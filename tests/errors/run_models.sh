#!/usr/bin/env bash
# run_models.sh: the malformed-input corpus of the model and array readers.
# onnx/EXPECT lists each malformed ONNX model with the diagnostic `aotc
# compile` must give; npy/EXPECT each malformed .npy with the diagnostic
# `aotc run npy/sum.tc --input A=FILE` must give. Every case must exit with
# status 1 (never a crash or another status), print an `error:` line holding
# the expected text, leave no output file, finish within 20 s and stay under
# 4 GiB of memory. Prints one line per failure and `N passed, N failed`.
#
#   AOTC=build/aotc tests/errors/run_models.sh
set -u
dir=$(cd "$(dirname "$0")" && pwd)
: "${AOTC:?set AOTC to the path of the aotc binary}"
case $AOTC in /*) ;; *) AOTC=$PWD/$AOTC ;; esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
passed=0 failed=0
limit_kb=$((4 * 1024 * 1024))
have_time=0
[ -x /usr/bin/time ] && have_time=1

fail() {
  echo "FAIL $1: $2"
  failed=$((failed + 1))
}

# Runs aotc in folder $1 with the other arguments under the time limit; sets status and peak (KiB).
run_aotc() {
  cd "$dir/$1" || exit 2
  shift
  if [ "$have_time" -eq 1 ]; then
    timeout 20 /usr/bin/time -o "$tmp/mem" -f '%M' "$AOTC" "$@" >"$tmp/stdout" 2>"$tmp/stderr"
    status=$?
    peak=$(tail -n 1 "$tmp/mem" 2>/dev/null | grep -E '^[0-9]+$' || echo 0)
  else
    timeout 20 "$AOTC" "$@" >"$tmp/stdout" 2>"$tmp/stderr"
    status=$?
    peak=0
  fi
  cd "$dir" || exit 2
}

# Checks the outcome of case $1 against the expected text $2; $3 lists the outputs that must not exist.
judge() {
  local name=$1 want=$2 outputs=$3
  if [ "$status" -eq 124 ]; then
    fail "$name" "still running after 20 s"
  elif [ "$status" -ne 1 ]; then
    fail "$name" "exit status $status, expected 1: $(head -n 3 "$tmp/stderr")"
  elif ! grep -F 'error: ' "$tmp/stderr" | grep -q -F -- "$want"; then
    fail "$name" "no error line holding '$want' in: $(head -n 2 "$tmp/stderr")"
  elif [ -n "$(ls -A $outputs 2>/dev/null)" ]; then
    fail "$name" "an output file was created"
  elif [ "$peak" -gt "$limit_kb" ]; then
    fail "$name" "used $peak KiB, more than 4 GiB"
  else
    passed=$((passed + 1))
  fi
}

# Reads FILE SUBSTRING lines (comments and blank lines skipped) from $1.
cases() {
  grep -v -E '^(#|[[:space:]]*$)' "$1" | sed -E 's/^([^ ]+) +/\1\t/'
}

cd "$dir" || exit 2
while IFS=$'\t' read -r file want; do
  [ -e "onnx/$file" ] || { fail "onnx/$file" "missing"; continue; }
  rm -rf "$tmp/out" && mkdir "$tmp/out"
  run_aotc onnx compile "$file" -o "$tmp/out/model.c"
  judge "onnx/$file" "$want" "$tmp/out"
done < <(cases onnx/EXPECT)
while IFS=$'\t' read -r file want; do
  [ -e "npy/$file" ] || { fail "npy/$file" "missing"; continue; }
  rm -rf "$tmp/out"
  run_aotc npy run sum.tc --input "A=$file" --output-dir "$tmp/out"
  judge "npy/$file" "$want" "$tmp/out"
done < <(cases npy/EXPECT)
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
