# tests/cudasim/emitted.sh: the CUDA that aotc emits, on the simulator and through nvcc.
# Sourced by tests/cudasim/run.sh (uses its pass/fail/skip, $build, $root, $cxx).
#
# emitted_sim FLAVOR FLAGS...: the runner and the simulator are compiled once with FLAGS;
# every case of tests/kernels/manifest.txt and the small model fixtures then goes through
# `aotc run --target cuda-sim` (forward thread order) against its numpy/PyTorch reference,
# and the kept program is rerun in reverse and random order: its outputs must be the
# same bytes. emitted_nvcc: every .tc file of the corpus and the model fixtures emitted
# with --target cuda and compiled by nvcc for sm_80 and sm_90 with warnings and spills as
# errors; --resource-usage must show no spill, the shared memory each kernel's comment
# declares, and registers x threads within an SM's 64K registers.
#
# CUDA_CASES="matmul conv2d ..." limits the corpus to those entries, CUDA_SAMPLE=N to every Nth
# case (from case CUDA_SAMPLE_OFFSET, default 0: the plain and the sanitizer runs can take
# the cases apart), CUDA_NVCC_FILES="conv pool" the nvcc checks to those .tc files, CUDA_NVCC_ALTERNATE=1
# compiles each emitted file for one architecture, sm_80 and sm_90 in turn (half the nvcc time;
# both still checked); JOBS (default 2). CUDA_SIM_SCHEDULE="..." runs the simulator cases with
# those schedule options (e.g. "fuse=keep sr=1 vec=0 mk=0 pack=0 vbytes=4 shared=1 reduce=64":
# every kernel with a reduction a reduction kernel).

kdir=$root/tests/kernels
mdir=$root/tests/models
cuda_models=(mlp cnn transformer)
AOTC=${AOTC:-$root/build/aotc}

emitted_prepare() {
  [ -x "$build/npycmp" ] || ${CC:-cc} -O2 -o "$build/npycmp" "$root/tests/e2e/npycmp.c" -lm
}

# rt_objects FLAVOR FLAGS...: the runner and the simulator as objects; prints their paths.
rt_objects() {
  local flavor=$1 k objs=() pids=() ok=0; shift
  mkdir -p "$build/rt-$flavor"
  for k in aotc_cuda_runner cuda_sim cuda_sim_exec; do
    nice "$cxx" -std=c++17 -DAOTC_CUDA_SIM -I"$root/runtime" "$@" -c -x c++ "$root/runtime/$k.cc" \
      -o "$build/rt-$flavor/$k.o" 2>>"$build/rt-$flavor.log" & pids+=($!)
    objs+=("$build/rt-$flavor/$k.o")
  done
  for k in "${pids[@]}"; do wait "$k" || ok=1; done
  [ $ok -eq 0 ] && echo "${objs[*]}"
}

# The manifest's cases: FILE ENTRY inputs -> outputs, one per line.
manifest_cases() {
  local line w n=0
  while read -r line; do
    case $line in '' | '#'*) continue ;; esac
    read -r -a w <<<"$line"
    if [ -n "${CUDA_CASES:-}" ] && [[ " $CUDA_CASES " != *" ${w[1]%@*} "* ]]; then continue; fi
    n=$((n + 1))
    [ $(((n - 1 - ${CUDA_SAMPLE_OFFSET:-0}) % ${CUDA_SAMPLE:-1})) -eq 0 ] && echo "$line"
  done <"$kdir/manifest.txt"
}

