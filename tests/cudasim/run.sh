#!/usr/bin/env bash
# tests/cudasim/run.sh: the tests of the CPU simulator for CUDA (runtime/cuda_sim*.{h,cc}).
# Builds the hand-written .cu files of this directory with g++ against the simulator, runs
# each test in forward, reverse and random thread order (the output must pass the C reference
# and be bit-identical across the three), runs the catch-a-bug tests (a matmul with a barrier
# removed, divergent barriers and a shuffle reached by half a warp named by line, and, with --san, an out-of-bounds shared access
# reported by ASan), runs the pthreads mode under ThreadSanitizer (a removed barrier is a
# reported race), and checks that the same .cu files compile with nvcc for sm_80 and sm_90
# without warnings or spills (skipped without nvcc).
#
#   tests/cudasim/run.sh          plain build, pthreads mode, ThreadSanitizer, nvcc
#   tests/cudasim/run.sh --san    the same tests under ASan+UBSan, and the ASan catch test
#
# Then the CUDA that aotc emits (emitted.sh): the TC kernel corpus (tests/kernels) and the small
# model fixtures through `aotc run --target cuda-sim` against their references in all three
# thread orders (the whole corpus under ASan+UBSan with --san; every 4th case in the plain run,
# CUDA_SAMPLE=1 for all), and every emitted .cu through nvcc for sm_80 and
# sm_90 with its resource usage checked against the mapping's budget (plain run only);
# the mapping's options (unroll=, split=, reduce=) changing the emitted code and keeping it
# correct (emitted_options, plain run only); `aotc tune --target cuda-sim` on a matmul and a
# reduction (emitted_tune, plain run only); and
# (plain run) that the corpus's reductions with few outputs use the cross-thread path.
#
# Ends with `N passed, N failed, N skipped`. CXX (default g++) and NVCC (default nvcc, then
# /usr/local/cuda/bin/nvcc) choose the compilers; AOTC (default build/aotc) the compiler under
# test; KEEP=1 keeps the build directory; CUDA_SIM_EMITTED=0 leaves the emitted corpus on the
# simulator to the --san run (the plain run keeps its tuning and nvcc checks); ONLY=emitted runs
# only the emitted-code tests (ONLY=tune only the tuning ones, ONLY=options the options ones,
# ONLY=promote the shared-memory promotion of transposed reads),
# ONLY=sim only the hand-written ones; CUDA_CASES="ENTRY ..." limits the corpus.
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
here=tests/cudasim
san=0
[ "${1:-}" = --san ] && san=1
cxx=${CXX:-g++}
build=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] && echo "kept $build" || rm -rf "$build"' EXIT
passed=0 failed=0 skipped=0

