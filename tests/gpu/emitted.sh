# tests/gpu/emitted.sh: the CUDA that aotc emits, on a GPU. Sourced by tests/gpu/run.sh (uses
# its pass/fail/skip, $build, $root, $nvcc, $sanitizer, arch_flags).

AOTC=${AOTC:-$root/build/aotc}
kdir=$root/tests/kernels
mdir=$root/tests/models
san_cases=" matmul conv2d_pad1 softmax maxpool2 layernorm bmm reduce_sum transpose2d sumsq_big rowmax_big imin_few transpose_tile transpose_batched "

# gpu_case NAME FILE ENTRY OUTS REFDIR REFPREFIX INPUT_ARGS...
gpu_case() {
  local name=$1 file=$2 entry=$3 outs=$4 refdir=$5 refpre=$6 o kept why="" tool; shift 6
  local out=$build/emit/$name
  mkdir -p "$out"
  if ! timeout 600 "$AOTC" run "$file" ${entry:+--entry "$entry"} --target cuda "$@" --output-dir "$out" \
       --keep-temps >"$out/run.log" 2>&1; then
    fail "emitted $name: aotc run --target cuda" "$out/run.log"
    rm -rf "$(sed -n 's/^aotc: kept build files in //p' "$out/run.log")"
    return
  fi
  kept=$(sed -n 's/^aotc: kept build files in //p' "$out/run.log")
  for o in $outs; do
    why=$("$build/npycmp" "$out/$o.npy" "$refdir/$refpre$o.npy" 2>&1) && why="" || { why="$o: $why"; break; }
  done
  if [ -z "$why" ]; then pass "emitted $name on the GPU"; else fail "emitted $name on the GPU: $why"; fi
  if [[ "$san_cases" == *" ${entry:-none} "* ]] && [ -x "$sanitizer" ]; then
    for tool in racecheck synccheck memcheck; do
      if timeout 600 "$sanitizer" --tool $tool --error-exitcode 99 "$kept/runner" "$kept/spec.txt" \
           "$kept/inputs.bin" "$kept/san.bin" >"$out/$tool.log" 2>&1 &&
         ! grep -Eq '[1-9][0-9]* (hazards|errors)' "$out/$tool.log"; then
        pass "$tool emitted $name: clean"
      else fail "$tool emitted $name" "$out/$tool.log"; fi
    done
  fi
  rm -rf "$kept"
}

emitted_gpu() {
  local line w f e ins outs side tok a args m
  if [ ! -x "$AOTC" ]; then skip "emitted CUDA (no aotc at $AOTC)"; return; fi
  ${CC:-cc} -O2 -o "$build/npycmp" "$root/tests/e2e/npycmp.c" -lm || { fail "npycmp build"; return; }
  local n=0 every=${GPU_SAMPLE:-1} start=${GPU_SAMPLE_START:-0}
  while read -r line; do
    case $line in '' | '#'*) continue ;; esac
    n=$((n + 1))
    [ $(((n - 1) % every)) = $((start % every)) ] || continue
    read -r -a w <<<"$line"
    f=${w[0]} e=${w[1]} ins="" outs="" side=in args=()
    for tok in "${w[@]:2}"; do
      if [ "$tok" = "->" ]; then side=out; continue; fi
      if [ $side = in ]; then ins="$ins $tok"; else outs="$outs $tok"; fi
    done
    for a in $ins; do args+=(--input "$a=$kdir/fixtures/$e/$a.npy"); done
    gpu_case "$e" "$kdir/$f" "${e%@*}" "$outs" "$kdir/fixtures/$e" expected_ "${args[@]}"
  done <"$kdir/manifest.txt"
  for m in mlp cnn transformer; do
    mkdir -p "$build/ref-$m" && ln -sf "$mdir/$m.output.npy" "$build/ref-$m/output.npy"
    gpu_case "model-$m" "$mdir/$m.onnx" "" output "$build/ref-$m" "" --input "input=$mdir/$m.input.npy"
  done
  emitted_gpu_options
}

