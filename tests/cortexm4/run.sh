#!/usr/bin/env bash
# Cross-compiles the C that aotc emits for every kernel of tests/kernels:
#
#   AOTC=build/aotc tests/cortexm4/run.sh [FILE.tc...]
#
# For each .tc file: `aotc compile FILE -o x.c` (x.h beside it), then
#   arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16
#                     -std=c99 -Wall -Wextra -Werror -c x.c
#   cc -std=c99 -Wall -Wextra -Werror -pedantic -c x.c
# A file passes when all three steps succeed. Prints PASS/FAIL per file (the
# first error lines indented below a FAIL) and ends with `N passed, N failed`;
# when arm-none-eabi-gcc is absent it prints `0 passed, 0 failed, N skipped`.
# Environment: AOTC (default build/aotc), ARM_CC (default arm-none-eabi-gcc),
# HOST_CC (default cc), AOTC_COMPILE_FLAGS (added to `aotc compile`),
# KEEP=1 keeps the scratch directory.
set -u

here=$(cd "$(dirname "$0")" && pwd)
kdir=$(cd "$here/../kernels" && pwd)
AOTC=${AOTC:-$here/../../build/aotc}
ARM_CC=${ARM_CC:-arm-none-eabi-gcc}
HOST_CC=${HOST_CC:-cc}

if [ $# -gt 0 ]; then
  tcs=("$@")
else
  tcs=("$kdir"/*.tc)
fi

if ! command -v "$ARM_CC" >/dev/null 2>&1; then
  echo "SKIP: $ARM_CC not found"
  echo "0 passed, 0 failed, ${#tcs[@]} skipped"
  exit 0
fi
if [ ! -x "$AOTC" ]; then
  echo "error: AOTC=$AOTC is not an executable" >&2
  exit 2
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/aotc-m4.XXXXXX") || exit 2
if [ "${KEEP:-0}" = 1 ]; then
  echo "scratch: $tmp"
else
  trap 'rm -rf "$tmp"' EXIT
fi

arm_flags=(-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -std=c99 -Wall -Wextra -Werror -c)
host_flags=(-std=c99 -Wall -Wextra -Werror -pedantic -c)

pass=0 fail=0
for tc in "${tcs[@]}"; do
  base=$(basename "$tc" .tc)
  d=$tmp/$base
  mkdir -p "$d"
  why=() log=$d/log
  if ! "$AOTC" compile "$tc" -o "$d/$base.c" ${AOTC_COMPILE_FLAGS:-} >"$log" 2>&1; then
    why+=("aotc compile failed:")
  elif [ ! -f "$d/$base.h" ]; then
    why+=("aotc compile wrote no $base.h")
  else
    if ! (cd "$d" && "$ARM_CC" "${arm_flags[@]}" -o "$base.arm.o" "$base.c") >"$log" 2>&1; then
      why+=("$ARM_CC ${arm_flags[*]} failed:")
    elif ! (cd "$d" && "$HOST_CC" "${host_flags[@]}" -o "$base.host.o" "$base.c") >"$log" 2>&1; then
      why+=("$HOST_CC ${host_flags[*]} failed:")
    fi
  fi
  if [ ${#why[@]} = 0 ]; then
    echo "PASS $base"
    pass=$((pass + 1))
  else
    while IFS= read -r l; do why+=("$l"); done < <(head -n 10 "$log")
    echo "FAIL $base"
    printf '    %s\n' "${why[@]}"
    fail=$((fail + 1))
  fi
done
echo "$pass passed, $fail failed"
[ $fail = 0 ]
