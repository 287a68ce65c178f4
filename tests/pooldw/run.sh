#!/usr/bin/env bash
# run.sh: window kernels (pooling, depthwise convolution, squeeze-and-
# excitation, a classifier's matrix-vector product) through compiled C,
# against PyTorch's outputs (made by make_fixtures.py, committed here). For
# each case of cases.txt, `aotc run` on NAME.input.npy is compared with
# NAME.output.npy by tests/e2e/npycmp.c (|got - expected| <= 1e-4 * (1 +
# |expected|)), and the emitted C must show the path the case is for:
#   pool       with AOTC_WINDOW=1 (every width), the window's plane kernel
#              (src/emit_c/emit_window.c: strips of padded planes, one per
#              phase of the stride, summed in passes of four rows), no
#              reduction loop over the window (`reduction(`), no padded copy
#              (`_padded`), no padding condition (`>= 0 &&`) in the window's
#              stores, vectorised loops (`omp simd`); with AOTC_WINDOW=rows
#              the same checks on the row kernel (a local row accumulator,
#              the taps of each input row in one loop, column ranges split
#              at compile time), which `--cpu cortex-m4` gets
#   depthwise  the same with the convolution's batch normalisation and
#              activation (or a residual add) in the row kernel: one loop nest
#   pool-taps  a pool the row kernel does not take (its Pad copy shares its
#              kernel): one statement per window tap over the outputs it
#              reaches, no reduction loop, no padded copy, no padding
#              condition, vectorised loops
#   flat       a depthwise plane kernel (as depthwise) on an output narrower
#              than 32 columns whose activation runs in one flat pass over
#              the strip's sums, here one strip holding the plane: over all
#              its sums in whole 64-byte vectors (`aotc_ww < N;`, N a
#              multiple of 16)
#   wide       a depthwise plane kernel (as depthwise) over 64, 28 or 14
#              output columns, in 64-byte vectors (`aotc_q += 16`)
#   fused      a depthwise plane kernel whose output rows are whole vectors:
#              each pass's sums go through the pointwise statements to the
#              output from a vector's worth of locals (`float aotc_t[`), no
#              pass over a strip of sums; run again with the emitted C built
#              under -DAOTC_NO_VECTORS (the scalar loops beside the vectors)
#   masked     a depthwise plane kernel (as depthwise) on a small stride-1
#              plane summed by AVX-512 masked loads of the input
#              (`_mm512_maskz_loadu_ps((__mmask16)0x`), the padded planes
#              under #else; run again under -DAOTC_NO_VECTORS (that #else)
#   phases     a depthwise plane kernel (as depthwise) at stride 2 or 3 on
#              input rows of at most 32 floats: each plane row a masked
#              permutation of the input row (`_mm512_maskz_permutex2var_ps`),
#              the loops under #else; run again under -DAOTC_NO_VECTORS
#   phases-wide  the same at stride 2 on wider rows (plane rows of up to 64
#              columns): each 16 columns of a plane row one masked
#              permutation of two masked loads from its first input float
#   flat-se    the same, its output feeding an SE block whose global average
#              pool the window kernel sums after each plane (in cache)
#   (flat, wide, fused, masked and phases*: the C also builds warning-free, -std=c99 -Wall
#   -Wextra -Werror, with this CPU's vectors and under -DAOTC_NO_VECTORS)
#   grouped    a stride-1 grouped convolution as the direct kernel
#              (src/emit_c/emit_grouped.c), not the packed path
#   grouped-packed  one the direct kernel leaves to the packed path (stride
#              2; output channels of a group no multiple of 4)
#   se         the pooled vector, the two small products and the gate stay
#              off the packed path (no `aotc_ukr_`), no padded copy
#   matvec     the classifier's product streams the weights (no `aotc_ukr_`)
# dw3_s2_large (make_text_cases.py, no data saved) is only compiled: its
# input is past a last-level cache and the plane kernel prefetches the next
# plane's rows (a small input does not), warning-free.
# Without AOTC_WINDOW, the plane kernel takes every depthwise case and
# leaves the pools to the per-tap statements, a max pool's taps on one
# element in a local (`aotc_chain`). Every case
# again on two threads, and the pooling and depthwise cases
# with AOTC_WINDOW=0 (the per-tap statements, whose path is checked too),
# through `--backend llvm` (skipped when aotc was built without LLVM; the
# masked cases there on 1 and 2 threads as masked 16-lane sums, the grouped
# ones as the direct kernel) and
# `--target cuda-sim` (the emitted CUDA on the CPU simulator), which keep
# the per-tap statements.
#
#   AOTC=build/aotc tests/pooldw/run.sh [NAME...]
#
# Ends with `N passed, N failed, N skipped`.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/lib.sh
. "$here/../lib.sh"
suite_init pooldw || exit 2