# sim_case RESULT NAME FILE ENTRY OUTS INPUT_ARGS...: one case, its verdict into RESULT.
sim_case() {
  local res=$1 name=$2 file=$3 entry=$4 outs=$5 refdir=$6 refpre=$7; shift 7
  local out=$build/emit/$name o kept order why="" log
  mkdir -p "$out"
  log=$out/run.log
  if ! AOTC_SIM_ORDER=forward nice "$AOTC" run "$file" ${entry:+--entry "$entry"} --target cuda-sim "$@" \
       ${CUDA_SIM_SCHEDULE:+--schedule "$CUDA_SIM_SCHEDULE"} \
       --output-dir "$out/fwd" --keep-temps >"$log" 2>&1; then
    { echo "FAIL $name: aotc run --target cuda-sim"; sed 's/^/    /' "$log" | grep -v '^    aotc: kept' | tail -n 12; } >"$res"
    rm -rf "$(sed -n 's/^aotc: kept build files in //p' "$log")"
    return
  fi
  kept=$(sed -n 's/^aotc: kept build files in //p' "$log")
  for o in $outs; do
    why=$("$build/npycmp" "$out/fwd/$o.npy" "$refdir/$refpre$o.npy" 2>&1) || { why="$o: $why"; break; }
    why=""
  done
  for order in reverse random; do
    [ -n "$why" ] && break
    if ! AOTC_SIM_ORDER=$order AOTC_SIM_SEED=${AOTC_SIM_SEED:-12345} "$kept/runner" "$kept/spec.txt" \
         "$kept/inputs.bin" "$kept/out-$order.bin" >"$out/$order.log" 2>&1; then
      why="$order order: $(head -n 3 "$out/$order.log")"
    elif ! cmp -s "$kept/outputs.bin" "$kept/out-$order.bin"; then
      why="$order order: outputs differ from forward order"
    fi
  done
  if [ -z "$why" ]; then echo "PASS $name (forward, reverse, random: same bits, reference ok)" >"$res"
  else echo "FAIL $name: $why" >"$res"; fi
  rm -rf "$kept"
}

corpus_case() {
  local res=$1 line=$2 w f e ins="" outs="" side=in tok a args=()
  read -r -a w <<<"$line"
  f=${w[0]} e=${w[1]}
  for tok in "${w[@]:2}"; do
    if [ "$tok" = "->" ]; then side=out; continue; fi
    if [ $side = in ]; then ins="$ins $tok"; else outs="$outs $tok"; fi
  done
  for a in $ins; do args+=(--input "$a=$kdir/fixtures/$e/$a.npy"); done
  sim_case "$res" "$e" "$kdir/$f" "${e%@*}" "$outs" "$kdir/fixtures/$e" expected_ "${args[@]}"
}

model_case() {
  local res=$1 m=$2
  mkdir -p "$build/emit/model-$m/ref"
  ln -sf "$mdir/$m.output.npy" "$build/emit/model-$m/ref/output.npy"
  sim_case "$res" "model-$m" "$mdir/$m.onnx" "" output "$build/emit/model-$m/ref" "" \
    --input "input=$mdir/$m.input.npy"
}

# Runs the cases JOBS at a time, prints the verdicts in order and counts them.
emitted_sim() {
  local flavor=$1 objs start=$SECONDS i=0 line m running=0 jobs=${JOBS:-2}; shift
  emitted_prepare
  if ! objs=$(rt_objects "$flavor" "$@"); then fail "emitted [$flavor]: runtime build" "$build/rt-$flavor.log"; return; fi
  export AOTC_CUDA_SIM_OBJS="$objs" AOTC_CUDA_SIM_FLAGS="$*"
  mkdir -p "$build/res-$flavor"
  mapfile -t lines < <(manifest_cases)
  for line in "${lines[@]}"; do
    corpus_case "$build/res-$flavor/$i" "$line" & i=$((i + 1)) running=$((running + 1))
    [ $running -ge "$jobs" ] && { wait -n; running=$((running - 1)); }
  done
  for m in "${cuda_models[@]}"; do
    model_case "$build/res-$flavor/$i" "$m" & i=$((i + 1)) running=$((running + 1))
    [ $running -ge "$jobs" ] && { wait -n; running=$((running - 1)); }
  done
  wait
  for ((k = 0; k < i; k++)); do
    if [ ! -f "$build/res-$flavor/$k" ]; then fail "emitted case $k [$flavor]: no verdict"; continue; fi
    line=$(head -n 1 "$build/res-$flavor/$k")
    case $line in
      PASS*) pass "${line#PASS } [$flavor]" ;;
      *) fail "${line#FAIL } [$flavor]"; tail -n +2 "$build/res-$flavor/$k" ;;
    esac
  done
  unset AOTC_CUDA_SIM_OBJS AOTC_CUDA_SIM_FLAGS
  echo "emitted CUDA on the simulator [$flavor]: $i cases in $((SECONDS - start)) s"
}

