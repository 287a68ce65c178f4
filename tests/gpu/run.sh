#!/usr/bin/env bash
# tests/gpu/run.sh: the hand-written .cu tests of tests/cudasim on a real GPU, as one command.
# Compiles the same .cu files with nvcc for this GPU, runs every case of
# tests/cudasim/cases.txt (each compares its output with the C reference in the harness),
# then, when compute-sanitizer is present, runs racecheck, synccheck and memcheck on them
# and checks that the catch-a-bug kernels are caught there too (a matmul without a barrier:
# racecheck hazards; two different barriers: synccheck errors; a barrier in divergent code
# or after an early exit: synccheck, informational (not reported on an H200 with CUDA 13.0);
# an out-of-bounds shared read: memcheck, reported as informational since one element past a
# small shared array can lie inside the block's shared window; a shuffle half a warp reaches:
# synccheck, informational).
#
# Then the CUDA that aotc emits (needs AOTC, default build/aotc): every case of
# tests/kernels/manifest.txt and the model fixtures with `aotc run --target cuda` against their
# numpy/PyTorch references; compute-sanitizer (racecheck, synccheck, memcheck) on the programs of
# a few of them; and SGEMM 4096^3 fp32 of the emitted matmul against cuBLAS with TF32 off
# (sgemm_bench.cu), whose line is appended to bench/RESULTS.md with RECORD=1; SGEMM_MIN_RATIO
# (default 0: informational) fails the run below that fraction of cuBLAS. Then `aotc tune --target
# cuda` on that matmul (GPU_TUNE_TRIALS candidates, default 24) and the tuned SGEMM against
# cuBLAS, recorded the same way. GPU_SAMPLE=N runs every Nth case of the manifest only (a
# short lease: each case is an nvcc build), from case GPU_SAMPLE_START (0-based, default 0);
# GPU_BENCH=0 leaves out the SGEMM benchmarks and the tuning.
#
# Without a GPU (nvidia-smi absent or failing) or without nvcc, everything is reported as
# skipped. Ends with `N passed, N failed, N skipped`. NVCC and COMPUTE_SANITIZER override
# the tools; KEEP=1 keeps the build directory; GPU_FORCE=1 skips the nvidia-smi check (to
# test this script's plumbing on a machine without a GPU: every run then fails).
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
src=tests/cudasim
build=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] && echo "kept $build" || rm -rf "$build"' EXIT
passed=0 failed=0 skipped=0