# run NAME TAG THREADS [OPTIONS...]: compiled, run and compared with PyTorch's output.
run() {
  local name=$1 tag=$2 threads=$3 out=$work/$2/out-$1
  shift 3
  mkdir -p "$work/$tag"
  "$AOTC" run "$here/$name.onnx" --threads "$threads" "$@" --input "input=$here/$name.input.npy" --output-dir "$out" \
    >"$out.log" 2>&1 || { echo "aotc run failed: $(grep -m1 error "$out.log")"; return 1; }
  "$work/npycmp" "$out/output.npy" "$here/$name.output.npy"
}

# absent FILE PATTERN...: none of the patterns in FILE.
absent() {
  local file=$1
  shift
  for p in "$@"; do
    ! grep -q -- "$p" "$file" || { echo "'$p' in the C"; return 1; }
  done
}

# present FILE PATTERN WHY: the pattern in FILE, else WHY.
present() {
  grep -q -- "$2" "$1" || { echo "$3"; return 1; }
}

# taps FILE: the per-tap statements (pool-taps, or AOTC_WINDOW=0; a 7x7
# window's 49 taps take two loop nests there).
taps() {
  absent "$1" "reduction(" _padded emit_window.c || return 1
  grep -q "omp simd" "$1" || { echo "no omp simd"; return 1; }
  ! grep -E "^ *(output|_0_Conv_output_0)\[" "$1" | grep -q ">= 0 &&" ||
    { echo "a padding condition in the window's statements"; return 1; }
}

# chained NAME FILE: a max pool's per-tap statements on one output element
# kept in a local and stored once (emit_print.c, print_chain).
chained() {
  case $1 in max_*) grep -q "= aotc_chain;" "$2" || { echo "the max pool's taps not chained in a local"; return 1; } ;; esac
}