# ------------------------------------------------------------------ tuning

# emitted_tune: `aotc tune --target cuda-sim` (src/autotune with the runner of run_cuda.c) on a
# matmul and a reduction with a few candidates each; the cache holds both under the simulator's
# device key; a deliberately wrong candidate (AOTC_TUNE_CORRUPT=1, builds without NDEBUG) is
# rejected; compiling with --cache emits what --schedule with the tuned options emits, and an
# entry rewritten to block=16,4 shows that block in the launch, but not for --target cuda (no GPU
# here, so no entry of the simulator's is taken for one); without a GPU, `aotc tune --target cuda`
# says so in one line and exits 1. The runtime's objects: the plain
# emitted run's when built, else built here.
emitted_tune() {
  local dir=$build/tune start=$SECONDS objs cache opts mm=(--entry matmul --size M=40,N=36,K=24)
  mkdir -p "$dir"/{cached,given}; cache=$dir/cache.txt
  emitted_prepare
  if ! objs=$(ls "$build"/rt-sim/{aotc_cuda_runner,cuda_sim,cuda_sim_exec}.o 2>/dev/null | tr '\n' ' ') ||
     [ -z "$objs" ]; then
    if ! objs=$(rt_objects tune -O1); then fail "tune: runtime build" "$build/rt-tune.log"; return; fi
  fi
  export AOTC_CUDA_SIM_OBJS="$objs"
  echo "tune: runtime objects in $((SECONDS - start)) s"
  if nice "$AOTC" tune "$kdir/matmul.tc" "${mm[@]}" --target cuda-sim --trials 3 --cache "$cache" \
       >"$dir/matmul.log" 2>&1 && grep -q "3 trials, 0 wrong, 0 failed" "$dir/matmul.log"; then
    pass "tune --target cuda-sim matmul: $(grep -m1 '^best:' "$dir/matmul.log")"
  else fail "tune --target cuda-sim matmul" "$dir/matmul.log"; fi
  if nice "$AOTC" tune "$kdir/reduce.tc" --entry reduce_sum --size M=24,N=40 --target cuda-sim --trials 3 \
       --cache "$cache" >"$dir/reduce.log" 2>&1 && grep -q "3 trials, 0 wrong, 0 failed" "$dir/reduce.log"; then
    pass "tune --target cuda-sim reduce_sum: $(grep -m1 '^best:' "$dir/reduce.log")"
  else fail "tune --target cuda-sim reduce_sum" "$dir/reduce.log"; fi
  if [ "$(awk -F'\t' '$4 == 1 && $5 == "cuda-sim" && $6 == "cuda-sim" && $7 ~ /^CUDA runtime [0-9]+, driver [0-9]+$/' \
          "$cache" | wc -l)" = 2 ]; then
    pass "tune --target cuda-sim: the cache holds both under the simulator's device key"
  else fail "tune --target cuda-sim: cache keys" "$cache"; fi
  if ! AOTC_TUNE_CORRUPT=1 nice "$AOTC" tune "$kdir/matmul.tc" "${mm[@]}" --target cuda-sim --trials 1 \
       >"$dir/wrong.log" 2>&1 && grep -q "candidate 1 wrong result, discarded" "$dir/wrong.log" &&
     grep -q "none of the 1 candidates for 'matmul' passed the check" "$dir/wrong.log"; then
    pass "tune --target cuda-sim: a wrong candidate is rejected"
  else fail "tune --target cuda-sim: wrong candidate" "$dir/wrong.log"; fi
  opts=$(awk -F'\t' '$2 ~ /:matmul$/ { print $9 }' "$cache")
  if [ -n "$opts" ] &&
     nice "$AOTC" "$kdir/matmul.tc" "${mm[@]}" --target cuda-sim --cache "$cache" -o "$dir/cached/k.cu" 2>"$dir/c.log" &&
     nice "$AOTC" "$kdir/matmul.tc" "${mm[@]}" --target cuda-sim --schedule "$opts" -o "$dir/given/k.cu" 2>>"$dir/c.log" &&
     cmp -s "$dir/cached/k.cu" "$dir/given/k.cu"; then
    pass "compile --target cuda-sim --cache: the tuned options ($opts)"
  else fail "compile --target cuda-sim --cache" "$dir/c.log"; fi
  awk -F'\t' 'BEGIN { OFS = "\t" } $2 ~ /:matmul$/ { $9 = "block=16,4" } { print }' "$cache" >"$dir/block.txt"
  if nice "$AOTC" "$kdir/matmul.tc" "${mm[@]}" --target cuda-sim --cache "$dir/block.txt" -o "$dir/b.cu" 2>"$dir/b.log" &&
     grep -q "dim3(16, 4, 1)" "$dir/b.cu" &&
     nice "$AOTC" "$kdir/matmul.tc" "${mm[@]}" --target cuda --cache "$dir/block.txt" -o "$dir/g.cu" 2>>"$dir/b.log" &&
     ! grep -q "dim3(16, 4, 1)" "$dir/g.cu"; then
    pass "compile --cache: an entry's block=16,4 in the launch for cuda-sim, not for --target cuda"
  else fail "compile --cache block=16,4" "$dir/b.log"; fi
  if [ -e /dev/nvidiactl ] && [ -e /dev/nvidia0 ]; then
    skip "tune --target cuda without a GPU (this machine has one: tests/gpu/run.sh tunes on it)"
  elif ! nice "$AOTC" tune "$kdir/matmul.tc" "${mm[@]}" --target cuda >"$dir/nogpu.log" 2>&1 &&
       [ "$(wc -l <"$dir/nogpu.log")" = 1 ] && grep -q "needs an NVIDIA GPU" "$dir/nogpu.log"; then
    pass "tune --target cuda without a GPU: one line, exit 1"
  else fail "tune --target cuda without a GPU" "$dir/nogpu.log"; fi
  unset AOTC_CUDA_SIM_OBJS
  echo "tuning on the simulator: $((SECONDS - start)) s"
}

