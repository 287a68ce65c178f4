#!/usr/bin/env bash
# Golden tests of the C backend: every X.tc here is compiled with
#   $AOTC compile X.tc -o X.c [options from X.args]
# and the emitted X.c (and X.h, where X.h.expected exists) is diffed against
# the checked-in X.c.expected. The emitted C must also build warning-free
# with $CC -std=c99 -Wall -Wextra -Werror -pedantic.
#
# Every X.args pins the CPU the code is scheduled for (--cpu), so that the
# expected files hold on any machine: each case is compiled again on two
# emulated machines (AOTC_HOST_CPU=x86-64-v2, a machine without AVX2, and
# AOTC_HOST_CPU=x86-64-v4) and must give the same bytes. The same input
# pinned to other CPUs is a case of its own (X_v3.tc -> X.tc, with X_v3.args
# and its own expected file).
#
#   AOTC=build/aotc tests/golden/run.sh [X ...]
#
# UPDATE=1 rewrites the expected files from the current output (review the
# diff before committing). Ends with `N passed, N failed`; exits 1 when any
# test failed, 2 when it cannot run at all.
set -u

here=$(cd "$(dirname "$0")" && pwd)
AOTC=${AOTC:-$here/../../build/aotc}
CC=${CC:-cc}
if [ ! -x "$AOTC" ]; then
  echo "error: AOTC=$AOTC is not an executable" >&2
  exit 2
fi
case $AOTC in /*) ;; *) AOTC=$PWD/$AOTC ;; esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/aotc-golden.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT

if [ $# -gt 0 ]; then
  names=("$@")
else
  names=()
  for f in "$here"/*.tc; do
    names+=("$(basename "$f" .tc)")
  done
fi

passed=0
failed=0

# check NAME: prints PASS or FAIL (with the reason indented below).
check() {
  local name=$1 out=$tmp/$1 args=()
  mkdir -p "$out"
  if [ -f "$here/$name.args" ]; then
    read -r -a args < "$here/$name.args"
  fi
  if ! (cd "$out" && "$AOTC" compile "$here/$name.tc" -o "$name.c" "${args[@]}") > "$out/log" 2>&1; then
    echo "FAIL $name"
    sed 's/^/    /' "$out/log"
    return 1
  fi
  if [ "${UPDATE:-0}" = 1 ]; then
    cp "$out/$name.c" "$here/$name.c.expected"
    [ -f "$here/$name.h.expected" ] && cp "$out/$name.h" "$here/$name.h.expected"
  fi
  local ok=0
  for ext in c h; do
    local want=$here/$name.$ext.expected
    [ -f "$want" ] || continue
    if ! diff -u "$want" "$out/$name.$ext" > "$out/diff.$ext"; then
      [ $ok = 0 ] && echo "FAIL $name"
      ok=1
      sed 's/^/    /' "$out/diff.$ext" | head -60
    fi
  done
  if [ ! -f "$here/$name.c.expected" ]; then
    echo "FAIL $name"
    echo "    no $name.c.expected (UPDATE=1 writes it)"
    return 1
  fi
  if ! (cd "$out" && "$CC" -std=c99 -Wall -Wextra -Werror -pedantic -c "$name.c" -o "$name.o") > "$out/cc" 2>&1; then
    [ $ok = 0 ] && echo "FAIL $name"
    ok=1
    sed 's/^/    /' "$out/cc" | head -30
  fi
  for host in x86-64-v2 x86-64-v4; do
    mkdir -p "$out/$host"
    if ! (cd "$out/$host" && AOTC_HOST_CPU=$host "$AOTC" compile "$here/$name.tc" -o "$name.c" "${args[@]}") \
        > "$out/$host/log" 2>&1 || ! cmp -s "$out/$name.c" "$out/$host/$name.c"; then
      [ $ok = 0 ] && echo "FAIL $name"
      ok=1
      echo "    on an emulated $host machine (AOTC_HOST_CPU) the output differs: pin --cpu in $name.args"
    fi
  done
  [ $ok = 0 ] && echo "PASS $name"
  return $ok
}

for name in "${names[@]}"; do
  if [ ! -f "$here/$name.tc" ]; then
    echo "FAIL $name"
    echo "    no $name.tc"
    failed=$((failed + 1))
  elif check "$name"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
  fi
done

echo "$passed passed, $failed failed"
[ $failed = 0 ]
