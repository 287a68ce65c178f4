#!/usr/bin/env bash
# The emitted vector math (src/emit_c/emit_vmath.c): tests/vmath/vm.tc
# (exp, erf, tanh, sigmoid of a vector) compiled by aotc for x86-64-v3 and
# swept against libm by sweep.c (every 251st float bit pattern, every float
# near the polynomials' seams, NaN, inf, zeros, subnormals), built at
# -std=c99 -O2 -pedantic -Werror (scalar) and at -O3 -march=native -fopenmp
# (vectorised, fused multiply-adds); gcc must vectorise the four loops at
# -O2 -fopenmp; --cpu generic and cortex-m4 must keep libm's names. Also:
# exp(x - max x) takes the cheaper aotc_expf_neg (tests/vmath/expneg.tc,
# swept by sweep_neg.c) and no other exp does (expnot.tc); softmax's exp in
# 16 lanes with AVX-512 (sweep_softmax.c on softmax161.onnx). Also:
# the fuse-layernorm pass turns the transformer fixture's two decomposed
# layer norms into layernorm nodes (tests/models checks the outputs). Also:
# GELU's erf in a fused epilogue in 16 lanes (aotc_erff16 in the C of
# tests/epilogue/matmul_gelu.onnx) swept by sweep_erf16.c; skipped on a CPU
# without AVX-512 (tests/epilogue checks that fixture's numbers).
#
#   AOTC=build/aotc tests/vmath/run.sh
#
# Ends with `N passed, N failed, N skipped`; exits 1 when any case failed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
AOTC=${AOTC:-$here/../../build/aotc}
CC=${CC:-cc}
case $AOTC in /*) ;; *) AOTC=$PWD/$AOTC ;; esac
tmp=$(mktemp -d "${TMPDIR:-/tmp}/aotc-vmath.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0 skipped=0

check() { # NAME COMMAND...
  local name=$1
  shift
  if "$@" >"$tmp/log" 2>&1; then
    passed=$((passed + 1))
    echo "PASS $name"
  else
    failed=$((failed + 1))
    echo "FAIL $name"
    sed 's/^/  /' "$tmp/log" | tail -20
  fi
  grep -E "ulp|special|relative error" "$tmp/log" | sed 's/^/  /'
}

sweep() { # FLAGS...
  $CC "$@" -I"$tmp" -o "$tmp/sweep" "$here/sweep.c" "$tmp/vm.c" -lm && OMP_NUM_THREADS=1 "$tmp/sweep"
}

vectorised() {
  local n
  n=$($CC -std=gnu11 -O2 -fopenmp -march=x86-64-v3 -fopt-info-vec-optimized -c -o "$tmp/v.o" "$tmp/vm.c" 2>&1 |
    grep -c "loop vectorized")
  echo "$n loops vectorized"
  [ "$n" -ge 4 ]
}

sweep_neg() { # FLAGS...
  "$AOTC" "$here/expneg.tc" --cpu x86-64-v3 -o "$tmp/expneg.c" && grep -q "aotc_expf_neg(X" "$tmp/expneg.c" &&
    $CC "$@" -I"$tmp" -o "$tmp/sweep_neg" "$here/sweep_neg.c" "$tmp/expneg.c" -lm && OMP_NUM_THREADS=1 "$tmp/sweep_neg"
}

# The softmax row kernel (softmax161.onnx, rows of 161): exp and sum in one
# loop, through the 16-lane aotc_expf_neg16 where the build has AVX-512 (the
# portable aotc_expf_neg with -DAOTC_NO_VECTORS or without it); on a CPU with
# avx512f the first build must take the 16-lane path.
sweep_softmax() { # FLAGS...
  "$AOTC" "$here/softmax161.onnx" --cpu x86-64-v3 -o "$tmp/softmax161.c" && grep -q "aotc_expf_neg16(" "$tmp/softmax161.c" &&
    $CC "$@" -I"$tmp" -o "$tmp/sweep_softmax" "$here/sweep_softmax.c" "$tmp/softmax161.c" -lm &&
    "$tmp/sweep_softmax" >"$tmp/sweep_softmax.out" && cat "$tmp/sweep_softmax.out" &&
    if grep -qw avx512f /proc/cpuinfo 2>/dev/null && [[ " $* " == *" -march=native "* ]] && [[ " $* " != *" -DAOTC_NO_VECTORS "* ]]; then
      grep -q "aotc_expf_neg16 (AVX-512)" "$tmp/sweep_softmax.out"
    fi
}

only_below_max() { # exp(x - max x) only: not x - min x, max x - x, x - another tensor
  local neg all
  "$AOTC" "$here/expnot.tc" --cpu x86-64-v3 -o "$tmp/expnot.c" || return 1
  neg=$(grep -o "aotc_expf_neg(" "$tmp/expnot.c" | wc -l)
  all=$(grep -o "aotc_expf(" "$tmp/expnot.c" | wc -l)
  echo "$neg calls of aotc_expf_neg, $all of aotc_expf"
  [ "$neg" -eq 2 ] && [ "$all" -ge 4 ] # each counted once in its definition
}

# GELU's epilogue in 16 lanes: the fixture's C calls aotc_erff16, which the
# sweep includes and compares with libm (at most 4 ulp, NaN kept).
sweep_erf16() {
  "$AOTC" "$here/../epilogue/matmul_gelu.onnx" --cpu x86-64-v4 -o "$tmp/mg.c" && grep -q "aotc_erff16(_mm512" "$tmp/mg.c" &&
    $CC -std=gnu11 -O2 -march=native -Wall -Wextra -DMODEL_C="\"$tmp/mg.c\"" -I"$here" -I"$tmp" -o "$tmp/sweep_erf16" \
      "$here/sweep_erf16.c" -lm && "$tmp/sweep_erf16"
}

keeps_libm() { # CPU
  "$AOTC" "$here/vm.tc" --cpu "$1" -o "$tmp/libm_$1.c" &&
    grep -q "= expf(" "$tmp/libm_$1.c" && grep -q "erff(" "$tmp/libm_$1.c" && ! grep -q "aotc_expf" "$tmp/libm_$1.c"
}

fuses_layernorm() { # the transformer fixture's two decomposed layer norms become layernorm nodes
  local n
  n=$("$AOTC" "$here/../models/transformer.onnx" --dump-after=fuse-layernorm -o "$tmp/tr.c" 2>&1 |
    grep -c "^  node [0-9]* layernorm ")
  echo "$n layernorm nodes"
  [ "$n" -eq 2 ] && ! grep -q "powf" "$tmp/tr.c"
}

layernorm_fixture() { # decomposed layer norms against PyTorch (make_layernorm.py): both fused (one without scale/bias)
  local n
  n=$("$AOTC" "$here/layernorm.onnx" --dump-after=fuse-layernorm -o "$tmp/ln.c" 2>&1 | grep -c "^  node [0-9]* layernorm ")
  echo "$n layernorm nodes"
  [ "$n" -eq 2 ] && $CC -O2 -o "$tmp/npycmp" "$here/../e2e/npycmp.c" -lm &&
    "$AOTC" run "$here/layernorm.onnx" --input x="$here/layernorm.input.npy" --output-dir "$tmp/ln" &&
    "$tmp/npycmp" "$tmp/ln/y.npy" "$here/layernorm.output.npy"
}

if ! "$AOTC" "$here/vm.tc" --cpu x86-64-v3 -o "$tmp/vm.c" 2>"$tmp/err"; then
  cat "$tmp/err"
  echo "0 passed, 1 failed"
  exit 1
fi
check "sweep, -std=c99 -O2 -pedantic -Werror" sweep -std=c99 -O2 -Wall -Wextra -pedantic -Werror
check "sweep, -O3 -march=native -fopenmp" sweep -std=gnu11 -O3 -march=native -fopenmp
if $CC --version 2>/dev/null | grep -q "Free Software Foundation"; then
  check "gcc -O2 -fopenmp vectorises exp, erf, tanh, sigmoid" vectorised
fi
check "exp(x - max x) as aotc_expf_neg, -std=c99 -O2 -pedantic -Werror" sweep_neg -std=c99 -O2 -Wall -Wextra -pedantic -Werror
check "exp(x - max x) as aotc_expf_neg, -O3 -march=native -fopenmp" sweep_neg -std=gnu11 -O3 -march=native -fopenmp
check "softmax's exp, 16 lanes (AVX-512 where the CPU has it), -O2 -march=native" sweep_softmax -std=gnu11 -O2 -march=native -fopenmp
check "softmax's exp, -DAOTC_NO_VECTORS -march=native" sweep_softmax -std=gnu11 -O2 -march=native -DAOTC_NO_VECTORS
check "softmax's exp, -std=c99 -O2 -pedantic -Werror" sweep_softmax -std=c99 -O2 -Wall -Wextra -pedantic -Werror
check "exp of anything else keeps aotc_expf" only_below_max
check "--cpu generic keeps libm" keeps_libm generic
check "--cpu cortex-m4 keeps libm" keeps_libm cortex-m4
check "fuse-layernorm: transformer fixture (tests/models checks its numbers)" fuses_layernorm
check "fuse-layernorm: decomposed layer norms against PyTorch" layernorm_fixture
if grep -qw avx512f /proc/cpuinfo 2>/dev/null; then
  check "GELU's erf in 16 lanes (matmul_gelu's epilogue) against libm" sweep_erf16
else
  skipped=$((skipped + 1))
  echo "SKIP GELU's erf in 16 lanes: this CPU has no AVX-512"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