# ------------------------------------------------------------------ mapping

# emitted_mapping: the corpus entries with few outputs and long reductions take the
# cross-thread path (a block per output or several, warp shuffles, one shared slot per warp); one
# with rows for every size (reduce_sum) keeps a thread per row.
emitted_mapping() {
  local e f out=$build/mapping
  mkdir -p "$out"
  for e in reduce_vec rowsum_few rowmax_few rowmin_few rownorm_few softmax_row dot reduce_all reduce_sum; do
    f=$(awk -v e="$e" '$2 == e { print $1; exit }' "$kdir/manifest.txt")
    if ! nice "$AOTC" "$kdir/$f" --entry "$e" --target cuda -o "$out/$e.cu" 2>"$out/$e.log"; then
      fail "mapping $e: aotc --target cuda" "$out/$e.log"; continue
    fi
    if [ "$e" = reduce_sum ]; then
      if grep -q 'aotc_red_mem' "$out/$e.cu"; then fail "mapping $e: a row per thread expected"
      else pass "mapping $e: a thread per row (rows for every size)"; fi
    elif grep -q '__shared__ double aotc_red_mem\[8\];' "$out/$e.cu" &&
         grep -q '__shfl_down_sync(0xffffffffu, aotc_acc, aotc_s)' "$out/$e.cu" &&
         grep -Eq '\+= \(int64_t\)(blockDim.x|\(gridDim.[xyz] \* blockDim.x\)) \* 1\) \{' "$out/$e.cu"; then
      pass "mapping $e: reduction shared by the threads of $(grep -q 'stage 1' "$out/$e.cu" && echo "many blocks (two stages)" || echo "a block") (warp shuffles, a slot per warp)"
    else fail "mapping $e: no cross-thread reduction in the emitted CUDA"; fi
  done
}

