# shellcheck shell=bash
# lib.sh: what the shell suites share (sourced after setting `here`, the
# suite's directory): the aotc under test, a scratch directory removed at
# exit, the .npy comparer, pass/fail counting and the summary line
# scripts/test.sh reads.
#
#   here=$(cd "$(dirname "$0")" && pwd)
#   . "$here/../lib.sh"
#   suite_init conv || exit 2
#   ... suite_result "case" $? "$why" ...
#   suite_end

# NAME: root, AOTC (checked), work (a fresh directory), $work/npycmp built.
suite_init() {
  root=$(cd "$here/../.." && pwd)
  AOTC=${AOTC:-$root/build/aotc}
  [ -x "$AOTC" ] || { echo "$1: no aotc at $AOTC (set AOTC)"; return 2; }
  work=$(mktemp -d "${TMPDIR:-/tmp}/aotc-$1.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  passed=0 failed=0 skipped=0
  ${CC:-cc} -O2 -o "$work/npycmp" "$root/tests/e2e/npycmp.c" -lm || return 2
}

# LABEL STATUS WHY: counts and prints one case (STATUS 0 passed, 77 skipped).
suite_result() {
  case $2 in
  0) echo "PASS $1"; passed=$((passed + 1)) ;;
  77) echo "SKIP $1: $3"; skipped=$((skipped + 1)) ;;
  *) echo "FAIL $1: $3"; failed=$((failed + 1)) ;;
  esac
}

# NAME ARGS...: whether the command line selects NAME (no arguments: all).
suite_selected() {
  local name=$1
  shift
  [ $# -eq 0 ] || [[ " $* " == *" $name "* ]]
}

# NAME: the outputs of fixture NAME (the NAME.OUTPUT.npy files in $here
# beside NAME.input.npy).
suite_outputs() {
  local f o
  for f in "$here/$1".*.npy; do
    o=${f#"$here/$1."}; o=${o%.npy}
    [ "$o" = input ] || echo "$o"
  done
}

# The summary line; fails when a case failed.
suite_end() {
  echo "$passed passed, $failed failed, $skipped skipped"
  [ "$failed" -eq 0 ]
}
