#!/usr/bin/env bash
# run.sh: convolutions on their fast paths through compiled C, against
# PyTorch's outputs (made by make_fixtures.py, committed here). For each case
# of cases.txt, `aotc run` on NAME.input.npy is compared with NAME.output.npy
# by tests/e2e/npycmp.c (|got - expected| <= 1e-4 * (1 + |expected|)), and
# the emitted C must show the path the case is for:
#   grouped           the product batched over groups (a `_groups` tensor), no plain-loop warning,
#                     and its padded input copied without a bounds-checked read (as dense)
#   winograd          with AOTC_WINOGRAD=2 and =4 the Winograd product (`_wino_prod`), and
#                     with AOTC_WINOGRAD=0 none (the direct product), all three matching; each
#                     input transform one statement run as a block per slice (slices); and
#                     at batch 2 with AOTC_WINOGRAD_CHUNK=1 a pipeline per image (`_wino_prod_1`)
#   winograd-default  the cost rule alone takes Winograd (and F(4x4) matches too), its
#                     transformed weights (A) packed when compiled, per tile position, and
#                     for --cpu x86-64-v3 gcc -O2 vectorises the output transform's last
#                     stage (the loop writing `output` from `_wino_` tensors: no select
#                     on the column's remainder, unit-stride reads)
#   winograd-few      the cost rule alone takes Winograd at 14x14, batch 1 (49 tiles), its
#                     product's rows the tiles and its columns the output channels
#                     (`aotc_m = 1 * 1 * 7 * 7`: the operands swapped), and F(4x4) matches too;
#                     its transformed weights (now B) packed when compiled, one panel array per
#                     tile position (`aotc_pk..b_... + aotc_q * ...`: no packing at run time)
#   winograd-streamed with AOTC_WINOGRAD=4 (36 tile positions' transformed weights, 1.2 MB)
#                     the product's column tiles outer, the next panel of B prefetched
#                     (`__builtin_prefetch(aotc_nx`), also on two threads; with
#                     AOTC_WINOGRAD=2 (0.5 MB) rows outer, no prefetch; all matching
#   winograd-not      the same convolution at batch 2 (98 tiles): the cost rule keeps the
#                     direct product
#   winograd-many     7x7 at batch 8 (128 tiles): the cost rule takes Winograd
#   dense             batch 2 on the packed path (no plain-loop warning), its padded input
#                     copied by a plain copy and zeroed borders (no bounds-checked read)
#   direct-RxC        the direct product (AOTC_WINOGRAD=0), compiled for --cpu x86-64-v4
#                     with register tiles of R rows by C columns (fitted to the shape)
#   narrow-RxC-KC     as direct-RxC, with depth blocks of KC (deepened: few columns) and
#                     the micro-kernel's narrow last tiles (`if (nr <= 4)`)
#   inplace-RxC       as direct-RxC, and the micro-kernel reads the input's full panels where
#                     they lie (`continue; /* read in place */` in B's packing loop, the
#                     partial last panel still packed; the micro-kernel's `_s` variant)
#   packed-RxC        as direct-RxC, every panel of the input packed (rows 4 KiB apart, or
#                     many rows of weights)
#   strided           a stride-2 convolution, for x86-64-v4: the input's runs
#                     copied by aotc_copy_run_s2 (whole panels, runs, the last
#                     panel), warning-free with and without vectors, and run
#                     natively and under -DAOTC_NO_VECTORS against PyTorch's output
# and a grouped and a Winograd case again on two threads. Two direct cases
# whose input panels cross rows (7 and 14 pixels) again for x86-64-v4: the
# runs copied by masked moves (aotc_copy_run), warning-free with and
# without vectors, and under -DAOTC_NO_VECTORS against PyTorch's output.
#
#   AOTC=build/aotc tests/conv/run.sh [NAME...]
#
# Ends with `N passed, N failed, N skipped`.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/lib.sh
. "$here/../lib.sh"
suite_init conv || exit 2

# compile NAME TAG WINOGRAD: the C in $work/TAG/NAME.c, warnings in .log.
compile() {
  mkdir -p "$work/$2"
  AOTC_WINOGRAD=$3 "$AOTC" "$here/$1.onnx" -o "$work/$2/$1.c" >"$work/$2/$1.log" 2>&1
}

