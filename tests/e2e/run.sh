#!/usr/bin/env bash
# End-to-end tests: every case of tests/kernels/manifest.txt is compiled and
# run by `aotc run` on the fixture inputs, and each output is compared with the
# expected output computed by numpy (tests/kernels/gen_fixtures.py).
#
#   AOTC=build/aotc tests/e2e/run.sh [ENTRY...]
#
# Environment: AOTC (default build/aotc), CC (default cc, builds npycmp),
# JOBS (cases run at once, default: number of CPUs), TIMEOUT (seconds per
# aotc command, default 120), E2E_SEED (seed of pass 3), RAND=0 (no pass 3),
# AOTC_RUN_FLAGS (added to every `aotc run`, e.g. "--threads 4"), KEEP=1 keeps
# the scratch directory.
#
# Comparison (tests/e2e/npycmp.c): same element type and shape, then
# elementwise |got - expected| <= 1e-4 * (1 + |expected|) for floating point
# and equality for integers.
#
# Cases are the lines of tests/kernels/manifest.txt; a case named ENTRY@VARIANT
# runs ENTRY on other sizes. Selecting ENTRY on the command line selects its
# variants too.
#
# Pass 1 (name): compiled code against the numpy expectations.
# Pass 2 (interp:name): `aotc run ... --interpret` (the reference interpreter)
# against the compiled outputs of pass 1 (against the expectations when pass 1
# failed).
# Pass 3 (rand:name): fresh random sizes and inputs drawn from
# tests/kernels/random.txt by npyrand.c (seed E2E_SEED, default from the clock,
# printed), compiled code, size-generic and specialised with --size, against
# the interpreter. RAND=0 skips it.
# Passes 2 and 3 are skipped, one SKIP line, when `aotc run --help` does not
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

for tool in npycmp npyrand; do
  if ! "$CC" -std=c99 -O2 -o "$tmp/$tool" "$here/$tool.c" -lm; then
    echo "error: cannot build $tool with $CC" >&2
    exit 2
  fi
done
npycmp=$tmp/npycmp npyrand=$tmp/npyrand
seed=${E2E_SEED:-$(( $(date +%s) % 1000000 ))}

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
    for want in "$@"; do [ "$want" = "$e" ] || [ "$want" = "${e%@*}" ] && keep=1; done
    [ $keep = 1 ] || continue
  fi
  files+=("$f") entries+=("$e") ins+=("$i") outs+=("$o")
done <"$manifest"