# sim_objects NAME: the runner and the simulator for the cases that follow, in AOTC_CUDA_SIM_OBJS:
# the plain emitted run's objects when built, else built here (-O1); false (failed) otherwise.
sim_objects() {
  local objs
  emitted_prepare
  if ! objs=$(ls "$build"/rt-sim/{aotc_cuda_runner,cuda_sim,cuda_sim_exec}.o 2>/dev/null | tr '\n' ' ') ||
     [ -z "$objs" ]; then
    if ! objs=$(rt_objects "$1" -O1); then fail "$1: runtime build" "$build/rt-$1.log"; return 1; fi
  fi
  export AOTC_CUDA_SIM_OBJS="$objs"
}

# ------------------------------------------------------------------ promotion

# emitted_promote: the corpus's transposed reads (transpose.tc: transpose2d, transpose_tile,
# transpose_axpy, transpose_batched) are tiled transposes through shared memory by default
# (promote=1, emit_cuda_transp.c): the kernel's comment declares 4224 bytes (float[32][33]) and
# the kernel waits at barriers; with promote=0 the same entries use no shared memory; the
# promoted kernels run on the simulator in all three orders against their references (the
# --san run takes the whole corpus, these included; emitted_options runs two under promote=0).
emitted_promote() {
  local dir=$build/promote e i=0 line
  mkdir -p "$dir" "$build/res-promote"
  for e in transpose2d transpose_tile transpose_axpy transpose_batched; do
    if ! nice "$AOTC" "$kdir/transpose.tc" --entry "$e" --target cuda -o "$dir/$e.cu" 2>"$dir/$e.log" ||
       ! nice "$AOTC" "$kdir/transpose.tc" --entry "$e" --target cuda --schedule "fuse=keep sr=1 shared=1 promote=0" \
         -o "$dir/$e.0.cu" 2>>"$dir/$e.log"; then
      fail "promote $e: aotc --target cuda" "$dir/$e.log"; continue
    fi
    if grep -q "kernel0: block 32x8x1, shared 4224 bytes" "$dir/$e.cu" && grep -q '__shared__ float aotc_t\[32\]\[33\];' "$dir/$e.cu" &&
       [ "$(grep -c '__syncthreads();' "$dir/$e.cu")" = 2 ] &&
       grep -Eq "kernel0: block [0-9x]+, shared 0 bytes" "$dir/$e.0.cu" && ! grep -q 'aotc_t\[' "$dir/$e.0.cu"; then
      pass "promote $e: a tiled transpose through 4224 shared bytes, none with promote=0"
    else fail "promote $e: expected a shared tile (promote=1) and none (promote=0)" "$dir/$e.log"; fi
  done
  if ! sim_objects promote; then return; fi
  for e in transpose_tile transpose_axpy transpose_batched transpose2d@big; do
    line=$(awk -v e="$e" '$2 == e' "$kdir/manifest.txt")
    corpus_case "$build/res-promote/$i" "$line"
    line=$(head -n 1 "$build/res-promote/$i"); i=$((i + 1))
    case $line in
      PASS*) pass "promote: ${line#PASS }" ;;
      *) fail "promote: ${line#FAIL }"; tail -n +2 "$build/res-promote/$((i - 1))" ;;
    esac
  done
  unset AOTC_CUDA_SIM_OBJS
}

