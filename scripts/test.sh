#!/usr/bin/env bash
# test.sh: installs what is missing, builds aotc, runs every test suite, and
# beside them the suites again against a build with AddressSanitizer and
# UndefinedBehaviorSanitizer. Each suite's line gives its time and CPU time
# (user + sys); ends with the line `N passed, N failed, N skipped`. The
# suites of both builds share TEST_JOBS (default 2) slots: a suite starts
# when one is free, whichever build it belongs to; the lines are printed in
# the order below.
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
  echo "$p $f $s" >>"$job_counts"
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
  echo "$p $f 0" >>"$job_counts"
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

# The slots: one token a free slot in a FIFO both builds' submitters read.
mkfifo "$logdir/slots"
exec 3<>"$logdir/slots"
for ((i = 0; i < ${TEST_JOBS:-2}; i++)); do printf x >&3; done

# spawn FUNC ARGS...: runs FUNC ARGS in the background once a slot is free,
# its output to the build's next result file ($logdir/res-VARIANT.N; its
# counts to .counts, .done when it ended). last_pid: its process.
spawn() {
  local res
  read -r -n 1 -u 3 _
  job_no=$((job_no + 1))
  res=$logdir/res-$variant.$(printf %03d "$job_no")
  { job_counts=$res.counts; : >"$job_counts"; "$@" >"$res" 2>&1; touch "$res.done"; printf x >&3; } &
  last_pid=$!
  job_pids+=("$last_pid")
  flush
}

# Prints the result files of this build that ended, in order, up to the
# first one still running.
flush() {
  while [ "$printed" -lt "$job_no" ]; do
    local res=$logdir/res-$variant.$(printf %03d $((printed + 1)))
    [ -e "$res.done" ] || return 0
    cat "$res"
    printed=$((printed + 1))
  done
}

# suite_then SED NAME COMMAND...: suite NAME COMMAND..., then the lines of
# its log the sed script SED prints, indented.
suite_then() {
  local script=$1
  shift
  suite "$@"
  sed -n "$script" "$logdir/${1//[^A-Za-z0-9_-]/_}.log" | sed 's/^/    /'
}