n=${#entries[@]}
if [ "$n" = 0 ]; then
  echo "error: no cases selected" >&2
  exit 2
fi

# ---- random specs (tests/kernels/random.txt), by entry
declare -A spec
while read -r line; do
  case $line in '' | '#'*) continue ;; esac
  read -r -a w <<<"$line"
  rest=${line#* }
  rest=${rest#* }
  spec[${w[1]}]=${rest% -> *}
done <"$kdir/random.txt"

# aotc_run LOG INDIR OUTDIR K [EXTRA...]: runs case K's entry; status of aotc
aotc_run() {
  local log=$1 indir=$2 outdir=$3 k=$4 a args=()
  shift 4
  mkdir -p "$outdir"
  for a in ${ins[$k]}; do args+=(--input "$a=$indir/$a.npy"); done
  (cd "$tmp" && "${tmo[@]}" "$AOTC" run "$kdir/${files[$k]}" --entry "${entries[$k]%@*}" "${args[@]}" \
    --output-dir "$outdir" ${AOTC_RUN_FLAGS:-} "$@") >"$log" 2>&1
}

# run_failed RC LOG: appends the reason and the first lines of LOG to why
run_failed() {
  local l
  if [ "$1" = 124 ] || [ "$1" = 137 ]; then
    why+=("$2 timed out after ${TIMEOUT}s")
  else
    why+=("$2 exited $1")
  fi
  while IFS= read -r l; do why+=("  $l"); done < <(head -n 8 "$3")
}

# compare_outputs K GOTDIR REFDIR REFPREFIX: compares every output of case K
compare_outputs() {
  local k=$1 got=$2 ref=$3 prefix=$4 o msg
  for o in ${outs[$k]}; do
    if [ ! -f "$got/$o.npy" ]; then
      why+=("$o: no $o.npy written")
    elif ! msg=$("$npycmp" "$got/$o.npy" "$ref/$prefix$o.npy" 2>&1); then
      why+=("$o: $msg")
    fi
  done
}

# ---- one case: run_case IDX MODE, MODE is c, interp or rand; writes
# $tmp/res/MODE.IDX (first line PASS/FAIL name, details after)
mkdir -p "$tmp/res"
run_case() {
  local k=$1 mode=$2 rc=0
  local entry=${entries[$k]}
  local fix=$kdir/fixtures/$entry res=$tmp/res/$mode.$k log=$tmp/res/$mode.$k.log
  local name=$entry
  why=()
  case $mode in
  c)
    aotc_run "$log" "$fix" "$tmp/out/$entry" "$k" || rc=$?
    if [ $rc != 0 ]; then
      run_failed $rc "aotc run" "$log"
    else
      compare_outputs "$k" "$tmp/out/$entry" "$fix" expected_
    fi
    ;;
  interp)
    name=interp:$entry
    aotc_run "$log" "$fix" "$tmp/interp/$entry" "$k" --interpret || rc=$?
    if [ $rc != 0 ]; then
      run_failed $rc "aotc run --interpret" "$log"
    elif [ -f "$tmp/res/c.$k" ] && head -n 1 "$tmp/res/c.$k" | grep -q '^PASS'; then
      compare_outputs "$k" "$tmp/interp/$entry" "$tmp/out/$entry" ""
    else
      why+=("(compiled run failed: interpreter compared with the expected outputs)")
      compare_outputs "$k" "$tmp/interp/$entry" "$fix" expected_
      [ ${#why[@]} = 1 ] && why=()
    fi
    ;;
  rand)
    name=rand:$entry
    local d=$tmp/rand/$entry sizes
    mkdir -p "$d/in"
    if [ -z "${spec[$entry]:-}" ]; then
      why+=("no spec in random.txt")
    elif ! sizes=$("$npyrand" "$seed" "$entry" "$d/in" ${spec[$entry]} 2>&1); then
      why+=("npyrand failed: $sizes")
    else
      aotc_run "$log" "$d/in" "$d/c" "$k" || rc=$?
      if [ $rc != 0 ]; then
        run_failed $rc "aotc run" "$log"
      else
        aotc_run "$log" "$d/in" "$d/interp" "$k" --interpret || rc=$?
        if [ $rc != 0 ]; then
          run_failed $rc "aotc run --interpret" "$log"
        else
          compare_outputs "$k" "$d/c" "$d/interp" ""
          # the same with code specialised to these sizes
          aotc_run "$log" "$d/in" "$d/s" "$k" --size "${sizes// /,}" || rc=$?
          if [ $rc != 0 ]; then
            run_failed $rc "aotc run --size ${sizes// /,}" "$log"
          else
            local before=${#why[@]}
            compare_outputs "$k" "$d/s" "$d/interp" ""
            for ((; before < ${#why[@]}; before++)); do why[$before]="--size: ${why[$before]}"; done
          fi
        fi
      fi
      [ ${#why[@]} = 0 ] || why=("sizes $sizes (reproduce: E2E_SEED=$seed tests/e2e/run.sh $entry)" "${why[@]}")
    fi
    ;;
  esac
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
  if [ "${RAND:-1}" != 0 ]; then
    echo "rand: seed $seed (E2E_SEED=$seed reproduces this pass)"
    run_pass rand
  else
    echo "SKIP rand: RAND=0 ($n cases)"
    skip=$((skip + n))
  fi
else
  echo "SKIP interp, rand: \`aotc run --help\` does not mention --interpret ($((2 * n)) cases)"
  skip=$((skip + 2 * n))
fi

if [ $skip -gt 0 ]; then
  echo "$pass passed, $fail failed, $skip skipped"
else
  echo "$pass passed, $fail failed"
fi
[ $fail = 0 ]
