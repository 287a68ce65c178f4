#!/usr/bin/env bash
# run.sh: hostile inputs, as an attacker would write them. Every case runs
# `aotc` under a time limit (20 s; 60 s for a sanitizer build) and checks the
# contract of DESIGN.md: exit status 0 or 1 only, an `error:` line whenever
# it is 1 (with the expected text), no output file after an error, under
# 4 GiB of memory; where the input is valid, the emitted C builds with
# -Wall -Wextra -Werror and runs. Models are made at test time by
# build/tests/onnxgen (no Python), or are fixtures/ (make_fixtures.py).
# Indices read from data: the entry returns 4 and leaves its output alone
# (index_harness.c), `aotc run` names the tensor, constant ones are refused. Prints one line per case and
# `N passed, N failed`.
#
#   AOTC=build/aotc tests/hostile/run.sh
set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${AOTC:?set AOTC to the path of the aotc binary}"
case $AOTC in /*) ;; *) AOTC=$PWD/$AOTC ;; esac
GEN=${ONNXGEN:-$(dirname "$AOTC")/tests/onnxgen}
CC=${CC:-cc}
limit=20
case $AOTC in *san*) limit=60 ;; esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
passed=0 failed=0
limit_kb=$((4 * 1024 * 1024))

pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }

# aotc ARGS...: runs under the limits; sets status, peak (KiB) and elapsed (s).
aotc() {
  local start=$SECONDS
  timeout "$limit" /usr/bin/time -o "$tmp/mem" -f '%M' "$AOTC" "$@" >"$tmp/stdout" 2>"$tmp/stderr"
  status=$?
  peak=$(tail -n 1 "$tmp/mem" 2>/dev/null | grep -E '^[0-9]+$' || echo 0)
  elapsed=$((SECONDS - start))
}

# The contract every run keeps: status 0 or 1, an error line with status 1, memory.
contract() {
  if [ "$status" -eq 124 ]; then
    echo "still running after $limit s"
  elif [ "$status" -ne 0 ] && [ "$status" -ne 1 ]; then
    echo "exit status $status: $(grep -m 2 -E 'ERROR|error|runtime' "$tmp/stderr")"
  elif [ "$status" -eq 1 ] && ! grep -q 'error: ' "$tmp/stderr"; then
    echo "exit status 1 without an error line"
  elif [ "$peak" -gt "$limit_kb" ]; then
    echo "used $peak KiB"
  fi
}

# expect_error NAME TEXT OUTPUT... : the last aotc run failed cleanly with TEXT.
expect_error() {
  local name=$1 want=$2 why
  shift 2
  why=$(contract)
  if [ -n "$why" ]; then fail "$name" "$why"; return; fi
  if [ "$status" -ne 1 ]; then fail "$name" "compiled, expected an error holding '$want'"; return; fi
  if ! grep -F 'error: ' "$tmp/stderr" | grep -q -F -- "$want"; then
    fail "$name" "no error holding '$want' in: $(grep -m 1 'error: ' "$tmp/stderr")"; return
  fi
  for o in "$@"; do
    if [ -e "$o" ]; then fail "$name" "left $o behind"; return; fi
  done
  pass "$name (${elapsed}s)"
}

# expect_ok NAME C_FILE: the last aotc run succeeded and C_FILE builds warning-free.
expect_ok() {
  local name=$1 c=$2 why
  why=$(contract)
  if [ -n "$why" ]; then fail "$name" "$why"; return; fi
  if [ "$status" -ne 0 ]; then fail "$name" "$(grep -m 1 'error: ' "$tmp/stderr")"; return; fi
  if ! $CC -std=c99 -Wall -Wextra -Werror -pedantic -c "$c" -o "$tmp/obj.o" 2>"$tmp/cc.log"; then
    fail "$name" "the emitted C does not build: $(head -n 3 "$tmp/cc.log")"; return
  fi
  pass "$name (${elapsed}s)"
}

tc() { printf '%b' "$2" >"$tmp/$1.tc"; }

# gen ARGS...: runs onnxgen; on failure the next check fails with its message.
gen() {
  "$GEN" "$@" 2>"$tmp/gen.err" && return 0
  status=99 peak=0 elapsed=0
  echo "onnxgen $1 failed: $(head -n 3 "$tmp/gen.err")" >"$tmp/stderr"
  return 1
}

# ---------------------------------------------------------------- names
names() {
  tc names_tensor 'def f(float(N) __A) -> (B) {\n  B(i) = __A(i)\n}\n'
  aotc "$tmp/names_tensor.tc" -o "$tmp/names_tensor.c"
  expect_ok "TC tensor __A" "$tmp/names_tensor.c"
  grep -q 'const float \*u__A' "$tmp/names_tensor.c" || fail "TC tensor __A is u__A" "not in the C"
  tc names_def 'def __f(float(N) A) -> (B) {\n  B(i) = A(i)\n}\ndef f(float(N) aotc_x, float(N) int) -> (B) {\n  B(i) = aotc_x(i) + int(i)\n}\n'
  aotc "$tmp/names_def.tc" -o "$tmp/names_def.c"
  expect_ok "TC def __f, tensors aotc_x and int" "$tmp/names_def.c"
  tc names_clash 'def mm(float(N) A) -> (B) {\n  B(i) = A(i)\n}\ndef mm_call(float(N) A) -> (B) {\n  B(i) = A(i)\n}\n'
  aotc "$tmp/names_clash.tc" -o "$tmp/names_clash.c"
  expect_error "TC defs clashing in C" "both declare 'mm_call'" "$tmp/names_clash.c" "$tmp/names_clash.h"
  libc_names
  gen names "$tmp/names_dots.onnx" __ .. ../x && aotc "$tmp/names_dots.onnx" -o "$tmp/names_dots.c"
  expect_ok "ONNX values __, .., ../x" "$tmp/names_dots.c"
  gen names "$tmp/names_collide.onnx" a.b a_b 'a?b' int int_ c0 sizes workspace aotc_k 9 &&
    aotc "$tmp/names_collide.onnx" -o "$tmp/names_collide.c"
  expect_ok "ONNX values colliding after mangling" "$tmp/names_collide.c"
  gen names "$tmp/names_under.onnx" $'\xff' $'\xfe' _ aotc aotc_1 AOTC && aotc "$tmp/names_under.onnx" -o "$tmp/names_under.c"
  expect_ok "ONNX values mangled to _ and aotc, several times" "$tmp/names_under.c"
}

# Defs named like libc functions (brk, raise, exit): `aotc run` loads the
# built object into its own process, where they must not bind to libc's.
libc_names() {
  local f got
  npy "$tmp/z4.npy" '<f4' '(4,)' 0 0 0 0
  for f in brk raise exit; do
    tc "libc_$f" "def $f(float(N) A) -> (B) {\\n  B(i) = A(i) + 1.0\\n}\\n"
    aotc run "$tmp/libc_$f.tc" --input "A=$tmp/z4.npy" --output-dir "$tmp/libc_$f"
    got=$(tail -c 16 "$tmp/libc_$f/B.npy" 2>/dev/null | od -An -tf4 | xargs)
    if [ "$status" -eq 0 ] && [ "$got" = "1 1 1 1" ]; then pass "aotc run: a def named $f (a libc function)"
    else fail "aotc run: a def named $f" "status $status, B = '$got': $(grep -m 1 'error' "$tmp/stderr")"; fi
  done
}

# ---------------------------------------------------------------- reads outside
reads() {
  tc where_out 'def f(float(N) A) -> (B) {\n  B(i) = A(i) where i in 0:N+5\n}\n'
  aotc "$tmp/where_out.tc" -o "$tmp/where_out.c"
  expect_error "where range reading outside" "where_out.tc:2:21: error: the range of 'i'" "$tmp/where_out.c"
  tc where_some 'def f(float(M, N) A) -> (O) {\n  O(i) +=! A(i, j) where j in 0:4\n}\n'
  printf '\x93NUMPY\x01\x00v\x00{'"'"'descr'"'"': '"'"'<f4'"'"', '"'"'fortran_order'"'"': False, '"'"'shape'"'"': (2, 3), }%*s\n' 58 '' >"$tmp/a23.npy"
  head -c 24 /dev/zero >>"$tmp/a23.npy"
  aotc run "$tmp/where_some.tc" --input "A=$tmp/a23.npy" --output-dir "$tmp/where_some_out"
  expect_error "where range outside for some sizes: the entry refuses them" "returned 1" "$tmp/where_some_out/O.npy"
  tc indices_sum 'def f(float(N) A, float(M) C, float(K) B) -> (O) {\n  O(i, j) = A(i) + C(j) + B(i + j)\n}\n'
  aotc "$tmp/indices_sum.tc" -o "$tmp/indices_sum.c"
  expect_ok "inferred ranges reading B(i + j): checked at run time" "$tmp/indices_sum.c"
  grep -q 'K - N' "$tmp/indices_sum.c" || fail "run-time check of B(i + j)" "no size check in the entry"
}

# ---------------------------------------------------------------- compile-time bounds
bounds() {
  local reads="" dims="" idx="" k
  for k in $(seq 1 16); do reads="$reads${reads:+ + }A($k * i + j - $((k % 3)))"; done
  tc affine16 "def f(float(N) A) -> (B) {\n  B(i) +=! $reads where j in 0:4\n}\n"
  aotc "$tmp/affine16.tc" -o "$tmp/affine16.c"
  expect_ok "one statement with 16 affine reads" "$tmp/affine16.c"
  for k in $(seq 0 59); do dims="$dims${dims:+, }N$k"; idx="$idx${idx:+, }i$k"; done
  tc rank60 "def f(float($dims) A) -> (B) {\n  B($idx) = A($idx)\n}\n"
  aotc "$tmp/rank60.tc" -o "$tmp/rank60.c"
  expect_error "rank-60 tensor" "too many dimensions (a tensor has at most 16)" "$tmp/rank60.c"
  awk 'BEGIN { for (k = 0; k < 10000; k++) printf "def f%d(float(N) A) -> (B) {\n  B(i) = A(i)\n}\n", k }' >"$tmp/defs.tc"
  aotc "$tmp/defs.tc" -o "$tmp/defs.c"
  expect_error "10,000 defs" "too many defs (a file has at most 1024)" "$tmp/defs.c"
  awk 'BEGIN { print "def f(float(N) A) -> (B) {"; for (k = 0; k < 10000; k++) printf "  B(i) = A(i) + %d.0\n", k; print "}" }' >"$tmp/stmts.tc"
  aotc "$tmp/stmts.tc" -o "$tmp/stmts.c"
  expect_error "10,000 statements writing one tensor" "too many statements (a def has at most 1024)" "$tmp/stmts.c"
  awk 'BEGIN { print "def f(float(N) A) -> (B) {"; for (k = 0; k < 1024; k++) printf "  B(i) = A(i) + %d.0\n", k; print "}" }' >"$tmp/stmts1k.tc"
  aotc "$tmp/stmts1k.tc" -o "$tmp/stmts1k.c"
  expect_ok "1,024 statements writing one tensor" "$tmp/stmts1k.c"
  gen chain 200001 "$tmp/chain.onnx" && aotc "$tmp/chain.onnx" -o "$tmp/chain.c"
  expect_error "ONNX graph of 200,001 nodes" "the model has 200001 nodes; at most 200000 are supported" "$tmp/chain.c"
  gen names "$tmp/samename.onnx" $(awk 'BEGIN { split(".-:/+@!", c, ""); for (k = 0; k < 20000; k++) {
      s = "a_rather_long_value_name"; v = k; for (d = 0; d < 6; d++) { s = s c[v % 7 + 1]; v = int(v / 7) } print s } }') &&
    aotc "$tmp/samename.onnx" -o "$tmp/samename.c"
  expect_ok "20,000 values of one C name (distinct until mangled)" "$tmp/samename.c"
  gen rank "$tmp/rank60.onnx" 60 && aotc "$tmp/rank60.onnx" -o "$tmp/rank60m.c"
  expect_error "ONNX input of rank 60" "rank 60 is not supported" "$tmp/rank60m.c"
}

# ---------------------------------------------------------------- readers
readers() {
  gen bigdecl "$tmp/bigdecl.onnx" 1073741824 && aotc "$tmp/bigdecl.onnx" -o "$tmp/bigdecl.c"
  expect_error "2^30-element initializer without data (no 4 GB allocation)" "memory budget" "$tmp/bigdecl.c"
  gen bigdecl "$tmp/bigdecl1g.onnx" 268435456 && aotc "$tmp/bigdecl1g.onnx" -o "$tmp/bigdecl1g.c"
  expect_error "2^28-element initializer without data" "0 elements stored, the dimensions need 268435456" "$tmp/bigdecl1g.c"
  aotc "$tmp/bigdecl1g.onnx" --max-memory 64M -o "$tmp/bigdecl1g.c"
  expect_error "--max-memory 64M" "more bytes than the memory budget of 67108864" "$tmp/bigdecl1g.c"
  gen opset "$tmp/opset.onnx" 10000 && aotc "$tmp/opset.onnx" -o "$tmp/opset.c"
  expect_error "opset 10000" "opset 10000 of the default domain is not supported" "$tmp/opset.c"
  aotc /dev/zero -o "$tmp/zero.c"
  expect_error "a device as the input" "it is a device" "$tmp/zero.c"
  mkdir -p "$tmp/m/sub" "$tmp/outside"
  head -c 16 /dev/zero >"$tmp/m/w.bin"
  head -c 16 /dev/zero >"$tmp/outside/secret.bin"
  ln -s ../outside/secret.bin "$tmp/m/link.bin"
  ln -s ../outside "$tmp/m/linkdir"
  ln -s /dev/zero "$tmp/m/dev.bin"
  mkfifo "$tmp/m/fifo.bin"
  gen external "$tmp/m/ok.onnx" w.bin && aotc "$tmp/m/ok.onnx" -o "$tmp/m/ok.c"
  expect_ok "external data in the model's folder" "$tmp/m/ok.c"
  local loc want
  for loc in link.bin:"it is a symbolic link" linkdir/secret.bin:"leads outside the model's folder" \
             dev.bin:"it is a symbolic link" fifo.bin:"is not a regular file" sub:"is not a regular file" \
             ../outside/secret.bin:"must be a relative path" /etc/passwd:"must be a relative path"; do
    want=${loc#*:}
    loc=${loc%%:*}
    gen external "$tmp/m/ext.onnx" "$loc" && aotc "$tmp/m/ext.onnx" -o "$tmp/m/ext.c"
    expect_error "external data $loc" "$want" "$tmp/m/ext.c"
  done
}

# ---------------------------------------------------------------- indices read from data
# npy FILE DESCR SHAPE VALUE...: a .npy of 4- or 8-byte little-endian integers, or float zeros ('<f4').
npy() {
  local file=$1 descr=$2 shape=$3 h v b
  shift 3
  h="{'descr': '$descr', 'fortran_order': False, 'shape': $shape, }"
  { printf '\x93NUMPY\x01\x00\x76\x00%s%*s\n' "$h" $((117 - ${#h})) ''
    for v in "$@"; do
      for b in $(seq 0 $(( ${descr:2:1} - 1 ))); do printf "\\x$(printf %02x $(( (v >> (8 * b)) & 255 )))"; done
    done; } >"$file"
}

indices() {
  local fx=$here/fixtures
  tc lut 'def lut(float(K, R) LUT, int32(B, N) I) -> (O) {\n  O(b, n, r) = LUT(I(b, n), r)\n}\ndef scat(float(N) V, int32(N) Idx) -> (H) {\n  H(i) = 0.0 where i in 0:8\n  H(Idx(n)) += V(n)\n}\n'
  aotc "$tmp/lut.tc" -o "$tmp/lut.c"
  expect_ok "TC indirect read and scatter: checked indices" "$tmp/lut.c"
  grep -q 'lut returns 4 when an index' "$tmp/lut.h" || fail "the header names return code 4" "no note in lut.h"
  if $CC -std=c99 -Wall -Wextra -Werror "$here/index_harness.c" "$tmp/lut.c" -o "$tmp/lut_harness" 2>"$tmp/cc.log" &&
     "$tmp/lut_harness" >"$tmp/harness.log"; then
    pass "index out of range: entry returns 4, output canary untouched ($(grep -c '^ok' "$tmp/harness.log") cases)"
  else
    fail "index out of range: entry returns 4, output canary untouched" "$(grep -m 2 FAIL "$tmp/harness.log") $(head -n 3 "$tmp/cc.log")"
  fi
  aotc "$tmp/lut.tc" --unchecked-indices -o "$tmp/lut_u.c"
  expect_ok "--unchecked-indices" "$tmp/lut_u.c"
  if grep -q 'return 4' "$tmp/lut_u.c" || grep -q 'returns 4' "$tmp/lut_u.h"; then
    fail "--unchecked-indices removes the checks" "a check is still in lut_u.c"
  fi
  npy "$tmp/lut_t.npy" '<f4' '(4, 3)' 0 0 0 0 0 0 0 0 0 0 0 0
  npy "$tmp/lut_i.npy" '<i4' '(1, 2)' 1 4
  aotc run "$tmp/lut.tc" --entry lut --input "LUT=$tmp/lut_t.npy" --input "I=$tmp/lut_i.npy" --output-dir "$tmp/lut_out"
  expect_error "aotc run: TC index outside, naming the tensor" "returned 4: an index read from data lies outside its tensor ('LUT' read at indices read from 'I')" "$tmp/lut_out/O.npy"
  npy "$tmp/g_data.npy" '<f4' '(5, 3)' 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
  npy "$tmp/g_idx.npy" '<i8' '(4,)' 0 1 -6 2
  aotc run "$fx/gather_input.onnx" --input "data=$tmp/g_data.npy" --input "indices=$tmp/g_idx.npy" --output-dir "$tmp/g_out"
  expect_error "aotc run: Gather index -6 of 5 rows" "read at indices read from 'indices'" "$tmp/g_out/out.npy"
  npy "$tmp/g_idx_ok.npy" '<i8' '(4,)' 0 1 -5 4
  aotc run "$fx/gather_input.onnx" --input "data=$tmp/g_data.npy" --input "indices=$tmp/g_idx_ok.npy" --output-dir "$tmp/g_ok"
  if [ "$status" -eq 0 ] && [ -s "$tmp/g_ok/out.npy" ]; then pass "aotc run: Gather indices inside (-5 and 4 of 5)"
  else fail "aotc run: Gather indices inside" "status $status: $(grep -m 1 'error: ' "$tmp/stderr")"; fi
  aotc "$fx/gather_const_oob.onnx" -o "$tmp/g_const.c"
  expect_error "constant Gather index 7 of 5: compile-time error" "index 7 computed from constant 'indices' lies outside dimension 0 of 'data' (size 5)" "$tmp/g_const.c" "$tmp/g_const.h"
  aotc "$fx/gather_const_neg.onnx" -o "$tmp/g_neg.c"
  expect_error "constant Gather index -6 of 5: compile-time error" "computed from constant 'indices' lies outside" "$tmp/g_neg.c"
  aotc "$fx/gather_const_ok.onnx" -o "$tmp/g_cok.c"
  expect_ok "constant Gather indices -5 and 4 of 5" "$tmp/g_cok.c"
}

# ---------------------------------------------------------------- partial outputs
outputs() {
  tc two_out 'def f(float(N) A) -> (B, C) {\n  B(i) = A(i)\n  C(i) = A(i) + 1.0\n}\n'
  npy "$tmp/a4.npy" '<f4' '(4,)' 0 0 0 0
  mkdir -p "$tmp/two_out/C.npy"
  aotc run "$tmp/two_out.tc" --input "A=$tmp/a4.npy" --output-dir "$tmp/two_out"
  expect_error "aotc run: a later output cannot be written, the earlier is not left" "C.npy" "$tmp/two_out/B.npy"
}

names
reads
bounds
readers
indices
outputs
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