# window FILE KIND row|plane: the row kernel or the plane kernel.
window() {
  absent "$1" "reduction(" _padded || return 1
  grep -q "omp simd" "$1" || { echo "no omp simd"; return 1; }
  grep -q "as a $3 kernel (emit_window.c)" "$1" || { echo "no window $3 kernel"; return 1; }
  [ "$2" != depthwise ] || [ "$(grep -c "^  for (" "$1")" = 1 ] || { echo "not one loop nest"; return 1; }
  ! grep -E "\[aotc_wo \+ aotc_ww\] = " "$1" | grep -q ">= 0 &&" ||
    { echo "a padding condition in the window's stores"; return 1; }
}

# fused FILE: each pass's rows ended from its sums, no per-row pass; the
# planes and sums ask for their alignment (gcc 12 stored to them with
# aligned moves in an OpenMP region's unaligned frame under
# -DAOTC_NO_VECTORS, on MobileNetV2; these small cases do not show it).
fused() {
  grep -q "float aotc_t\[" "$1" && grep -q "aotc_ww < aotc_x0 + " "$1" ||
    { echo "the passes' ends not fused"; return 1; }
  grep -q "float aotc_o\[[0-9]*\] AOTC_ALIGN(64);" "$1" && grep -q "float aotc_p0_0\[[0-9]*\] AOTC_ALIGN(64);" "$1" ||
    { echo "the planes' alignment not asked for"; return 1; }
  absent "$1" "aotc_acc = &aotc_o\[(aotc_wh - aotc_h0)"
}

# clean FILE: the C builds with -std=c99 -Wall -Wextra -Werror for this
# CPU, with its vectors and under -DAOTC_NO_VECTORS (a fused kernel's sums
# are read by the scalar loops alone).
clean() {
  local v
  for v in "" -DAOTC_NO_VECTORS; do
    ${CC:-cc} -std=c99 -Wall -Wextra -Werror -march=native -fopenmp $v -c "$1" -o "$1.o" >"$1.cc" 2>&1 ||
      { echo "warnings or errors with '$v': $(grep -m1 -E 'warning|error' "$1.cc")"; return 1; }
  done
}

# flat FILE: the plane kernel's pointwise statements in one flat pass over
# the plane's sums, a whole number of 16-float vectors.
flat() {
  local n
  n=$(grep -A4 "float \*aotc_acc = aotc_o;" "$1" | sed -n 's/.*aotc_ww < \([0-9]*\); aotc_ww++.*/\1/p' | head -1)
  [ -n "$n" ] || { echo "no flat pointwise pass over the plane"; return 1; }
  [ $((n % 16)) = 0 ] || { echo "the flat pass over $n sums, no whole number of vectors"; return 1; }
}

# pooled FILE: the SE block's global average pool summed in the window
# kernel, each plane read back once while in cache (no separate pass).
pooled() {
  grep -q "const float aotc_g[0-9]* = aotc_acc;" "$1" || { echo "the pool not in the window kernel"; return 1; }
}

# path NAME PATH [TAG]: the emitted C of NAME shows PATH (see the header).
path() {
  local c=$work/c${3:-}/$1.c
  mkdir -p "$work/c${3:-}"
  "$AOTC" "$here/$1.onnx" -o "$c" >"$c.log" 2>&1 || { echo "compile failed: $(grep -m1 error "$c.log")"; return 1; }
  case $2 in
  pool | depthwise) window "$c" "$2" plane ;;
  rows-*) window "$c" "${2#rows-}" row ;;
  default-*)
    case $2 in
    default-depthwise | default-wide | default-fused | default-masked | default-phases | default-phases-wide) window "$c" depthwise plane ;;
    *) taps "$c" && chained "$1" "$c" ;;
    esac ;;
  pool-taps | taps-*) taps "$c" ;;
  flat) window "$c" depthwise plane && flat "$c" && clean "$c" ;;
  wide) window "$c" depthwise plane && present "$c" "aotc_q += 16)" "not 64-byte vectors" && clean "$c" ;;
  fused) window "$c" depthwise plane && fused "$c" && clean "$c" ;;
  masked) window "$c" depthwise plane && present "$c" "_mm512_maskz_loadu_ps((__mmask16)0x" "no masked loads" &&
    clean "$c" ;;
  phases) window "$c" depthwise plane && present "$c" "_mm512_maskz_permutex2var_ps(" "no plane rows from registers" &&
    clean "$c" ;;
  phases-wide) window "$c" depthwise plane &&
    present "$c" "permutex2var_ps((__mmask16)0x[0-9a-f]*, _mm512_maskz_loadu_ps(" "no wide plane rows from registers" &&
    clean "$c" ;;
  flat-se) flat "$c" && pooled "$c" && absent "$c" _padded ;;
  grouped) grep -q "as a direct kernel (emit_grouped.c)" "$c" || { echo "no direct kernel"; return 1; } ;;
  grouped-packed) grep -q "aotc_ukr_" "$c" && absent "$c" emit_grouped.c ;;
  se) absent "$c" aotc_ukr_ _padded ;;
  matvec) absent "$c" aotc_ukr_ ;;
  esac
}

# other NAME TAG OPTIONS...: PASS, FAIL or SKIP (aotc built without LLVM).
other() {
  local name=$1 tag=$2
  shift 2
  why=$(run "$name" "$tag" 1 "$@")
  local st=$?
  if [ $st != 0 ] && grep -q "without LLVM" "$work/$tag/out-$name.log" 2>/dev/null; then
    suite_result "$name ($*)" 77 "aotc built without LLVM"
  else
    suite_result "$name ($*)" $st "$why"
  fi
}

