#!/usr/bin/env bash
# test.sh: installs what is missing, builds aotc, runs every test suite, and
# beside them the suites again against a build with AddressSanitizer and
# UndefinedBehaviorSanitizer. Each suite's line gives its time; ends with the
# line `N passed, N failed, N skipped`.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
scripts/setup.sh || { echo "setup failed"; exit 1; }
scripts/build.sh build || { echo "build failed"; exit 1; }
scripts/build.sh build-san -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug \
  || { echo "sanitizer build failed"; exit 1; }

passed=0 failed=0 skipped=0 secs=0 cpu=0 suites_start=$SECONDS
logdir=$(mktemp -d)
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1
export LSAN_OPTIONS=suppressions=$root/tests/lsan.supp

# Sets cpu_ms to the CPU time (user + sys, ms) of this shell's finished
# children (`times` into a file: a command substitution would fork).
cpu_mark() {
  local u s f=$logdir/times.$BASHPID
  times >"$f"
  { read -r _; read -r u s; } <"$f"
  cpu_ms=$(($(tms_ms "$u") + $(tms_ms "$s")))
}

# XmY.ZZZs (the format of `times`) in ms.
tms_ms() {
  local t=${1%s} sec
  sec=${t#*m}
  echo $((${t%%m*} * 60000 + 10#${sec%.*} * 1000 + 10#${sec#*.}))
}

# Adds the counts of one suite's summary line to the totals.
count() {
  local name=$1 log=$2 rc=$3 line p f s
  line=$(grep -E '^[A-Za-z]*:? ?[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
  if [ -z "$line" ]; then
    line=$(grep -E 'Synthesis: Tested:' "$log" | tail -n 1)
    if [ -n "$line" ]; then
      p=$(sed -E 's/.*Passing: ([0-9]+).*/\1/' <<<"$line")
      f=$(sed -E 's/.*Failing: ([0-9]+).*Crashing: ([0-9]+).*/\1+\2/' <<<"$line")
      f=$((f)); s=0
    else
      p=0; f=1; s=0
    fi
  else
    p=$(grep -oE '[0-9]+ passed' <<<"$line" | grep -oE '[0-9]+')
    f=$(grep -oE '[0-9]+ failed' <<<"$line" | grep -oE '[0-9]+')
    s=$(grep -oE '[0-9]+ skipped' <<<"$line" | grep -oE '[0-9]+' || echo 0)
  fi
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
  printf '%-28s %4d passed, %d failed, %d skipped  (%ss, cpu %ss)\n' "$name" "$p" "$f" "$s" "$secs" "$cpu"
  if [ "$f" -ne 0 ]; then
    echo "---- $name: failures (last 40 lines of $log) ----"
    tail -n 40 "$log"
    echo "----"
  fi
}

# Runs a suite that counts as one test (its own line says how many cases):
# NAME COMMAND...
single() {
  local name=$1; shift
  local log="$logdir/${name//[^A-Za-z0-9_-]/_}.log" start=$SECONDS cpu_ms c0
  cpu_mark; c0=$cpu_ms
  "$@" >"$log" 2>&1
  local rc=$? p=1 f=0
  secs=$((SECONDS - start))
  cpu_mark; cpu=$(((cpu_ms - c0 + 500) / 1000))
  [ "$rc" -eq 0 ] || { p=0; f=1; }
  passed=$((passed + p)); failed=$((failed + f))
  printf '%-28s %4d passed, %d failed  (%ss, cpu %ss; %s)\n' "$name" "$p" "$f" "$secs" "$cpu" "$(tail -n 1 "$log")"
  [ "$f" -eq 0 ] || { echo "---- $name ----"; tail -n 40 "$log"; echo "----"; }
}

# Runs one suite: NAME COMMAND...; its output goes to a log. Prints its time.
suite() {
  local name=$1; shift
  local log="$logdir/${name//[^A-Za-z0-9_-]/_}.log" start=$SECONDS rc cpu_ms c0
  cpu_mark; c0=$cpu_ms
  "$@" >"$log" 2>&1
  rc=$?
  secs=$((SECONDS - start))
  cpu_mark; cpu=$(((cpu_ms - c0 + 500) / 1000))
  count "$name" "$log" $rc
}

# Every suite against one build (VARIANT: build or build-san); the totals go
# to $logdir/totals-VARIANT.
run_variant() {
  local variant=$1 tag=""
  [ "$variant" = build-san ] && tag=" [asan+ubsan]"
  export AOTC="$root/$variant/aotc"
  if [ "$variant" = build ]; then
    [ -x "$variant/tests/unit_tests" ] && suite "unit$tag" "$variant/tests/unit_tests" --jobs 2
  else
    # Under the sanitizers the random schedule test builds 1 option set a corpus file
    # plus the heuristic (the plain run builds 3 plus the heuristic).
    [ -x "$variant/tests/unit_tests" ] &&
      AOTC_SCHED_SETS=1 suite "unit$tag (sched: 1 random set)" "$variant/tests/unit_tests" --jobs 2
  fi
  [ -x tests/errors/run.sh ] && suite "errors$tag" tests/errors/run.sh
  [ -x tests/check/run.sh ] && suite "check$tag" tests/check/run.sh
  [ -x tests/golden/run.sh ] && suite "golden$tag" tests/golden/run.sh
  # Under the sanitizers (which check aotc, not the code it writes) the suites
  # that check results only build the emitted C at -O0 (tests/cc-opt.sh).
  local o0=() o0_tag=""
  [ "$variant" = build-san ] && o0=(env CC="$root/tests/cc-opt.sh" AOTC_TEST_OPT=-O0) o0_tag=" (emitted C at -O0)"
  [ -x tests/e2e/run.sh ] && suite "e2e$tag$o0_tag" "${o0[@]}" tests/e2e/run.sh
  [ -x tests/views/run.sh ] && suite "views$tag" tests/views/run.sh
  [ -x tests/sched/run.sh ] && suite "schedules$tag$o0_tag" "${o0[@]}" tests/sched/run.sh
  [ -x tests/halide/run.sh ] && suite "halide buffer abi$tag" tests/halide/run.sh
  # models makes build/models, whose large fixtures the llvm suite also runs.
  [ "$variant" = build ] && [ -x tests/models/run.sh ] && suite "models" tests/models/run.sh
  [ -x tests/llvm/run.sh ] && SAN=$([ "$variant" = build-san ] && echo 1 || echo 0) suite "llvm backend$tag" tests/llvm/run.sh
  [ -x tests/matmul/run.sh ] && suite "matmul$tag" tests/matmul/run.sh
  [ -x tests/conv/run.sh ] && suite "conv fast paths$tag" tests/conv/run.sh
  [ -x tests/epilogue/run.sh ] && suite "fused epilogues$tag" tests/epilogue/run.sh
  local pd=2; [ "$variant" = build-san ] && pd=4
  [ -x tests/pooldw/run.sh ] &&
    POOLDW_SAMPLE=$pd suite "pooling and depthwise$tag (2 threads, llvm, cuda-sim: 1 case in $pd)" tests/pooldw/run.sh
  [ -x tests/vmath/run.sh ] && suite "vector math, layer norm$tag" tests/vmath/run.sh
  [ -x tests/rows/run.sh ] && suite "row kernels (softmax, layer norm)$tag" tests/rows/run.sh
  if [ -x tests/cudasim/run.sh ]; then
    t0=$SECONDS
    # The emitted corpus runs whole under the sanitizers; the plain run takes every 4th case.
    cs_name="cuda simulator$tag"
    [ "$variant" = build ] && cs_name="cuda simulator (emitted: 1 case in 4; nvcc: each emitted file for sm_80 or sm_90, alternately)"
    CUDA_NVCC_ALTERNATE=1 suite "$cs_name" tests/cudasim/run.sh $([ "$variant" = build-san ] && echo --san)
    echo "  (cuda simulator$tag took $((SECONDS - t0))s)"
  fi
  [ -x tests/torchscript/run.sh ] && suite "torchscript check$tag" tests/torchscript/run.sh
  [ -x tests/grad/run.sh ] && suite "grad vs pytorch$tag" tests/grad/run.sh
  [ -x tests/train/run.sh ] && suite "train vs pytorch$tag" tests/train/run.sh
  [ -x tests/train/ddp.sh ] && suite "train ddp (mpi)$tag" tests/train/ddp.sh $([ "$variant" = build-san ] && echo --san)
  if [ "$variant" = build ]; then
    [ -x tests/cortexm4/run.sh ] && suite "cortex-m4 + -Werror" tests/cortexm4/run.sh
    [ -x examples/train_digits/run.sh ] && single "digits example (mlp, cnn)" examples/train_digits/run.sh
    if [ -x tests/firmware/run.sh ]; then
      suite "firmware on qemu cortex-m4" tests/firmware/run.sh
      sed -n '/^Cortex-M4/,/^image/p' "$logdir/firmware_on_qemu_cortex-m4.log" | sed 's/^/    /'
    fi
  else
    [ -x build-san/tests/mutate ] && single "mutation smoke$tag" build-san/tests/mutate 3000 tests/kernels
    if [ -x build-san/tests/mutate_ts ]; then
      t0=$SECONDS
      single "torchscript mutation$tag" build-san/tests/mutate_ts 2000
      echo "  (torchscript mutation: $((SECONDS - t0)) s)"
    fi
  fi
  [ -x tests/errors/run_models.sh ] && suite "errors onnx+npy$tag" tests/errors/run_models.sh
  [ -x tests/hostile/run.sh ] && suite "hostile inputs$tag" tests/hostile/run.sh
  [ "$variant" = build ] && [ -x tests/onnx/run.sh ] &&
    CC="$root/tests/cc-opt.sh" AOTC_TEST_OPT=-O0 suite "onnx conformance (emitted C at -O0)" tests/onnx/run.sh
  [ "$variant" = build ] && [ -x tests/grad/onnx_run.sh ] && suite "grad of onnx ops" tests/grad/onnx_run.sh build
  if [ -x tests/torchscript/run_models.sh ]; then
    local ts_name="torchscript models$tag"
    if [ "$variant" = build ]; then
      ts_name="$ts_name (resnet18: weights as inputs)"
      TS_WEIGHTS_AS_INPUTS=resnet18_traced suite "$ts_name" tests/torchscript/run_models.sh
    else
      ts_name="$ts_name (1 archive in 2)"
      TS_LARGE=none TS_SAMPLE=2 suite "$ts_name" \
        tests/torchscript/run_models.sh mlp cnn attn zoo loop branch dloop control errors
    fi
    grep -E '^torchscript models took' "$logdir/${ts_name//[^A-Za-z0-9_-]/_}.log" | sed 's/^/  /'
  fi
  echo "$passed $failed $skipped" >"$logdir/totals-$variant"
}

# The two builds' suites run side by side (most suites keep one core busy);
# the sanitizer lines are printed when the plain ones are done. The suites
# that measure time (compile-time scaling, fuzzing) run after both, alone.
run_variant build-san >"$logdir/san.out" 2>&1 &
san_pid=$!
run_variant build
wait "$san_pid"
echo "---- beside them, against the ASan+UBSan build:"
cat "$logdir/san.out"
read -r p f s <"$logdir/totals-build" || { p=0; f=1; s=0; }
read -r p2 f2 s2 <"$logdir/totals-build-san" || { p2=0; f2=1; s2=0; }
passed=$((p + p2)) failed=$((f + f2)) skipped=$((s + s2))
echo "---- alone, after them:"
export AOTC="$root/build/aotc"
if [ -x tests/scale/run.sh ]; then
  suite "compile-time scaling" tests/scale/run.sh
  grep -E '^(PASS|FAIL|  )' "$logdir/compile-time_scaling.log" | sed 's/^/    /'
fi
[ -x tests/fuzz/run.sh ] && suite "fuzz (10 s a reader, 2 at a time)" tests/fuzz/run.sh --time 10 --parallel 2
rm -rf "$logdir"
echo
echo "all suites took $((SECONDS - suites_start))s (builds included: ${SECONDS}s)"
echo "total: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