pass() { passed=$((passed + 1)); echo "PASS $*"; }
skip() { skipped=$((skipped + 1)); echo "SKIP $*"; }
fail() {
  failed=$((failed + 1)); echo "FAIL $1"; shift
  [ $# -gt 0 ] && [ -s "$1" ] && sed 's/^/    /' "$1" | tail -n 25
}

# ------------------------------------------------------------------ building

kernels=(matmul reduce elementwise bugs main)
common=(-std=c++17 -g -Wall -Wextra -Werror -DAOTC_CUDA_SIM -I"$root/runtime" -I"$root/$here")

# obj FLAVOR NAME SOURCE FLAGS...: compiles one object into $build/obj-FLAVOR/NAME.o.
obj() {
  local flavor=$1 name=$2 src=$3; shift 3
  mkdir -p "$build/obj-$flavor"
  nice "$cxx" "${common[@]}" "$@" -c -x c++ "$src" -o "$build/obj-$flavor/$name.o" \
    2>>"$build/$flavor.log"
}

# flavor NAME FLAGS...: the runtime, the harness and the kernels built with FLAGS, linked as
# $build/NAME, plus $build/NAME-drop1 and -drop2 (the matmul without one of its barriers).
# bugs.cu takes BUGFLAGS instead when set (ASan alone, so the ASan report is what the
# out-of-bounds test sees).
flavor() {
  local name=$1; shift
  local objs=() pids=() k ok=0
  for k in cuda_sim cuda_sim_exec; do obj "$name" "$k" runtime/$k.cc "$@" & pids+=($!); done
  for k in "${kernels[@]}"; do
    if [ "$k" = bugs ] && [ -n "${BUGFLAGS:-}" ]; then
      obj "$name" "$k" $here/$k.cu $BUGFLAGS & pids+=($!)
    else
      obj "$name" "$k" $here/$k.cu "$@" & pids+=($!)
    fi
    [ ${#pids[@]} -ge 2 ] && { wait "${pids[0]}" || ok=1; pids=("${pids[@]:1}"); }
  done
  for k in 1 2; do obj "$name" "matmul-drop$k" $here/matmul.cu "$@" -DAOTC_TEST_DROP_BARRIER=$k & pids+=($!)
    [ ${#pids[@]} -ge 2 ] && { wait "${pids[0]}" || ok=1; pids=("${pids[@]:1}"); }
  done
  for k in "${pids[@]}"; do wait "$k" || ok=1; done
  [ $ok -eq 0 ] || return 1
  local base=("$build/obj-$name"/{cuda_sim,cuda_sim_exec,reduce,elementwise,bugs,main}.o)
  nice "$cxx" "$@" "${base[@]}" "$build/obj-$name/matmul.o" -o "$build/$name" -lpthread &&
    nice "$cxx" "$@" "${base[@]}" "$build/obj-$name/matmul-drop1.o" -o "$build/$name-drop1" -lpthread &&
    nice "$cxx" "$@" "${base[@]}" "$build/obj-$name/matmul-drop2.o" -o "$build/$name-drop2" -lpthread
} 2>>"$build/link.log"

# ------------------------------------------------------------------ running

# runs BIN ORDER MODE ARGS...: one run; stdout to $build/out, stderr to $build/err.
runs() {
  local bin=$1 order=$2 mode=$3; shift 3
  AOTC_SIM_ORDER=$order AOTC_SIM_MODE=$mode AOTC_SIM_SEED=${AOTC_SIM_SEED:-12345} \
    timeout 300 "$build/$bin" "$@" >"$build/out" 2>"$build/err"
}

hash_of() { grep -o 'hash=[0-9a-f]*' "$build/out" "$build/err" | head -n 1 | cut -d= -f2; }

# orders BIN ARGS...: the test passes in all three orders with one output hash.
orders() {
  local bin=$1; shift
  local o h first=""
  for o in forward reverse random; do
    if ! runs "$bin" $o fibers "$@" || ! grep -q ': ok' "$build/out"; then
      fail "$bin $* [$o order]" "$build/err"; return
    fi
    h=$(hash_of)
    [ -z "$first" ] && first=$h
    [ "$h" = "$first" ] || { fail "$bin $*: $o order gives hash $h, forward gave $first"; return; }
  done
  pass "$bin $* (forward, reverse, random agree${first:+: $first})"
}

# pthreads BIN ARGS...: the pthreads mode passes and gives the fiber mode's bits.
pthreads() {
  local bin=$1 h; shift
  runs "$bin" forward fibers "$@" && h=$(hash_of)
  if ! runs "$bin" forward pthreads "$@" || ! grep -q ': ok' "$build/out"; then
    fail "$bin $* [pthreads mode]" "$build/err"
  elif [ "$(hash_of)" != "$h" ]; then
    fail "$bin $* [pthreads mode]: hash $(hash_of), fibers gave $h"
  else
    pass "$bin $* [pthreads mode] (same bits as fibers)"
  fi
}

# The line of bugs.cu marked BUG-LINE TAG.
bug_line() { grep -n "BUG-LINE $1" $here/bugs.cu | cut -d: -f1; }

# barrier_bug BIN TEST TAG [TAG2]: the launch fails with FILE:LINE naming the bad barrier
# (and, with TAG2, the other barrier) in every order.
barrier_bug() {
  local bin=$1 test=$2 line o; line=$(bug_line "$3")
  local want="bugs.cu:$line: error: __syncthreads() reached by"
  for o in forward reverse random; do
    runs "$bin" $o fibers "$test" 100
    if [ $? -ne 1 ] || ! grep -qF "$want" "$build/err" ||
       { [ -n "${4:-}" ] && ! grep -qF "bugs.cu:$(bug_line "$4")" "$build/err"; }; then
      fail "$bin $test [$o order]: expected '$want...'" "$build/err"; return
    fi
  done
  pass "$bin $test: $(grep -m1 -F "$want" "$build/err" | cut -c1-110)..."
}

# dropped_barrier BIN: the matmul without a barrier fails its check or disagrees between
# orders (NaN from the poisoned shared memory, or a tile overwritten too early).
dropped_barrier() {
  local bin=$1 o how="" hashes=""
  for o in forward reverse random; do
    runs "$bin" $o fibers matmul 37 45 29
    grep -q ': ok' "$build/out" || how="$how $o:$(grep -o 'first.*=[^,]*' "$build/err" | head -n 1 | cut -c1-40)"
    hashes="$hashes $(hash_of)"
  done
  [ "$(tr ' ' '\n' <<<"$hashes" | sort -u | grep -c .)" -gt 1 ] && how="$how; orders disagree"
  if [ -n "$how" ]; then pass "$bin matmul caught:$how"
  else fail "$bin matmul: the removed barrier went unnoticed"; fi
}

# tsan_clean BIN ARGS... / tsan_race BIN ARGS...: ThreadSanitizer on the pthreads mode.
tsan_clean() {
  local bin=$1; shift
  if runs "$bin" forward pthreads "$@" && grep -q ': ok' "$build/out" &&
     ! grep -q ThreadSanitizer "$build/err"; then pass "$bin $* [pthreads, no race]"
  else fail "$bin $* [pthreads]" "$build/err"; fi
}

tsan_race() {
  local bin=$1; shift
  runs "$bin" forward pthreads "$@"
  if grep -q 'WARNING: ThreadSanitizer: data race' "$build/err" &&
     grep -q 'matmul.cu:[0-9]* in matmul_kernel' "$build/err"; then
    pass "$bin $* [pthreads]: $(grep -m1 'SUMMARY: ThreadSanitizer' "$build/err" | cut -c1-90)"
  else fail "$bin $* [pthreads]: no race reported" "$build/err"; fi
}

oob_shared() {
  local bin=$1 line; line=$(bug_line oob)
  runs "$bin" forward fibers shared_oob 100
  if grep -q 'AddressSanitizer: global-buffer-overflow' "$build/err" &&
     grep -q "bugs.cu:$line" "$build/err" && grep -q "global variable 't'" "$build/err"; then
    pass "$bin shared_oob: ASan reports global-buffer-overflow at bugs.cu:$line (shared 't')"
  else fail "$bin shared_oob: no ASan report" "$build/err"; fi
}

# ------------------------------------------------------------------ suites

mapfile -t cases < <(grep -v '^#' $here/cases.txt)
small=("matmul 20 20 20" "matmul_reg 33 17 35" "reduce 1000" "softmax 3 200" "bias_act 10 33"
       "block_reverse 100 32")

# shuffle_bug BIN MODE: the shuffle only half of each warp reaches fails the launch with
# FILE:LINE naming it, in every order (fibers: 16 lanes arrived) or in the pthreads mode (as
# many as arrived before a lane of the other half exited).
shuffle_bug() {
  local bin=$1 mode=$2 line o n=16; line=$(bug_line shuffle)
  [ "$mode" = pthreads ] && n='[0-9]*'
  local want="bugs.cu:$line: error: __shfl_down_sync() reached by $n of the 32 lanes"
  for o in forward reverse random; do
    [ "$mode" = pthreads ] && [ $o != forward ] && continue
    runs "$bin" $o "$mode" partial_warp_shuffle 100
    if [ $? -ne 1 ] || ! grep -q "$want" "$build/err"; then
      fail "$bin partial_warp_shuffle [$o order, $mode]: expected '$want...'" "$build/err"; return
    fi
  done
  pass "$bin partial_warp_shuffle [$mode]: $(grep -m1 "$want" "$build/err" | cut -c1-110)..."
}

barrier_bugs() {
  barrier_bug "$1" divergent_barrier divergent
  barrier_bug "$1" exit_before_barrier exit
  barrier_bug "$1" two_barriers even odd
  shuffle_bug "$1" fibers
}

nvcc_checks() {
  local nvcc=${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)} f
  local flags=(-I"$root/runtime" -I"$root/$here" -Werror all-warnings
               -Xptxas -warn-spills,-warn-lmem-usage,-Werror --resource-usage
               -Xcompiler -Wall,-Wextra,-Werror)
  for f in "${kernels[@]}"; do
    if [ ! -x "$nvcc" ]; then skip "nvcc $f.cu (no nvcc)"; continue; fi
    if nice "$nvcc" "${flags[@]}" -gencode arch=compute_80,code=sm_80 \
         -gencode arch=compute_90,code=sm_90 -c $here/$f.cu -o "$build/$f.nvcc.o" \
         >"$build/nvcc.log" 2>&1 && ! grep -q '[1-9][0-9]* bytes spill' "$build/nvcc.log"; then
      pass "nvcc $f.cu for sm_80 and sm_90: $(grep -o 'Used [0-9]* registers' "$build/nvcc.log" | sort -t' ' -k2 -n | tail -n 1 | cut -d' ' -f2) registers at most, no spills"
    else fail "nvcc $f.cu" "$build/nvcc.log"; fi
  done
}

source "$here/emitted.sh"

plain_suite() {
  local c
  if [ "${ONLY:-}" = tune ] || [ "${ONLY:-}" = options ] || [ "${ONLY:-}" = promote ]; then
    emitted_$ONLY
    return
  fi
  if [ "${ONLY:-}" = emitted ]; then
    emitted_mapping
    emitted_sim sim -O1 -Wall -Wextra -Werror
    emitted_promote
    emitted_options
    emitted_tune
    emitted_nvcc
    return
  fi
  if ! flavor sim -O2 || ! flavor tsan -O1 -fsanitize=thread; then
    fail "build" "$build/sim.log"; cat "$build/tsan.log" "$build/link.log" 2>/dev/null | tail -n 20
    return
  fi
  for c in "${cases[@]}"; do orders sim $c; done
  for c in "${small[@]}"; do pthreads sim $c; done
  barrier_bugs sim
  shuffle_bug sim pthreads
  dropped_barrier sim-drop1
  dropped_barrier sim-drop2
  for c in "${small[@]}"; do tsan_clean tsan $c; done
  tsan_race tsan-drop1 matmul 20 20 20
  tsan_race tsan-drop2 matmul 20 20 20
  nvcc_checks
  [ "${ONLY:-}" = sim ] && return
  emitted_mapping
  # CUDA_SIM_EMITTED=0: the emitted corpus runs under the sanitizers only (--san).
  [ "${CUDA_SIM_EMITTED:-1}" = 0 ] || CUDA_SAMPLE=${CUDA_SAMPLE:-4} emitted_sim sim -O1 -Wall -Wextra -Werror
  emitted_promote
  emitted_options
  emitted_tune
  emitted_nvcc
}

san_suite() {
  local c flags=(-O1 -fno-omit-frame-pointer -fsanitize=address,undefined
                 -fsanitize-sections=aotc_shared)
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
  if [ "${ONLY:-}" = emitted ]; then
    emitted_sim asan "${flags[@]}"
    return
  fi
  if ! BUGFLAGS="-O1 -fno-omit-frame-pointer -fsanitize=address -fsanitize-sections=aotc_shared" \
       flavor asan "${flags[@]}"; then
    fail "build" "$build/asan.log"; tail -n 20 "$build/link.log"; return
  fi
  for c in "${cases[@]}"; do orders asan $c; done
  barrier_bugs asan
  dropped_barrier asan-drop2
  oob_shared asan
  [ "${ONLY:-}" = sim ] && return
  emitted_sim asan "${flags[@]}"
}

if ! command -v "$cxx" >/dev/null; then
  skip "all: no C++ compiler ($cxx)"
elif [ $san -eq 1 ]; then
  san_suite
else
  plain_suite
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]