# POOLDW_SAMPLE=N: the runs on two threads, LLVM and cuda-sim for every
# Nth case only (CI's shorter variant; every case's own path and output,
# and the fused cases' scalar build, are always checked).
sample=${POOLDW_SAMPLE:-1} case_no=0
# The compiler under -DAOTC_NO_VECTORS, for the fused cases' scalar run.
printf '#!/bin/sh\nexec %s -DAOTC_NO_VECTORS "$@"\n' "${CC:-cc}" >"$work/cc-novec" && chmod +x "$work/cc-novec"
export AOTC_WINDOW=1
while read -r name kind; do
  suite_selected "$name" "$@" || continue
  why=$(path "$name" "$kind") && why=$(run "$name" t1 1)
  suite_result "$name ($kind)" $? "$why"
  if [ "$kind" = fused ] || [ "$kind" = masked ] || [ "$kind" = phases ] || [ "$kind" = phases-wide ]; then
    why=$(CC=$work/cc-novec OMP_NUM_THREADS=2 run "$name" novec 2)
    suite_result "$name ($kind, -DAOTC_NO_VECTORS, --threads 2)" $? "$why"
  fi
  case_no=$((case_no + 1))
  [ $(((case_no - 1) % sample)) = 0 ] || continue
  why=$(OMP_NUM_THREADS=2 run "$name" t2 2); suite_result "$name ($kind, --threads 2)" $? "$why"
  case $kind in pool* | depthwise* | wide | fused | masked | phases*) ;; *) continue ;; esac
  if [ "$kind" != pool-taps ]; then
    why=$(export AOTC_WINDOW=0; path "$name" "taps-$kind" -taps && run "$name" taps 1)
    suite_result "$name (AOTC_WINDOW=0: per-tap statements)" $? "$why"
    why=$(export AOTC_WINDOW=rows; path "$name" "rows-$kind" -rows && run "$name" rows 1)
    suite_result "$name (AOTC_WINDOW=rows: the row kernel)" $? "$why"
    why=$(unset AOTC_WINDOW; path "$name" "default-$kind" -default && run "$name" default 1)
    suite_result "$name (no AOTC_WINDOW: plane kernel for depthwise)" $? "$why"
  fi
  other "$name" llvm --backend llvm
  other "$name" cudasim --target cuda-sim
done <"$here/cases.txt"
# llvm_threads NAME VARIANT LABEL FN [ARGS...]: `FN NAME THREADS ARGS...` on
# 1 and 2 threads, a result each (skipped when aotc was built without LLVM).
llvm_threads() {
  local name=$1 variant=$2 label=$3 fn=$4 th why st
  shift 4
  for th in 1 2; do
    why=$("$fn" "$name" "$th" "$@")
    st=$?
    grep -q "without LLVM" "$work/$variant-t$th/out-$name.log" 2>/dev/null && st=77 why="aotc built without LLVM"
    suite_result "$name (--backend llvm --threads $th: $label)" $st "$why"
  done
}
# The LLVM backend's masked sums (llvm_window.c): the masked cases (masks
# constant) and three wider planes (masks computed when run) through
# `--backend llvm` on 1 and 2 threads against PyTorch, the window built as
# 16-lane masked loads into local sums (`window_sums`,
# `llvm.masked.load.v16f32` in the IR before the pipeline).
llvm_masked() {
  local name=$1 threads=$2 ir=$work/llvm-masked/$1.t$2.ll
  mkdir -p "$work/llvm-masked"
  AOTC_LLVM_IR_RAW=$ir run "$name" "llvm-masked-t$threads" "$threads" --backend llvm || return $?
  grep -q "%window_sums = alloca" "$ir" || { echo "no masked window sums in the IR"; return 1; }
  grep -q "call <16 x float> @llvm.masked.load.v16f32" "$ir" || { echo "no masked 16-lane load in the IR"; return 1; }
}
for name in $(awk '$2 == "masked" { print $1 }' "$here/cases.txt") dw3_s1_w64 dw3_s1_residual_w32 dw3_s1_strips; do
  suite_selected "$name" "$@" || continue
  llvm_threads "$name" llvm-masked "masked 16-lane sums" llvm_masked