# run NAME TAG WINOGRAD [THREADS]: compiled, run and compared with PyTorch's output.
run() {
  local out=$work/$2/out-$1
  AOTC_WINOGRAD=$3 "$AOTC" run "$here/$1.onnx" --threads "${4:-1}" --input "input=$here/$1.input.npy" --output-dir "$out" \
    >"$out.log" 2>&1 || { echo "aotc run failed: $(grep -m1 error "$out.log")"; return 1; }
  "$work/npycmp" "$out/output.npy" "$here/$1.output.npy"
}

# check NAME TAG WINOGRAD PATTERN WANT: compiled with the pattern in the C
# (WANT=yes) or not (no), no plain-loop warning, and the output matches.
check() {
  local name=$1 tag=$2 wino=$3 pattern=$4 want=$5
  compile "$name" "$tag" "$wino" || { echo "compile failed: $(grep -m1 error "$work/$tag/$name.log")"; return 1; }
  if grep -q -- "$pattern" "$work/$tag/$name.c"; then
    [ "$want" = yes ] || { echo "$pattern in the C"; return 1; }
  else
    [ "$want" = no ] || { echo "no $pattern in the C"; return 1; }
  fi
  ! grep -q "runs as plain loops" "$work/$tag/$name.log" || { echo "$(grep -m1 'plain loops' "$work/$tag/$name.log")"; return 1; }
  run "$name" "$tag" "$wino"
}

# slices NAME: in the C of `check NAME w2 2 ...` each input transform is one
# statement over its 4 slices, a select on the slice index (winograd.c,
# emit_sliced), printed once per slice in a block where that index is a
# constant (emit_print.c, print_select_unrolled): 4 writes of each transform's
# tensor, every one the select, and at least 8 such blocks. Before: 4
# statements with no select, one pass each.
slices() {
  local c=$work/w2/$1.c n
  for t in rows in; do
    n=$(grep -c "_wino_${t}\[.*\] = " "$c")
    [ "$n" = 4 ] || { echo "$n writes of _wino_$t (want 4, one per slice)"; return 1; }
    n=$(grep "_wino_${t}\[.*\] = " "$c" | grep -c "= (c[0-9]* == 0 ?")
    [ "$n" = 4 ] || { echo "$n writes of _wino_$t select on the slice (want 4)"; return 1; }
  done
  n=$(grep -c '^ *const int64_t c[0-9]* = [0-3];$' "$c")
  [ "$n" -ge 8 ] || { echo "$n slice blocks (want 8)"; return 1; }
}

# vectorised NAME: the statement writing `output` from the Winograd stages,
# compiled for x86-64-v3 at -O2, is in a loop gcc vectorises.
vectorised() {
  mkdir -p "$work/vec"
  local c=$work/vec/$1.c l
  "$AOTC" "$here/$1.onnx" --cpu x86-64-v3 -o "$c" >"$work/vec/$1.log" 2>&1 ||
    { echo "compile failed: $(grep -m1 error "$work/vec/$1.log")"; return 1; }
  ${CC:-cc} -std=gnu11 -O2 -fopenmp -march=x86-64-v3 -fopt-info-vec-optimized -c -o "$work/vec/$1.o" "$c" \
    >"$work/vec/$1.vec" 2>&1 || { echo "cc failed"; return 1; }
  l=$(grep -n "^ *output\[.*= .*_wino_" "$c" | head -1 | cut -d: -f1)
  [ -n "$l" ] || { echo "no statement writing output from the Winograd stages"; return 1; }
  grep -q "$1.c:$l:[0-9]*: optimized: loop vectorized" "$work/vec/$1.vec" ||
    { echo "gcc -O2 did not vectorise the output transform's last stage (line $l)"; return 1; }
}

# tile NAME RxC: the product's register tile for x86-64-v4, then the
# native build against PyTorch's output.
tile() {
  mkdir -p "$work/tile"
  AOTC_WINOGRAD=0 "$AOTC" "$here/$1.onnx" --cpu x86-64-v4 -o "$work/tile/$1.c" >"$work/tile/$1.log" 2>&1 ||
    { echo "compile failed: $(grep -m1 error "$work/tile/$1.log")"; return 1; }
  grep -q "packed $2 register tiles" "$work/tile/$1.c" || { echo "no $2 register tiles in the C"; return 1; }
  ! grep -q "runs as plain loops" "$work/tile/$1.log" || { echo "$(grep -m1 'plain loops' "$work/tile/$1.log")"; return 1; }
  run "$1" tile 0
}