pass() { passed=$((passed + 1)); echo "PASS $*"; }
skip() { skipped=$((skipped + 1)); echo "SKIP $*"; }
fail() {
  failed=$((failed + 1)); echo "FAIL $1"; shift
  [ $# -gt 0 ] && [ -s "$1" ] && sed 's/^/    /' "$1" | tail -n 25
}

mapfile -t cases < <(grep -v '^#' $src/cases.txt)
# synccheck catches two_barriers on the GPU; on an H200 with CUDA 13.0 it reported nothing for
# the other two (independent thread scheduling; the simulator catches all three), so those are
# informational here.
bugs=("two_barriers 100")
bugs_info=("divergent_barrier 100" "exit_before_barrier 100")
nvcc=${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
sanitizer=${COMPUTE_SANITIZER:-$(command -v compute-sanitizer ||
                                 echo /usr/local/cuda/bin/compute-sanitizer)}

skip_all() {
  local c
  for c in "${cases[@]}"; do skip "gpu $c ($1)"; done
  skip "emitted corpus, models, compute-sanitizer, SGEMM vs cuBLAS, aotc tune --target cuda ($1)"
  echo "$passed passed, $failed failed, $skipped skipped"
  exit 0
}

gpu_present() {
  [ -n "${GPU_FORCE:-}" ] || { command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; }
}

# sm_XY of GPU 0 from nvidia-smi, else nvcc's -arch=native.
arch_flags() {
  local cap
  cap=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -n 1 | tr -d ' .')
  if [ -n "$cap" ]; then echo "-arch=sm_$cap"; else echo "-arch=native"; fi
}

# build NAME FLAGS...: the harness and kernels as $build/NAME.
build() {
  local name=$1; shift
  nice "$nvcc" -O2 $(arch_flags) -lineinfo -I"$root/runtime" -I"$root/$src" "$@" \
    $src/main.cu $src/matmul.cu $src/reduce.cu $src/elementwise.cu $src/bugs.cu \
    -o "$build/$name" >"$build/$name.log" 2>&1
}

# run_case BIN ARGS...: the harness's own reference check decides.
run_case() {
  local bin=$1; shift
  if timeout 120 "$build/$bin" "$@" >"$build/out" 2>"$build/err" && grep -q ': ok' "$build/out"
  then pass "gpu $* ($(grep -o 'max_err=[^ ]*' "$build/out"))"
  else fail "gpu $*" "$build/err"; fi
}

# sanitize TOOL BIN EXPECT ARGS...: EXPECT is clean (no errors, no hazards) or caught.
sanitize() {
  local tool=$1 bin=$2 expect=$3; shift 3
  timeout 600 "$sanitizer" --tool "$tool" --error-exitcode 99 "$build/$bin" "$@" \
    >"$build/san" 2>&1
  local rc=$? hazards
  hazards=$(grep -Eo '[1-9][0-9]* (hazards|errors)' "$build/san" | head -n 1)
  if [ "$expect" = clean ] && [ $rc -ne 99 ] && [ -z "$hazards" ] && [ $rc -ne 124 ]; then
    pass "$tool $bin $*: clean"
  elif [ "$expect" = caught ] && { [ $rc -eq 99 ] || [ -n "$hazards" ]; }; then
    pass "$tool $bin $*: caught (${hazards:-exit $rc})"
  elif [ "$expect" = info ]; then
    skip "$tool $bin $*: ${hazards:-not caught} (informational)"
  else
    fail "$tool $bin $*: expected $expect (exit $rc)" "$build/san"
  fi
}

sanitizer_suite() {
  local c
  if [ ! -x "$sanitizer" ]; then skip "compute-sanitizer (absent)"; return; fi
  for c in "matmul 37 45 29" "matmul_reg 70 33 65" "reduce 10007" "softmax 5 300" \
           "bias_act 37 123" "block_reverse 1000 96"; do
    sanitize racecheck gpu clean $c
    sanitize synccheck gpu clean $c
    sanitize memcheck gpu clean $c
  done
  sanitize racecheck gpu-drop1 caught matmul 37 45 29
  sanitize racecheck gpu-drop2 caught matmul 37 45 29
  for c in "${bugs[@]}"; do sanitize synccheck gpu caught $c; done
  for c in "${bugs_info[@]}"; do sanitize synccheck gpu info $c; done
  sanitize memcheck gpu info shared_oob 100
  sanitize synccheck gpu info partial_warp_shuffle 100
}

gpu_present || skip_all "no GPU: nvidia-smi absent or failing"
[ -x "$nvcc" ] || skip_all "no nvcc"
nvidia-smi --query-gpu=name,compute_cap,driver_version --format=csv,noheader 2>/dev/null
"$nvcc" --version | tail -n 2
if ! build gpu || ! build gpu-drop1 -DAOTC_TEST_DROP_BARRIER=1 ||
   ! build gpu-drop2 -DAOTC_TEST_DROP_BARRIER=2; then
  fail "nvcc build" "$build/gpu.log"
  echo "$passed passed, $failed failed, $skipped skipped"
  exit 1
fi
for c in "${cases[@]}"; do run_case gpu $c; done
run_case gpu matmul 1024 1024 1024
run_case gpu matmul_reg 1000 1000 1000
sanitizer_suite
source "$root/tests/gpu/emitted.sh"
emitted_gpu
if [ "${GPU_BENCH:-1}" = 0 ]; then
  skip "SGEMM vs cuBLAS, aotc tune --target cuda (GPU_BENCH=0)"
else
  sgemm_vs_cublas
  tuned_sgemm_vs_cublas
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]
