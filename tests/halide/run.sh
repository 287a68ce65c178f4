#!/usr/bin/env bash
# Tests `aotc --abi halide` (docs/halide.md):
#
#   AOTC=build/aotc tests/halide/run.sh
#
# Emits matmul and matmul_alpha (tests/kernels/matmul.tc, size-generic; a
# scalar argument), permute3d
# (transpose.tc, 3-D transposing) and the MLP of tests/models (constant
# shapes) with --abi halide, builds them with -std=c99 -Wall -Wextra -Werror
# (and -pedantic for the kernels) against Debian's HalideRuntime.h (libhalide14-0-dev), and runs
# halide_test.c, which calls them through halide_buffer_t (dense, transposed,
# strided, cropped buffers; refusals with Halide's error codes; metadata).
# Also checks that the default output does not include HalideRuntime.h.
# Skipped when the header is absent. With an AOTC under build-san the test
# is built with AddressSanitizer and UndefinedBehaviorSanitizer.
# Environment: AOTC, CC, HALIDE_INCLUDE (the folder of HalideRuntime.h).
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
AOTC=${AOTC:-$root/build/aotc}
CC=${CC:-cc}
inc=${HALIDE_INCLUDE:-}
if [ -z "$inc" ]; then
  for d in /usr/include/halide14 /usr/include/halide /usr/include /usr/local/include; do
    [ -f "$d/HalideRuntime.h" ] && { inc=$d; break; }
  done
fi
if [ -z "$inc" ] || [ ! -f "$inc/HalideRuntime.h" ]; then
  echo "SKIP: HalideRuntime.h not found (libhalide14-0-dev; or set HALIDE_INCLUDE)"
  echo "0 passed, 0 failed, 1 skipped"
  exit 0
fi
[ -x "$AOTC" ] || { echo "error: AOTC=$AOTC is not an executable" >&2; exit 2; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/aotc-halide.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
san=()
case "$AOTC" in *build-san*) san=(-fsanitize=address,undefined -fno-sanitize-recover=all -g) ;; esac

fail() {
  echo "FAIL $1"
  sed 's/^/    /' "$tmp/log" | head -n 30
  echo "0 passed, 1 failed"
  exit 1
}
emit() {
  "$AOTC" compile "$@" --abi halide >"$tmp/log" 2>&1 || fail "aotc compile $*"
}
emit "$root/tests/kernels/matmul.tc" --entry matmul --entry matmul_alpha -o "$tmp/matmul.c"
emit "$root/tests/kernels/transpose.tc" --entry permute3d -o "$tmp/perm.c"
emit "$root/tests/models/mlp.onnx" -o "$tmp/mlp.c"
"$AOTC" compile "$root/tests/kernels/matmul.tc" --entry matmul -o "$tmp/plain.c" >"$tmp/log" 2>&1 || fail "plain"
if grep -q -i halide "$tmp/plain.c" "$tmp/plain.h"; then
  echo "FAIL the default output mentions Halide"; echo "0 passed, 1 failed"; exit 1
fi
"$CC" -std=c99 -O2 -Wall -Wextra -o "$tmp/npy2c" "$root/examples/firmware/npy2c.c" >"$tmp/log" 2>&1 || fail npy2c
"$tmp/npy2c" -c mlp_input="$root/tests/models/mlp.input.npy" mlp_output="$root/tests/models/mlp.output.npy" \
  >"$tmp/mlp_data.h" 2>"$tmp/log" || fail "npy2c mlp"
# -pedantic for the kernels only: a model's weights are long string literals.
for f in matmul perm mlp; do
  ped=(-pedantic); [ $f = mlp ] && ped=()
  "$CC" -std=c99 -O2 -Wall -Wextra -Werror "${ped[@]}" "${san[@]}" -I"$inc" -c -o "$tmp/$f.o" "$tmp/$f.c" \
    >"$tmp/log" 2>&1 || fail "cc $f.c (emitted with --abi halide)"
done
"$CC" -std=c99 -O2 -Wall -Wextra -Werror "${san[@]}" -I"$inc" -I"$tmp" -o "$tmp/halide_test" \
  "$here/halide_test.c" "$tmp/matmul.o" "$tmp/perm.o" "$tmp/mlp.o" -lm >"$tmp/log" 2>&1 || fail "cc halide_test.c"
"$tmp/halide_test"