# narrow NAME RxC KC: tile's checks, the depth block KC and the narrow tiles in the C.
narrow() {
  why=$(tile "$1" "$2") || { echo "$why"; return 1; }
  grep -q "packed $2 register tiles, blocks [0-9]* x [0-9]* x $3," "$work/tile/$1.c" || { echo "depth block not $3"; return 1; }
  grep -q "if (nr <= 4)" "$work/tile/$1.c" || { echo "no narrow tiles in the micro-kernel"; return 1; }
}

# in_place NAME RxC yes|no: tile's checks, and B's full panels read in
# place (yes) or packed (no).
in_place() {
  why=$(tile "$1" "$2") || { echo "$why"; return 1; }
  if grep -q "continue; /\* read in place \*/" "$work/tile/$1.c"; then
    [ "$3" = yes ] || { echo "B read in place"; return 1; }
    grep -q "aotc_ukr_f32_[0-9x]*_v[0-9]*_s(aotc_kc, " "$work/tile/$1.c" ||
      { echo "not the micro-kernel variant for B in place (_s)"; return 1; }
  else
    [ "$3" = no ] || { echo "B not read in place"; return 1; }
  fi
}

# masked_runs NAME [COPY [MIN]]: the direct product for x86-64-v4 copies its
# input's runs with COPY (aotc_copy_run; at least MIN calls, default 2: a full
# panel and the last), builds with -std=c99 -Wall -Wextra -Werror (AVX-512
# on, and -DAOTC_NO_VECTORS), and the native build matches PyTorch's output.
masked_runs() {
  local copy=${2:-aotc_copy_run} min=${3:-2}
  AOTC_WINOGRAD=0 "$AOTC" "$here/$1.onnx" --cpu x86-64-v4 -o "$work/runs/$1.c" >"$work/runs/$1.log" 2>&1 ||
    { echo "compile failed: $(grep -m1 error "$work/runs/$1.log")"; return 1; }
  [ "$(grep -c "$copy(&aotc_d\[" "$work/runs/$1.c")" -ge "$min" ] ||
    { echo "fewer than $min masked copies ($copy) in the C"; return 1; }
  local v
  for v in -march=x86-64-v4 -DAOTC_NO_VECTORS; do
    ${CC:-cc} -std=c99 -Wall -Wextra -Werror -fopenmp $v -c "$work/runs/$1.c" -o "$work/runs/$1.o" \
      >"$work/runs/$1.cc" 2>&1 || { echo "warnings or errors with $v: $(grep -m1 -E 'warning|error' "$work/runs/$1.cc")"; return 1; }
  done
  run "$1" runs 0
}

while read -r name path; do
  suite_selected "$name" "$@" || continue
  case $path in
  grouped)
    why=$(check "$name" grouped "" _groups yes); suite_result "$name (grouped)" $? "$why"
    why=$(check "$name" grouped "" "_padded\[[^]]*\] = ((" no); suite_result "$name (padded copy without a bounds check)" $? "$why" ;;
  dense)
    why=$(check "$name" dense "" _groups no); suite_result "$name (dense, packed)" $? "$why"
    why=$(check "$name" dense "" "_padded\[[^]]*\] = ((" no); suite_result "$name (padded copy without a bounds check)" $? "$why" ;;
  winograd)
    for w in 2 4 0; do
      want=yes; [ "$w" = 0 ] && want=no
      why=$(check "$name" "w$w" "$w" _wino_prod $want); suite_result "$name (AOTC_WINOGRAD=$w)" $? "$why"
    done
    why=$(slices "$name"); suite_result "$name (input transforms: one statement, a block per slice)" $? "$why"
    case $name in
    *_b[2-9]_*)
      why=$(AOTC_WINOGRAD_CHUNK=1 check "$name" chunk 2 _wino_prod_1 yes)
      suite_result "$name (AOTC_WINOGRAD=2, one image at a time)" $? "$why" ;;
    esac ;;
  winograd-few)
    why=$(check "$name" default "" "aotc_m = 1 \* 1 \* 7 \* 7;" yes); suite_result "$name (cost rule: Winograd, tiles as rows)" $? "$why"
    why=$(check "$name" w4 4 _wino_prod yes); suite_result "$name (AOTC_WINOGRAD=4)" $? "$why"
    why=$(check "$name" default "" "aotc_pk[0-9]*b_[A-Za-z0-9_]* + aotc_q \* (int64_t)" yes)
    suite_result "$name (weights packed when compiled, per tile position)" $? "$why" ;;
  winograd-streamed)
    why=$(check "$name" w4 4 "__builtin_prefetch(aotc_nx" yes); suite_result "$name (F(4x4): weights streamed, columns outer)" $? "$why"
    why=$(check "$name" w2 2 "__builtin_prefetch(aotc_nx" no); suite_result "$name (F(2x2): weights in L2, rows outer)" $? "$why"
    mkdir -p "$work/t2"
    why=$(OMP_NUM_THREADS=2 run "$name" t2 4 2); suite_result "$name (F(4x4), --threads 2)" $? "$why" ;;
  winograd-not) why=$(check "$name" default "" _wino_prod no); suite_result "$name (cost rule: direct)" $? "$why" ;;
  winograd-many) why=$(check "$name" default "" _wino_prod yes); suite_result "$name (cost rule: Winograd, many tiles)" $? "$why" ;;
  direct-*) why=$(tile "$name" "${path#direct-}"); suite_result "$name (direct, ${path#direct-} tiles)" $? "$why" ;;
  narrow-*)
    spec=${path#narrow-}
    why=$(narrow "$name" "${spec%-*}" "${spec##*-}"); suite_result "$name (narrow tiles, depth block ${spec##*-})" $? "$why" ;;
  inplace-*) why=$(in_place "$name" "${path#inplace-}" yes); suite_result "$name (input read in place, ${path#inplace-} tiles)" $? "$why" ;;
  packed-*) why=$(in_place "$name" "${path#packed-}" no); suite_result "$name (input packed, ${path#packed-} tiles)" $? "$why" ;;
  winograd-default)
    why=$(check "$name" default "" _wino_prod yes); suite_result "$name (cost rule takes Winograd)" $? "$why"
    why=$(check "$name" w4 4 _wino_prod yes); suite_result "$name (AOTC_WINOGRAD=4)" $? "$why"
    why=$(check "$name" default "" "aotc_pk[0-9]*a_[A-Za-z0-9_]* + aotc_q \* (int64_t)" yes)
    suite_result "$name (weights packed when compiled, per tile position)" $? "$why"
    why=$(vectorised "$name"); suite_result "$name (output transform vectorised, x86-64-v3 -O2)" $? "$why" ;;
  esac