# ------------------------------------------------------------------ options

# emitted_options: the mapping's options change the emitted CUDA and keep it correct. unroll=4
# marks a thread's innermost loops AOTC_UNROLL(4) (none without it); reduce_vec (one output) and
# rowsum_few (two) are grid-level two-stage reductions by default (a stage-1 kernel over 128 and
# 64 blocks per output, a stage-2 kernel folding the partial results, whose bytes are what
# NAME_workspace_bytes returns), one kernel with split=1 (no workspace); a few corpus cases then
# run on the simulator in all three orders against their references under unroll=4 split=16 and
# under reduce=16 split=4 (a block of half a warp: shuffles with a partial mask). The runtime's
# objects: the plain emitted run's when built, else built here.
emitted_options() {
  local dir=$build/options base="fuse=keep sr=1 shared=0" objs line e i=0 start=$SECONDS
  mkdir -p "$dir"
  opt_cu() { nice "$AOTC" "$kdir/$1" --entry "$2" --target cuda ${3:+--schedule "$3"} -o "$dir/$4.cu" 2>"$dir/$4.log"; }
  if opt_cu matmul.tc matvec "$base unroll=4" mv4 && opt_cu matmul.tc matvec "$base" mv &&
     grep -q 'AOTC_UNROLL(4)' "$dir/mv4.cu" && ! grep -q 'AOTC_UNROLL' "$dir/mv.cu"; then
    pass "options: unroll=4 marks matvec's inner loop AOTC_UNROLL(4), none without"
  else fail "options: unroll=4 on matvec" "$dir/mv4.log"; fi
  if opt_cu reduce.tc reduce_vec "" rv && opt_cu reduce.tc rowsum_few "" rs && opt_cu reduce.tc reduce_vec "$base split=1" rv1 &&
     grep -q 'stage 1 of a split reduction' "$dir/rv.cu" && grep -q 'stage 2 of a split reduction' "$dir/rv.cu" &&
     grep -q 'kernel1, dim3(128, 1, 1), dim3(256, 1, 1)' "$dir/rv.cu" && grep -q 'return 0 + 1024;' "$dir/rv.cu" &&
     grep -q 'dim3(aotc_cuda_grid_dim(2, 2147483647), 64, 1), dim3(256, 1, 1)' "$dir/rs.cu" &&
     grep -q 'return 0 + 1024;' "$dir/rs.cu" &&
     ! grep -q 'stage 1' "$dir/rv1.cu" && grep -A4 'workspace_bytes(int64_t N)$' "$dir/rv1.cu" | grep -q 'return 0;'; then
    pass "options: two-stage reductions (128 and 64 blocks per output, 1024 workspace bytes), one kernel with split=1"
  else fail "options: split reductions" "$dir/rv.log"; fi
  if ! sim_objects options; then return; fi
  mkdir -p "$build/res-options"
  for e in "matvec:$base unroll=4 split=16" "sumsq_big:$base unroll=4 split=16" "rowmax_big:$base unroll=4 split=16" \
           "softmax_row:$base unroll=4 split=16" "rowsum_few:$base reduce=16 split=4" "imin_few:$base reduce=16 split=4" \
           "dsum_big:$base reduce=16 split=4" "transpose_tile:$base" "transpose_batched:$base promote=1"; do
    line=$(awk -v e="${e%%:*}" '$2 == e' "$kdir/manifest.txt")
    CUDA_SIM_SCHEDULE=${e#*:} corpus_case "$build/res-options/$i" "$line"
    line=$(head -n 1 "$build/res-options/$i"); i=$((i + 1))
    case $line in
      PASS*) pass "options ${e#*:}: ${line#PASS }" ;;
      *) fail "options ${e#*:}: ${line#FAIL }"; tail -n +2 "$build/res-options/$((i - 1))" ;;
    esac
  done
  unset AOTC_CUDA_SIM_OBJS
  echo "options on the simulator: $((SECONDS - start)) s"
}