# Every suite against one build (VARIANT: build or build-san); the totals go
# to $logdir/totals-VARIANT.
run_variant() {
  local variant=$1 tag="" job_no=0 printed=0 last_pid models_pid="" job_pids=()
  [ "$variant" = build-san ] && tag=" [asan+ubsan]"
  export AOTC="$root/$variant/aotc"
  # The fuzzers (their own clang build at -O0: a quarter of -O2's build time,
  # 40-60% of its executions a second; then 12 s a reader) first, for their build.
  [ "$variant" = build-san ] && [ -x tests/fuzz/run.sh ] &&
    FUZZ_BUILDTYPE=debug spawn suite "fuzz (library at -O0, 12 s a reader, 2 at a time)" tests/fuzz/run.sh --time 12 --parallel 2
  if [ "$variant" = build ]; then
    [ -x "$variant/tests/unit_tests" ] && spawn suite "unit$tag" "$variant/tests/unit_tests" --jobs 2
  else
    # Under the sanitizers the random schedule test builds 1 option set a corpus file
    # plus the heuristic (the plain run builds 3 plus the heuristic).
    [ -x "$variant/tests/unit_tests" ] &&
      AOTC_SCHED_SETS=1 spawn suite "unit$tag (sched: 1 random set)" "$variant/tests/unit_tests" --jobs 2
  fi
  # The longest suites early, so that the slots end together.
  [ "$variant" = build ] && [ -x tests/onnx/run.sh ] &&
    CC="$root/tests/cc-opt.sh" AOTC_TEST_OPT=-O0 CONFORMANCE_SAMPLE=2 \
      spawn suite "onnx conformance (emitted C at -O0 for 1 test in 2, the interpreter for the others)" tests/onnx/run.sh
  if [ -x tests/torchscript/run_models.sh ]; then
    local ts_name="torchscript models$tag"
    if [ "$variant" = build ]; then
      ts_name="$ts_name (resnet18: weights as inputs)"
      TS_WEIGHTS_AS_INPUTS=resnet18_traced spawn suite_then '/^torchscript models took/p' "$ts_name" \
        tests/torchscript/run_models.sh
    else
      ts_name="$ts_name (1 archive in 2)"
      TS_LARGE=none TS_SAMPLE=2 spawn suite_then '/^torchscript models took/p' "$ts_name" \
        tests/torchscript/run_models.sh mlp cnn attn zoo loop branch dloop control errors
    fi
  fi
  [ -x tests/errors/run.sh ] && spawn suite "errors$tag" tests/errors/run.sh
  [ -x tests/check/run.sh ] && spawn suite "check$tag" tests/check/run.sh
  [ -x tests/golden/run.sh ] && spawn suite "golden$tag" tests/golden/run.sh
  # Under the sanitizers (which check aotc, not the code it writes) the suites
  # that check results only build the emitted C at -O0 (tests/cc-opt.sh).
  local o0=() o0_tag=""
  [ "$variant" = build-san ] && o0=(env CC="$root/tests/cc-opt.sh" AOTC_TEST_OPT=-O0) o0_tag=" (emitted C at -O0)"
  [ -x tests/e2e/run.sh ] && spawn suite "e2e$tag$o0_tag" "${o0[@]}" tests/e2e/run.sh
  [ -x tests/views/run.sh ] && spawn suite "views$tag" tests/views/run.sh
  [ -x tests/sched/run.sh ] && spawn suite "schedules$tag$o0_tag" "${o0[@]}" tests/sched/run.sh
  [ -x tests/halide/run.sh ] && spawn suite "halide buffer abi$tag" tests/halide/run.sh
  # models makes build/models, whose large fixtures the llvm suite also runs.
  [ "$variant" = build ] && [ -x tests/models/run.sh ] && spawn suite "models" tests/models/run.sh &&
    models_pid=$last_pid
  [ -n "$models_pid" ] && wait "$models_pid"
  [ -x tests/llvm/run.sh ] && SAN=$([ "$variant" = build-san ] && echo 1 || echo 0) spawn suite "llvm backend$tag" tests/llvm/run.sh
  [ -x tests/matmul/run.sh ] && spawn suite "matmul$tag" tests/matmul/run.sh
  [ -x tests/conv/run.sh ] && spawn suite "conv fast paths$tag" tests/conv/run.sh
  [ -x tests/epilogue/run.sh ] && spawn suite "fused epilogues$tag" tests/epilogue/run.sh
  local pd=4; [ "$variant" = build-san ] && pd=8
  [ -x tests/pooldw/run.sh ] &&
    POOLDW_SAMPLE=$pd spawn suite "pooling and depthwise$tag (2 threads, llvm, cuda-sim: 1 case in $pd)" tests/pooldw/run.sh
  [ -x tests/vmath/run.sh ] && spawn suite "vector math, layer norm$tag" tests/vmath/run.sh
  [ -x tests/rows/run.sh ] && spawn suite "row kernels (softmax, layer norm)$tag" tests/rows/run.sh
  if [ -x tests/cudasim/run.sh ]; then
    # The emitted corpus on the simulator runs whole under the sanitizers (issue 9's
    # must-show); the plain run has the hand-written tests, TSan and nvcc on every file.
    if [ "$variant" = build ]; then
      CUDA_SIM_EMITTED=0 spawn suite \
        "cuda simulator (hand-written, tsan; nvcc: every emitted file for sm_80 and sm_90)" tests/cudasim/run.sh
    else
      CUDA_SAMPLE=1 spawn suite \
        "cuda simulator$tag (the whole emitted corpus, three orders)" tests/cudasim/run.sh --san
    fi
  fi
  [ -x tests/torchscript/run.sh ] && spawn suite "torchscript check$tag" tests/torchscript/run.sh
  [ -x tests/grad/run.sh ] && spawn suite "grad vs pytorch$tag" tests/grad/run.sh
  if [ "$variant" = build ]; then
    [ -x tests/train/run.sh ] && spawn suite "train vs pytorch" tests/train/run.sh
  else
    # Under the sanitizers 4 of the 8 training cases: each model, optimizer and loss once.
    [ -x tests/train/run.sh ] && spawn suite "train vs pytorch$tag (4 of 8 cases: each model, optimizer, loss)" \
      tests/train/run.sh mlp_adamw_mse cnn_sgd mlpbn_eval_sgd cnnbn_adam dropout init blob m4 refusals
  fi
  [ -x tests/train/ddp.sh ] && spawn suite "train ddp (mpi)$tag" tests/train/ddp.sh $([ "$variant" = build-san ] && echo --san)
  if [ "$variant" = build ]; then
    [ -x tests/cortexm4/run.sh ] && spawn suite "cortex-m4 + -Werror" tests/cortexm4/run.sh
    [ -x examples/train_digits/run.sh ] && spawn single "digits example (mlp, cnn)" examples/train_digits/run.sh
    [ -x tests/firmware/run.sh ] &&
      spawn suite_then '/^Cortex-M4/,/^image/p' "firmware on qemu cortex-m4" tests/firmware/run.sh
  else
    [ -x build-san/tests/mutate ] && spawn single "mutation smoke$tag" build-san/tests/mutate 3000 tests/kernels
    [ -x build-san/tests/mutate_ts ] && spawn single "torchscript mutation$tag" build-san/tests/mutate_ts 2000
  fi
  [ -x tests/errors/run_models.sh ] && spawn suite "errors onnx+npy$tag" tests/errors/run_models.sh
  [ -x tests/hostile/run.sh ] && spawn suite "hostile inputs$tag" tests/hostile/run.sh
  [ "$variant" = build ] && [ -x tests/grad/onnx_run.sh ] && spawn suite "grad of onnx ops" tests/grad/onnx_run.sh build
  wait "${job_pids[@]}"
  flush
  cat "$logdir"/res-"$variant".*.counts 2>/dev/null |
    awk '{p += $1; f += $2; s += $3} END {print p + 0, f + 0, s + 0}' >"$logdir/totals-$variant"
}

# The two builds' suites run side by side, sharing the slots; the sanitizer
# lines are printed when the plain ones are done. The suite that measures
# time (compile-time scaling) runs after both, alone.
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
job_counts=$logdir/alone.counts
: >"$job_counts"
if [ -x tests/scale/run.sh ]; then
  suite "compile-time scaling" tests/scale/run.sh
  grep -E '^(PASS|FAIL|  )' "$logdir/compile-time_scaling.log" | sed 's/^/    /'
fi
read -r p f s < <(awk '{p += $1; f += $2; s += $3} END {print p + 0, f + 0, s + 0}' "$job_counts" 2>/dev/null)
passed=$((passed + ${p:-0})) failed=$((failed + ${f:-0})) skipped=$((skipped + ${s:-0}))
rm -rf "$logdir"
echo
echo "all suites took $((SECONDS - suites_start))s (builds included: ${SECONDS}s)"
echo "total: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