done
# The LLVM backend's strided windows (llvm_window.c): depthwise windows of
# stride 2 and 3 through `--backend llvm` on 1 and 2 threads against
# PyTorch, summed per output row from masked loads of 16 s input floats
# (`window_strided_sums`, `llvm.masked.load.v32f32` or `.v48f32` in the IR).
llvm_strided() {
  local name=$1 threads=$2 lanes=$3 ir=$work/llvm-strided/$1.t$2.ll
  mkdir -p "$work/llvm-strided"
  AOTC_LLVM_IR_RAW=$ir run "$name" "llvm-strided-t$threads" "$threads" --backend llvm || return $?
  grep -q "%window_strided_sums = alloca" "$ir" || { echo "no strided window sums in the IR"; return 1; }
  grep -q "call <$lanes x float> @llvm.masked.load.v${lanes}f32" "$ir" || { echo "no $lanes-float masked load in the IR"; return 1; }
}
for c in dw3_s2_silu:32 dw5_s2_hswish:32 dw3_s2_nobias:32 dw3_s2_phases_14:32 dw5_s2_phases_27:32 dw3_s3_phases_32:48; do
  name=${c%:*}
  suite_selected "$name" "$@" || continue
  llvm_threads "$name" llvm-strided "strided sums" llvm_strided "${c#*:}"
done
# The LLVM backend's grouped convolutions (llvm_grouped.c): the grouped
# cases as the direct kernel (its local planes, `grouped_planes`, in the
# IR), the grouped-packed ones on the packed path (none), on 1 and 2
# threads against PyTorch.
llvm_grouped() {
  local name=$1 threads=$2 want=$3 ir=$work/llvm-grouped/$1.t$2.ll
  mkdir -p "$work/llvm-grouped"
  AOTC_LLVM_IR_RAW=$ir run "$name" "llvm-grouped-t$threads" "$threads" --backend llvm || return $?
  if grep -q "%grouped_planes = alloca" "$ir"; then
    [ "$want" = grouped ] || { echo "the direct kernel where the packed path belongs"; return 1; }
  else
    [ "$want" != grouped ] || { echo "no direct kernel in the IR"; return 1; }
  fi
}
while read -r name kind; do
  case $kind in grouped | grouped-packed) ;; *) continue ;; esac
  suite_selected "$name" "$@" || continue
  llvm_threads "$name" llvm-grouped "$kind" llvm_grouped "$kind"
done <"$here/cases.txt"
# Compiled only (make_text_cases.py): the plane kernel over an input past a
# last-level cache (38.5 MB) prefetches the next plane's rows as it copies
# a plane's, and builds warning-free; a small one (dw3_s2_relu6_w32) does not.
prefetch() {
  local c=$work/c/$1.c
  mkdir -p "$work/c"
  "$AOTC" "$here/$1.onnx" -o "$c" >"$c.log" 2>&1 || { echo "compile failed: $(grep -m1 error "$c.log")"; return 1; }
  if grep -q "__builtin_prefetch(aotc_r + " "$c"; then
    [ "$2" = yes ] || { echo "the next plane prefetched"; return 1; }
  else
    [ "$2" = no ] || { echo "no prefetch of the next plane"; return 1; }
  fi
  clean "$c"
}
if suite_selected dw3_s2_large "$@"; then
  why=$(prefetch dw3_s2_large yes); suite_result "dw3_s2_large (input past the cache: next plane prefetched)" $? "$why"
fi
if suite_selected dw3_s2_relu6_w32 "$@"; then
  why=$(prefetch dw3_s2_relu6_w32 no); suite_result "dw3_s2_relu6_w32 (input in the cache: no prefetch)" $? "$why"
fi
suite_end