# The mapping's options on the GPU (tests/cudasim's emitted_options on the simulator): unroll=4
# and two-stage reductions over 16 blocks per output, and blocks of half a warp (shuffles with a
# partial mask) with split=4, transposes without (shared=0, promote unset) and with promote=1,
# against the references.
emitted_gpu_options() {
  local e o base="fuse=keep sr=1 shared=0"
  for e in "matvec:$base unroll=4 split=16" "sumsq_big:$base unroll=4 split=16" "rowmax_big:$base unroll=4 split=16" \
           "rowsum_few:$base reduce=16 split=4" "imin_few:$base reduce=16 split=4" "dsum_big:$base reduce=16 split=4" \
           "transpose_tile:$base" "transpose_batched:$base promote=1"; do
    o=${e#*:} e=${e%%:*}
    gpu_case "$e[${o// /,}]" "$kdir/$(awk -v e="$e" '$2 == e { print $1 }' "$kdir/manifest.txt")" "$e" \
      "$(awk -v e="$e" '$2 == e { sub(/.* -> /, ""); print }' "$kdir/manifest.txt")" \
      "$kdir/fixtures/$e" expected_ $(gpu_inputs "$e") --schedule "$o"
  done
}

# --input NAME=PATH for each input of a manifest case.
gpu_inputs() {
  local a
  for a in $(awk -v e="$1" '$2 == e { for (i = 3; $i != "->"; i++) print $i }' "$kdir/manifest.txt"); do
    echo "--input $a=$kdir/fixtures/$1/$a.npy"
  done
}

# sgemm_bench LABEL AOTC_ARGS...: the matmul emitted with AOTC_ARGS against cuBLAS; the line is
# appended to bench/RESULTS.md with RECORD=1.
sgemm_bench() {
  local label=$1 d=$build/sgemm-$1 line ratio; shift
  mkdir -p "$d"
  if ! "$AOTC" "$kdir/matmul.tc" --entry matmul --target cuda "$@" -o "$d/mm.cu" >"$d/log" 2>&1 ||
     ! "$nvcc" -O2 $(arch_flags) -I"$root/runtime" -I"$d" "$root/tests/gpu/sgemm_bench.cu" "$d/mm.cu" \
       -lcublas -o "$d/bench" >>"$d/log" 2>&1; then
    fail "sgemm bench build ($label)" "$d/log"; return
  fi
  if ! line=$(NVIDIA_TF32_OVERRIDE=0 "$d/bench" "${SGEMM_SIZE:-4096}" 10 2>"$d/err"); then
    fail "sgemm ${SGEMM_SIZE:-4096} ($label): $line" "$d/err"; return
  fi
  line="$label $line"
  ratio=$(sed -E 's/.*ratio ([0-9.]+).*/\1/' <<<"$line")
  if awk -v r="$ratio" -v m="${SGEMM_MIN_RATIO:-0}" 'BEGIN { exit !(r >= m) }'; then pass "$line"
  else fail "$line (below ${SGEMM_MIN_RATIO}x cuBLAS)"; fi
  if [ -n "${RECORD:-}" ]; then
    mkdir -p "$root/bench"
    echo "- $(date -u +%Y-%m-%d) $(nvidia-smi --query-gpu=name --format=csv,noheader | head -n 1), $("$nvcc" --version | tail -n 1): $line" \
      >>"$root/bench/RESULTS.md"
  fi
}

sgemm_vs_cublas() {
  sgemm_bench heuristic
}

# tuned_sgemm_vs_cublas: `aotc tune --target cuda` on the matmul at SGEMM_SIZE (GPU_TUNE_TRIALS
# candidates, default 24, each built by nvcc, checked against the reference and timed with CUDA
# events); the cache must hold the entry under this GPU's key (name, sm_XY, CUDA runtime and
# driver); the tuned options, size-generic through --schedule, then against cuBLAS.
tuned_sgemm_vs_cublas() {
  local d=$build/tune n=${SGEMM_SIZE:-4096} opts cap
  mkdir -p "$d"
  if ! NVCC=$nvcc timeout 3000 "$AOTC" tune "$kdir/matmul.tc" --entry matmul --size "M=$n,N=$n,K=$n" --target cuda \
       --trials "${GPU_TUNE_TRIALS:-24}" --cache "$d/cache.txt" >"$d/log" 2>&1; then
    fail "aotc tune --target cuda matmul $n" "$d/log"; return
  fi
  pass "aotc tune --target cuda matmul $n: $(grep -m1 '^matmul:' "$d/log")"
  cap=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -n 1 | tr -d ' .')
  if awk -F'\t' -v sm="sm_$cap" '$2 ~ /:matmul$/ && $6 == sm && $7 ~ /^CUDA runtime/ { found = 1 } END { exit !found }' \
       "$d/cache.txt"; then
    pass "tune --target cuda: the cache key holds this GPU: $(awk -F'\t' '$2 ~ /:matmul$/ { print $5 ", " $6 ", " $7 }' "$d/cache.txt")"
  else fail "tune --target cuda: cache key" "$d/cache.txt"; fi
  opts=$(awk -F'\t' '$2 ~ /:matmul$/ { print $9 }' "$d/cache.txt")
  sgemm_bench tuned --schedule "$opts"
}
