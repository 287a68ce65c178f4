#!/usr/bin/env bash
# conformance.sh: runs every directory of Debian's libonnx-testdata (node/,
# simple/, pytorch-converted/, pytorch-operator/) through `aotc run` and
# compares the outputs with the expected TensorProto files. Prints one line
# per failing test and the passed / failed / unsupported counts per suite;
# the passed tests are split into those computed at run time and those
# whose outputs were computed entirely at compile time (the whole model
# folded to constants: the emitted C only copies them).
#
#   AOTC=build/aotc tests/onnx/conformance.sh [-j N] [-k PATTERN] [-l LIST]
#
#   AOTC     the aotc binary (default: build/aotc)
#   BUILD    the meson build folder holding libaotc.a (default: the folder of $AOTC)
#   DATA     the test data root (default: /usr/share/libonnx-testdata/data)
#   -j N     tests run in parallel (default: nproc)
#   -k PAT   only tests whose directory name matches the grep pattern PAT
#   -l LIST  a file of test names (suite/test_x) that must pass; exit status 1
#            when one of them does not
#   -p FILE  write the names of the passing tests to FILE
#   CONFORMANCE_SAMPLE=N  (default 1) the emitted C for 1 test in N (by a hash
#            of its name), the reference interpreter (`aotc run --interpret`)
#            for the others: every test still checked against ONNX's data
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
AOTC=${AOTC:-$root/build/aotc}
BUILD=${BUILD:-$(dirname "$AOTC")}
DATA=${DATA:-/usr/share/libonnx-testdata/data}
jobs=$(nproc 2>/dev/null || echo 4)
pattern=.
list=
passfile=
while getopts "j:k:l:p:" opt; do
  case $opt in
    j) jobs=$OPTARG ;;
    k) pattern=$OPTARG ;;
    l) list=$OPTARG ;;
    p) passfile=$OPTARG ;;
    *) exit 2 ;;
  esac
done

[ -x "$AOTC" ] || { echo "conformance: no aotc at $AOTC (set AOTC)" >&2; exit 2; }
[ -d "$DATA/node" ] || { echo "conformance: no test data at $DATA (install libonnx-testdata)" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/aotc-conformance.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The two helpers, built against the library next to $AOTC.
cc=${CC:-cc}
libs=$("$root/scripts/link-flags.sh" "$BUILD")
inc="-I$root/src/ir -I$root/src/driver -I$here"
$cc -O1 -o "$work/onnx_io_names" "$here/onnx_io_names.c" "$here/onnx_testdata.c" $inc $libs || exit 2
$cc -O1 -o "$work/onnx_compare" "$here/onnx_compare.c" "$here/onnx_testdata.c" $inc $libs || exit 2

# One test: prints "PASS|FAIL|UNSUPPORTED suite/name reason".
run_one() {
  local dir=$1 name out io args=() outputs=() kind tname file folded=0
  name="$(basename "$(dirname "$dir")")/$(basename "$dir")"
  out="$work/$(echo "$name" | tr / _)"
  mkdir -p "$out"
  if ! io=$("$work/onnx_io_names" "$dir" 2>"$out/io.err"); then
    if grep -q "not supported\|must be a constant" "$out/io.err"; then
      echo "UNSUPPORTED $name $(head -c 200 "$out/io.err" | head -1)"
    else
      echo "FAIL $name $(head -c 200 "$out/io.err" | head -1)"
    fi
    return
  fi
  while read -r kind tname file; do
    [ "$kind" = input ] && args+=(--input "$tname=$file")
    [ "$kind" = output ] && outputs+=("$tname=$file")
    [ "$kind" = folded ] && folded=$tname
  done <<< "$io"
  local interp=()
  if [ "${CONFORMANCE_SAMPLE:-1}" -gt 1 ] &&
    [ $(($(printf '%s' "$name" | cksum | cut -d' ' -f1) % CONFORMANCE_SAMPLE)) -ne 0 ]; then
    interp=(--interpret)
  fi
  if ! timeout 300 "$AOTC" run "${interp[@]}" "$dir/model.onnx" "${args[@]}" --output-dir "$out" >"$out/run.log" 2>&1; then
    if grep -q "not supported" "$out/run.log"; then
      echo "UNSUPPORTED $name $(grep -m1 "not supported" "$out/run.log" | head -c 200)"
    else
      echo "FAIL $name $(grep -m1 "error" "$out/run.log" | head -c 200)"
    fi
    return
  fi
  for o in "${outputs[@]}"; do
    if ! "$work/onnx_compare" "${o#*=}" "$out/${o%%=*}.npy" 2>"$out/cmp.err"; then
      echo "FAIL $name $(head -1 "$out/cmp.err" | head -c 200)"
      return
    fi
  done
  if [ "$folded" = 1 ]; then echo "PASS $name compile-time"; else echo "PASS $name"; fi
  rm -rf "$out"
}
export -f run_one
export AOTC work CONFORMANCE_SAMPLE

for suite in node simple pytorch-converted pytorch-operator; do
  [ -d "$DATA/$suite" ] || continue
  ls -d "$DATA/$suite"/test_* | grep -e "$pattern" | xargs -P "$jobs" -I{} bash -c 'run_one "$1"' _ {}
done > "$work/results.txt"

grep -v '^PASS' "$work/results.txt" | sort
# One summary line: SUITE, then the grep pattern of its tests.
summary() {
  local p c f u
  p=$(grep -c "^PASS $2" "$work/results.txt")
  c=$(grep -c "^PASS $2.* compile-time\$" "$work/results.txt")
  f=$(grep -c "^FAIL $2" "$work/results.txt")
  u=$(grep -c "^UNSUPPORTED $2" "$work/results.txt")
  printf '%-18s passed %4d (run time %4d, compile time %4d)  failed %4d  unsupported %4d\n' \
    "$1" "$p" $((p - c)) "$c" "$f" "$u"
}
for suite in node simple pytorch-converted pytorch-operator; do
  summary "$suite" "$suite/"
done
summary total ""
[ -n "$passfile" ] && grep '^PASS' "$work/results.txt" | cut -d' ' -f2 | sort > "$passfile"
[ -n "$passfile" ] && grep '^PASS .* compile-time$' "$work/results.txt" | cut -d' ' -f2 | sort > "$passfile.compile-time"

status=0
if [ -n "$list" ]; then
  while read -r t; do
    [ -z "$t" ] && continue
    grep -q "^PASS $t\$" "$work/results.txt" || { echo "conformance: $t no longer passes" >&2; status=1; }
  done < "$list"
fi
exit $status