done <"$here/cases.txt"
# Panels of the input that cross its rows (7 and 14 pixels wide), on x86:
# the runs copied by masked 16-lane moves (aotc_copy_run), the full panels'
# and the last, partial one's; then the same C under -DAOTC_NO_VECTORS (the
# loops beside them).
printf '#!/bin/sh\nexec %s -DAOTC_NO_VECTORS "$@"\n' "${CC:-cc}" >"$work/cc-novec" && chmod +x "$work/cc-novec"
for name in dense_n49_7x7 dense_b2_14x14; do
  suite_selected "$name" "$@" || continue
  mkdir -p "$work/runs" "$work/novec"
  why=$(masked_runs "$name"); suite_result "$name (panels across rows as masked runs)" $? "$why"
  why=$(CC=$work/cc-novec run "$name" novec 0); suite_result "$name (-DAOTC_NO_VECTORS)" $? "$why"
done
# Stride-2 convolutions (path strided): every other float of the input's rows
# copied by aotc_copy_run_s2 in whole panels, in runs across rows and in the
# last panel (three calls), the same checks, and the loops beside them.
while read -r name path; do
  [ "$path" = strided ] && suite_selected "$name" "$@" || continue
  mkdir -p "$work/runs" "$work/novec"
  why=$(masked_runs "$name" aotc_copy_run_s2 3); suite_result "$name (stride-2 runs by even-float permutes)" $? "$why"
  why=$(CC=$work/cc-novec run "$name" novec 0); suite_result "$name (-DAOTC_NO_VECTORS)" $? "$why"
done <"$here/cases.txt"
# Two threads (OpenMP): the batched products split across threads.
for name in grouped_g3_s2_b2 wino_b2_c19_k24_15x13 dense_n49_7x7 dense_m19_k297 pointwise_b2_m16 narrow_n36_k288 inplace_m24_20x30; do
  suite_selected "$name" "$@" || continue
  mkdir -p "$work/t2"
  why=$(OMP_NUM_THREADS=2 run "$name" t2 2 2); suite_result "$name (--threads 2)" $? "$why"
done
suite_end
