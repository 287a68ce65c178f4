#!/usr/bin/env bash
# End-to-end tests: every case of tests/kernels/manifest.txt is compiled and
# run by `aotc run` on the fixture inputs, and each output is compared with the
# expected output computed by numpy (tests/kernels/gen_fixtures.py).
#
#   AOTC=build/aotc tests/e2e/run.sh [ENTRY...]
#
# Environment: AOTC (default build/aotc), CC (default cc, builds npycmp),
# JOBS (cases run at once, default: number of CPUs), TIMEOUT (seconds per
# aotc command, default 120), KEEP=1 keeps the scratch directory.
#
# Comparison (tests/e2e/npycmp.c): same element type and shape, then
# elementwise |got - expected| <= 1e-4 * (1 + |expected|) for floating point
# and equality for integers.
#
# Pass 1 (name): compiled code against the numpy expectations.
# Pass 2 (interp:name): `aotc run ... --interpret` (the reference interpreter)
# against the compiled outputs of pass 1 (against the expectations when pass 1
# produced none). Skipped, one SKIP line, when `aotc run --help` does not
# mention --interpret.
#
# Prints PASS/FAIL per case (details indented below a FAIL) and ends with
# `N passed, N failed` (`N passed, N failed, N skipped` when some were
# skipped); exits 1 when any case failed, 2 when it cannot run at all.
set -u

here=$(cd "$(dirname "$0")" && pwd)
kdir=$(cd "$here/../kernels" && pwd)
manifest=$kdir/manifest.txt
AOTC=${AOTC:-$here/../../build/aotc}
CC=${CC:-cc}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
TIMEOUT=${TIMEOUT:-120}

if [ ! -x "$AOTC" ]; then
  echo "error: AOTC=$AOTC is not an executable" >&2
  exit 2
fi
case $AOTC in /*) ;; *) AOTC=$PWD/$AOTC ;; esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/aotc-e2e.XXXXXX") || exit 2
if [ "${KEEP:-0}" = 1 ]; then
  echo "scratch: $tmp"
else
  trap 'rm -rf "$tmp"' EXIT
fi

if ! "$CC" -std=c99 -O2 -o "$tmp/npycmp" "$here/npycmp.c" -lm; then
  echo "error: cannot build npycmp with $CC" >&2
  exit 2
fi
npycmp=$tmp/npycmp

if command -v timeout >/dev/null 2>&1; then
  tmo=(timeout -k 5 "$TIMEOUT")
else
  tmo=()
fi

# ---- read the manifest
files=() entries=() ins=() outs=()
while read -r line; do
  case $line in '' | '#'*) continue ;; esac
  read -r -a w <<<"$line"
  f=${w[0]} e=${w[1]} i="" o="" side=in
  for tok in "${w[@]:2}"; do
    if [ "$tok" = "->" ]; then side=out; continue; fi
    if [ $side = in ]; then i="$i $tok"; else o="$o $tok"; fi
  done
  if [ $# -gt 0 ]; then
    keep=0
    for want in "$@"; do [ "$want" = "$e" ] && keep=1; done
    [ $keep = 1 ] || continue
  fi
  files+=("$f") entries+=("$e") ins+=("$i") outs+=("$o")
done <"$manifest"

n=${#entries[@]}
if [ "$n" = 0 ]; then
  echo "error: no cases selected" >&2
  exit 2
fi

# ---- one case: run_case IDX MODE, MODE is c or interp; writes $tmp/res/MODE.IDX
# (first line PASS/FAIL name, details after)
mkdir -p "$tmp/res"
run_case() {
  local k=$1 mode=$2
  local file=${files[$k]} entry=${entries[$k]}
  local fix=$kdir/fixtures/$entry
  local name=$entry extra=() outdir=$tmp/out/$entry
  if [ "$mode" = interp ]; then
    name=interp:$entry extra=(--interpret) outdir=$tmp/interp/$entry
  fi
  local res=$tmp/res/$mode.$k log=$tmp/res/$mode.$k.log
  mkdir -p "$outdir"
  local args=() a
  for a in ${ins[$k]}; do args+=(--input "$a=$fix/$a.npy"); done
  local rc=0
  (cd "$tmp" && "${tmo[@]}" "$AOTC" run "$kdir/$file" --entry "$entry" "${args[@]}" \
    --output-dir "$outdir" "${extra[@]}") >"$log" 2>&1 || rc=$?
  local why=()
  if [ $rc != 0 ]; then
    if [ $rc = 124 ] || [ $rc = 137 ]; then
      why+=("timed out after ${TIMEOUT}s")
    else
      why+=("aotc run exited $rc")
    fi
    while IFS= read -r l; do why+=("$l"); done < <(head -n 8 "$log")
  else
    local o ref msg
    for o in ${outs[$k]}; do
      ref=$fix/expected_$o.npy
      if [ "$mode" = interp ] && [ -f "$tmp/out/$entry/$o.npy" ]; then
        ref=$tmp/out/$entry/$o.npy
      fi
      if [ ! -f "$outdir/$o.npy" ]; then
        why+=("$o: no $o.npy written")
        continue
      fi
      if ! msg=$("$npycmp" "$outdir/$o.npy" "$ref" 2>&1); then
        [ "$mode" = interp ] && [ "$ref" = "$fix/expected_$o.npy" ] && msg="$msg (vs expected: no compiled output)"
        why+=("$o: $msg")
      fi
    done
  fi
  if [ ${#why[@]} = 0 ]; then
    echo "PASS $name" >"$res"
  else
    { echo "FAIL $name"; printf '    %s\n' "${why[@]}"; } >"$res"
  fi
}

# ---- run a pass with up to JOBS cases at once, print in manifest order
pass=0 fail=0 skip=0
run_pass() {
  local mode=$1 k running=0
  for ((k = 0; k < n; k++)); do
    run_case "$k" "$mode" &
    running=$((running + 1))
    if [ $running -ge "$JOBS" ]; then
      wait -n 2>/dev/null || true
      running=$((running - 1))
    fi
  done
  wait
  for ((k = 0; k < n; k++)); do
    if [ -f "$tmp/res/$mode.$k" ]; then
      cat "$tmp/res/$mode.$k"
      if head -n 1 "$tmp/res/$mode.$k" | grep -q '^PASS'; then
        pass=$((pass + 1))
      else
        fail=$((fail + 1))
      fi
    else
      echo "FAIL ${entries[$k]} ($mode: no result)"
      fail=$((fail + 1))
    fi
  done
}

run_pass c

if "$AOTC" run --help 2>&1 | grep -q -- '--interpret'; then
  run_pass interp
else
  echo "SKIP interp: \`aotc run --help\` does not mention --interpret ($n cases)"
  skip=$((skip + n))
fi

if [ $skip -gt 0 ]; then
  echo "$pass passed, $fail failed, $skip skipped"
else
  echo "$pass passed, $fail failed"
fi
[ $fail = 0 ]