# ------------------------------------------------------------------ nvcc

# check_usage CU LOG ARCHS: every kernel of CU (its comment gives block and shared bytes) within
# the budget in nvcc's --resource-usage LOG of ARCHS architectures.
check_usage() {
  local cu=$1 log=$2
  awk -v cu="$cu" -v archs="${3:-2}" '
    BEGIN {
      while ((getline l < cu) > 0)
        if (match(l, /aotc: kernel [A-Za-z0-9_]+: block [0-9]+x[0-9]+x[0-9]+, shared [0-9]+ bytes/)) {
          split(substr(l, RSTART, RLENGTH), w, " ")
          nm = substr(w[3], 1, length(w[3]) - 1)
          split(w[5], b, "x")
          threads[nm] = b[1] * b[2] * (b[3] + 0); shared[nm] = w[7]
        }
    }
    /Compiling entry function/ {
      name = ""
      if (match($0, /_Z[0-9]+/)) name = substr($0, RSTART + RLENGTH, substr($0, RSTART + 2, RLENGTH - 2) + 0)
      if (!(name in threads)) { print "unknown kernel: " $0; bad = 1; name = "" }
    }
    /spill stores/ && $5 != 0 { print name ": spills: " $0; bad = 1 }
    /spill stores/ && $1 != 0 { lmem++ }
    /Used [0-9]+ registers/ && name != "" {
      regs = $5; smem = 0
      if (match($0, /[0-9]+ bytes smem/)) smem = substr($0, RSTART, RLENGTH) + 0
      if (regs * threads[name] > 65536) { print name ": " regs " registers x " threads[name] " threads"; bad = 1 }
      if (smem != shared[name]) { print name ": " smem " bytes of shared memory, " shared[name] " planned"; bad = 1 }
      if (regs > maxr) maxr = regs
      n++
    }
    END {
      if (!bad) print "ok " n / archs " kernels, " maxr " registers at most" (lmem ? ", local memory in " lmem " compilations (sinf/cosf/tanf)" : "")
      exit bad
    }' "$log"
}

# trig_lmem_only CU LOG: every ptxas error of LOG is local memory (not a spill) in a kernel of CU
# that calls sinf, cosf or tanf (or their double forms), whose accurate argument reduction
# (Payne-Hanek) keeps a small array in local memory: the one use of local memory accepted.
trig_lmem_only() {
  awk -v cu="$1" '
    BEGIN {
      while ((getline l < cu) > 0) {
        if (match(l, /aotc: kernel [A-Za-z0-9_]+:/)) { split(substr(l, RSTART, RLENGTH), w, " "); k = substr(w[3], 1, length(w[3]) - 1) }
        if (k != "" && l ~ /(^|[^A-Za-z0-9_])(sin|cos|tan)f?\(/) trig[k] = 1
      }
    }
    /error/ {
      if ($0 !~ /Local memory used for function/) { bad = 1; next }
      name = ""
      if (match($0, /_Z[0-9]+/)) name = substr($0, RSTART + RLENGTH, substr($0, RSTART + 2, RLENGTH - 2) + 0)
      if (!(name in trig)) bad = 1
      n++
    }
    END { exit bad || n == 0 }' "$2"
}

# nvcc_strict NVCC BASE FLAGS... -- STRICT...: BASE.cu with FLAGS and STRICT into BASE.fatbin,
# log in BASE.log; when only trig_lmem_only errors remain, again without -warn-lmem-usage.
nvcc_strict() {
  local nvcc=$1 base=$2 flags=() strict; shift 2
  while [ "$1" != -- ]; do flags+=("$1"); shift; done; shift
  strict=("$@")
  nice "$nvcc" "${flags[@]}" "${strict[@]}" -x cu "$base.cu" -o "$base.fatbin" >"$base.log" 2>&1 && return 0
  trig_lmem_only "$base.cu" "$base.log" || return 1
  mv "$base.log" "$base.lmem.log"
  nice "$nvcc" "${flags[@]}" -Xptxas -warn-spills,-Werror -x cu "$base.cu" -o "$base.fatbin" >"$base.log" 2>&1 &&
    echo "accepted: local memory of sinf/cosf/tanf argument reduction" >>"$base.log"
}

# nvcc_archs INDEX: the -gencode flags of emitted file INDEX and, after ':', what they name.
nvcc_archs() {
  local a=(80 90)
  if [ "${CUDA_NVCC_ALTERNATE:-0}" = 1 ]; then
    a=(${a[$(($1 % 2))]})
    echo "-gencode arch=compute_$a,code=sm_$a:sm_$a"
  else
    echo "-gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90:sm_80 and sm_90"
  fi
}

emitted_nvcc() {
  local nvcc=${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)} f base start=$SECONDS pids=() msg
  local flags=(-I"$root/runtime" -Werror all-warnings --resource-usage --fatbin) i=0 archs
  local strict=(-Xptxas -warn-spills,-warn-lmem-usage,-Werror)
  if [ ! -x "$nvcc" ]; then skip "nvcc on the emitted CUDA (no nvcc)"; return; fi
  mkdir -p "$build/nv"
  local srcs=()
  for f in "$kdir"/*.tc; do
    base=$(basename "$f" .tc)
    if [ -n "${CUDA_NVCC_FILES:-}" ] && [[ " $CUDA_NVCC_FILES " != *" $base "* ]]; then continue; fi
    if nice "$AOTC" "$f" --target cuda -o "$build/nv/$base.cu" 2>"$build/nv/$base.aotc.log"; then srcs+=("$base")
    else fail "aotc --target cuda $base.tc" "$build/nv/$base.aotc.log"; fi
  done
  for f in "${cuda_models[@]}"; do
    if nice "$AOTC" "$mdir/$f.onnx" --target cuda -o "$build/nv/model_$f.cu" 2>"$build/nv/model_$f.aotc.log"
    then srcs+=("model_$f"); else fail "aotc --target cuda $f.onnx" "$build/nv/model_$f.aotc.log"; fi
  done
  for base in "${srcs[@]}"; do
    archs=$(nvcc_archs $i); i=$((i + 1))
    (nvcc_strict "$nvcc" "$build/nv/$base" "${flags[@]}" ${archs%%:*} -- "${strict[@]}"
     echo $? >"$build/nv/$base.rc") & pids+=($!)
    [ ${#pids[@]} -ge "${JOBS:-2}" ] && { wait "${pids[0]}"; pids=("${pids[@]:1}"); }
  done
  wait
  i=0
  for base in "${srcs[@]}"; do
    archs=$(nvcc_archs $i); i=$((i + 1))
    if [ "$(cat "$build/nv/$base.rc")" != 0 ]; then
      grep -E 'error|warning' "$build/nv/$base.log" >"$build/nv/$base.err"
      fail "nvcc $base.cu (${archs#*:})" "$build/nv/$base.err"
    elif msg=$(check_usage "$build/nv/$base.cu" "$build/nv/$base.log" "$(wc -w <<<"${archs%%:*}" | awk '{print $1 / 2}')"); then
      pass "nvcc $base.cu for ${archs#*:}, no warnings, no spills: ${msg#ok }"
    else fail "nvcc $base.cu: resource usage: $msg"; fi
  done
  echo "nvcc on the emitted CUDA: ${#srcs[@]} files in $((SECONDS - start)) s$([ "${CUDA_NVCC_ALTERNATE:-0}" = 1 ] && echo ", each for one of sm_80, sm_90 in turn")"
}
