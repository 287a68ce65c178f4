#!/usr/bin/env bash
# run.sh: the LLVM backend (docs/llvm.md) against independent references.
#
#   AOTC=build/aotc tests/llvm/run.sh
#
# 1. e2e: the whole TC kernel corpus (tests/kernels/manifest.txt) through
#    `aotc run --backend llvm` (ORC LLJIT, no cc), by tests/e2e/run.sh: the
#    numpy fixtures, the reference interpreter, random sizes (RAND=0: not);
#    then again at --threads 2 (fixed sizes).
# 2. sched: the schedules and --cpu rows of tests/sched/run.sh on its sample
#    of the corpus (packed contractions, tiling, threads), against numpy.
# 3. models: the ONNX fixtures of tests/models (mlp, cnn, transformer; the
#    large ones when $MODELS_DIR holds them) through `run --backend llvm`,
#    against PyTorch's outputs; the narrow last tiles of the micro-kernel
#    on tests/conv's narrow cases.
# 3b. threads: models at --threads 2 on OpenMP's team (JIT and an object
#    linked with -fopenmp), depth-split products, a team of one.
# 4. objects: `--emit obj` for x86_64-pc-linux-gnu (linked with
#    model_main.c and run on the model fixtures), aarch64-linux-gnu and
#    thumbv7em-none-eabihf/cortex-m4 (inspected with readelf/objdump: machine,
#    symbols, weights in .rodata, hard-float ABI attributes, VFP code;
#    linked by arm-none-eabi-gcc when present).
# 5. the index type in the IR: i32 on thumbv7em, i64 on x86-64.
# 6. loop hints in the IR: frozen padded-read conditions, vectorize.enable
#    on simd loops, alias scopes on workspace temporaries, LLVM's remarks
#    kept off stderr.
# 7. the C path's inline vector math (swept against libm through objects)
#    and its omp simd semantics (parallel loops, reassociated sums, float
#    max and min as integer keys, tails folded into masks); the vector width
#    of the CPU row; products and sums contracted (fused.tc, fused_main.c).
# Everything is skipped (exit 0, one SKIP line) when aotc was built without
# LLVM. Ends with `N passed, N failed, N skipped`. SAN=1: a subset (LLVM
# under ASan is slow): e2e without random sizes on a sample, the small models.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
kdir=$root/tests/kernels
AOTC=${AOTC:-$root/build/aotc}
case $AOTC in /*) ;; *) AOTC=$PWD/$AOTC ;; esac
MODELS_DIR=${MODELS_DIR:-$(dirname "$AOTC")/models}
work=$(mktemp -d "${TMPDIR:-/tmp}/aotc-llvm.XXXXXX")
trap 'rm -rf "$work"' EXIT
pass=0 fail=0 skip=0
ok() { echo "PASS $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); [ -f "${2:-}" ] && sed 's/^/  /' "$2" | head -8; }
cc -O2 -o "$work/npycmp" "$root/tests/e2e/npycmp.c" -lm || exit 2

if "$AOTC" run "$kdir/matmul.tc" --entry matmul --backend llvm --input A="$kdir/fixtures/matmul/A.npy" \
  --input B="$kdir/fixtures/matmul/B.npy" --output-dir "$work/probe" 2>&1 | grep -q "built without LLVM"; then
  echo "SKIP llvm (aotc was built without LLVM)"
  echo "0 passed, 0 failed, 1 skipped"
  exit 0
fi

# ---- 1. the TC corpus
if [ "${SAN:-0}" = 1 ]; then
  e2e_cases=(matmul bmm conv2d_pad1 softmax layernorm embedding gather_nested histogram scatter_perm imatmul small_ints casts trig rounding)
  e2e_env=(RAND=0)
else
  e2e_cases=()
  e2e_env=(RAND=${RAND:-1})
fi
# e2e_llvm LABEL LOG ENV...: tests/e2e/run.sh on the corpus with ENV, one result.
e2e_llvm() {
  local label=$1 log=$work/$2
  shift 2
  env "$@" AOTC="$AOTC" JOBS=${JOBS:-2} "$root/tests/e2e/run.sh" "${e2e_cases[@]}" >"$log" 2>&1
  summary=$(tail -1 "$log")
  if grep -q "^FAIL" "$log" || ! grep -q " passed, 0 failed" <<<"$summary"; then
    grep -A4 "^FAIL" "$log" | head -40 >"$log.fail"
    bad "$label: $summary" "$log.fail"
  else
    ok "$label: $summary"
  fi
}
e2e_llvm "e2e --backend llvm" e2e.log "${e2e_env[@]}" AOTC_RUN_FLAGS="--backend llvm"
# The same corpus at --threads 2 (fixed sizes): the kernels large enough for
# threads run their parallel loops on OpenMP's team (llvm_parallel.c; 97 of
# the 135 at this stop).
e2e_llvm "e2e --backend llvm --threads 2" e2e2.log RAND=0 AOTC_RUN_FLAGS="--backend llvm --threads 2"

# ---- 2. schedules and CPUs
schedules=("none" "tile=8,16,4 reg=2,4 vec=1 sr=1 mk=0" "tile=5,24,7 reg=3,8 vec=1 pack=1 sr=1 mk=1"
  "tile=12,64,16 reg=6,16 vec=1 threads=2 pack=1 sr=1 mk=1")
cpus=(x86-64-v4 generic cortex-m4)
cases="matmul bmm conv2d conv2d_pad1 softmax layernorm embedding maxpool2 conv2d_s2_grad_input histogram"
[ "${SAN:-0}" = 1 ] && cases="matmul conv2d_pad1 embedding"
runs=()
for s in "${schedules[@]}"; do runs+=("--schedule=$s"); done
for c in "${cpus[@]}"; do runs+=("--cpu=$c"); done
for case in $cases; do
  line=$(grep -E "^[^ ]+ $case " "$kdir/manifest.txt" | head -1)
  read -r file _ rest <<<"$line"
  ins=${rest%%->*} outs=${rest##*->}
  args=()
  for n in $ins; do args+=(--input "$n=$kdir/fixtures/$case/$n.npy"); done
  for r in "${runs[@]}"; do
    rm -rf "$work/out"
    good=1
    "$AOTC" run "$kdir/$file" --entry "$case" --backend llvm "$r" "${args[@]}" --output-dir "$work/out" \
      >"$work/log" 2>&1 || good=0
    for n in $outs; do
      [ $good = 1 ] && { "$work/npycmp" "$work/out/$n.npy" "$kdir/fixtures/$case/expected_$n.npy" >>"$work/log" 2>&1 || good=0; }
    done
    if [ $good = 1 ]; then ok "sched $case $r"; else bad "sched $case $r" "$work/log"; fi
  done
done

# ---- 2b. contractions larger than one cache block (tiles of 512 columns,
# 256 depth, 128 rows) and with remainders, against the interpreter
cc -O2 -o "$work/npyrand" "$root/tests/e2e/npyrand.c" -lm || exit 2
big=("matmul M=130:140 K=257:270 N=513:530 : A=f4[M,K] B=f4[K,N]"
  "bmm B=2:2 M=129:133 K=300:310 N=520:525 : X=f4[B,M,K] Y=f4[B,K,N]")
[ "${SAN:-0}" = 1 ] && big=("${big[0]}")
for spec in "${big[@]}"; do
  entry=${spec%% *} file=matmul.tc
  [ "$entry" = bmm ] && file=bmm.tc
  rm -rf "$work/big"; mkdir -p "$work/big"
  "$work/npyrand" 7 "$entry" "$work/big" ${spec#* } >/dev/null || { bad "big $entry: npyrand"; continue; }
  args=()
  for f in "$work"/big/*.npy; do n=$(basename "$f" .npy); args+=(--input "$n=$f"); done
  out=$([ "$entry" = bmm ] && echo Z || echo C)
  if "$AOTC" run "$kdir/$file" --entry "$entry" "${args[@]}" --backend llvm --output-dir "$work/big/l" >"$work/log" 2>&1 &&
    "$AOTC" run "$kdir/$file" --entry "$entry" "${args[@]}" --interpret --output-dir "$work/big/i" >>"$work/log" 2>&1 &&
    "$work/npycmp" "$work/big/l/$out.npy" "$work/big/i/$out.npy" >>"$work/log" 2>&1; then
    ok "big $entry (several cache blocks) --backend llvm vs the interpreter"
  else
    bad "big $entry --backend llvm" "$work/log"
  fi
done

# Narrow last tiles (llvm_ukernel.c, the C path's print_ukr_narrow): the
# cases of tests/conv whose last tile of 12x32 has 4 and 17 columns, run
# against PyTorch, and for x86-64-v4 the micro-kernel built with them (the
# masked read of A's last depth step, in the IR before the pipeline).
for name in narrow_n36_k288 narrow_n49_k1152; do
  c=$root/tests/conv/$name
  rm -rf "$work/out"
  if ! AOTC_WINOGRAD=0 AOTC_LLVM_IR_RAW="$work/raw.ll" "$AOTC" "$c.onnx" --cpu x86-64-v4 --emit obj -o "$work/n.o" \
    >"$work/log" 2>&1; then
    bad "narrow tiles $name: --emit obj" "$work/log"
  elif ! grep -q "call.*@llvm.masked.load" "$work/raw.ll"; then
    bad "narrow tiles $name: none in the micro-kernel"
  elif AOTC_WINOGRAD=0 "$AOTC" run "$c.onnx" --backend llvm --input "input=$c.input.npy" --output-dir "$work/out" \
    >"$work/log" 2>&1 && "$work/npycmp" "$work/out/output.npy" "$c.output.npy" >>"$work/log" 2>&1; then
    ok "narrow tiles $name --backend llvm vs PyTorch"
  else
    bad "narrow tiles $name --backend llvm" "$work/log"
  fi
done

# ---- 3. models
models="mlp cnn transformer mbv2_blocks"
[ "${SAN:-0}" = 1 ] || models="$models resnet18 mobilenet_v2 squeezenet1_1"
for name in $models; do
  dir=$root/tests/models
  [ -f "$dir/$name.onnx" ] || dir=$MODELS_DIR
  if [ ! -f "$dir/$name.onnx" ]; then
    echo "SKIP model $name (no fixture in $MODELS_DIR: tests/models/run.sh makes it)"
    skip=$((skip + 1))
    continue
  fi
  rm -rf "$work/out"
  if "$AOTC" run "$dir/$name.onnx" --backend llvm --input "input=$dir/$name.input.npy" --output-dir "$work/out" \
    >"$work/log" 2>&1 && "$work/npycmp" "$work/out/output.npy" "$dir/$name.output.npy" >>"$work/log" 2>&1; then
    ok "model $name --backend llvm"
  else
    bad "model $name --backend llvm" "$work/log"
  fi
done

# ---- 3b. threads: --threads 2 runs the C path's parallel loops on OpenMP's
# team (llvm_parallel.c): each fixture against PyTorch through the JIT, its
# IR calling GOMP_parallel; the products the C path splits by depth built
# so too (more team functions than with AOTC_DEPTH_SPLIT=0: cnn's and the
# transformer's); a team of one thread (OMP_THREAD_LIMIT=1) still covers
# every iteration; an object linked with -fopenmp and run.
par_models="cnn transformer mbv2_blocks dense_block"
[ "${SAN:-0}" = 1 ] && par_models="cnn"
[ "${SAN:-0}" = 1 ] || [ ! -f "$MODELS_DIR/resnet18.onnx" ] || par_models="$par_models resnet18"
for name in $par_models; do
  dir=$root/tests/models
  [ -f "$dir/$name.onnx" ] || dir=$MODELS_DIR
  rm -rf "$work/out"
  if ! AOTC_LLVM_IR="$work/par.ll" "$AOTC" run "$dir/$name.onnx" --backend llvm --threads 2 \
    --input "input=$dir/$name.input.npy" --output-dir "$work/out" >"$work/log" 2>&1 ||
    ! "$work/npycmp" "$work/out/output.npy" "$dir/$name.output.npy" >>"$work/log" 2>&1; then
    bad "threads: model $name --backend llvm --threads 2" "$work/log"
  elif ! grep -Eq "call void @GOMP_parallel\(ptr (nonnull )?@${name}_aotc_p" "$work/par.ll"; then
    bad "threads: model $name --threads 2: no GOMP_parallel call in its IR"
  else
    ok "threads: model $name --backend llvm --threads 2 vs PyTorch ($(grep -c "call void @GOMP_parallel" "$work/par.ll") team calls)"
  fi
done
teams() { # NAME [ENV...]: team functions in the object of NAME at 2 threads
  local name=$1
  shift
  env "$@" "$AOTC" "$root/tests/models/$name.onnx" --threads 2 --emit obj -o "$work/teams.o" >"$work/log" 2>&1 &&
    nm "$work/teams.o" | grep -c " t ${name}_aotc_p[0-9]"
}
for name in cnn transformer; do
  split=$(teams "$name") rows=$(teams "$name" AOTC_DEPTH_SPLIT=0)
  if [ -n "$split" ] && [ -n "$rows" ] && [ "$split" -gt "$rows" ]; then
    ok "threads: $name's depth-split products in two teams ($split team functions, $rows without the split)"
  else
    bad "threads: $name's depth split not built (${split:-?} team functions, ${rows:-?} without)" "$work/log"
  fi
done
rm -rf "$work/out"
d=$root/tests/models
if OMP_THREAD_LIMIT=1 "$AOTC" run "$d/mbv2_blocks.onnx" --backend llvm --threads 2 --input "input=$d/mbv2_blocks.input.npy" \
  --output-dir "$work/out" >"$work/log" 2>&1 && "$work/npycmp" "$work/out/output.npy" "$d/mbv2_blocks.output.npy" >>"$work/log" 2>&1; then
  ok "threads: mbv2_blocks --threads 2 on a team of one (OMP_THREAD_LIMIT=1) vs PyTorch"
else
  bad "threads: mbv2_blocks on a team of one" "$work/log"
fi
mkdir -p "$work/omp"
if "$AOTC" "$d/transformer.onnx" --threads 2 --emit obj -o "$work/omp/transformer.o" >"$work/log" 2>&1 &&
  cc -O2 -fopenmp -I"$work/omp" -DMODEL=transformer -include transformer.h "$here/model_main.c" "$work/omp/transformer.o" \
    -lm -o "$work/omp/transformer" >>"$work/log" 2>&1 &&
  "$work/omp/transformer" "$d/transformer.input.npy" "$d/transformer.output.npy" >>"$work/log" 2>&1; then
  ok "threads: object of transformer --threads 2, linked with -fopenmp, matches PyTorch"
else
  bad "threads: object of transformer --threads 2 with -fopenmp" "$work/log"
fi

# ---- 4. objects for three triples
obj() { # NAME TRIPLE CPU DIR
  mkdir -p "$work/$4"
  "$AOTC" "$root/tests/models/$1.onnx" --emit obj --triple "$2" --cpu "$3" -o "$work/$4/$1.o" >"$work/log" 2>&1
}
for name in mlp cnn transformer; do
  d=$root/tests/models
  if obj "$name" x86_64-pc-linux-gnu x86-64-v3 x86 && [ -f "$work/x86/$name.h" ] &&
    cc -O2 -I"$work/x86" -DMODEL="$name" -include "$name.h" "$here/model_main.c" "$work/x86/$name.o" -lm \
      -o "$work/x86/$name" >>"$work/log" 2>&1 &&
    "$work/x86/$name" "$d/$name.input.npy" "$d/$name.output.npy" >>"$work/log" 2>&1; then
    ok "object x86_64-pc-linux-gnu $name: linked, matches PyTorch"
  else
    bad "object x86_64-pc-linux-gnu $name" "$work/log"
  fi
done

# The object's header is the C path's, byte for byte (emit_plan_print with
# no source prints only the header: no constants, no code).
mkdir -p "$work/hdr/l" "$work/hdr/c"
hdr_ok=1
for name in cnn transformer; do
  for th in 1 2; do
    if ! "$AOTC" "$root/tests/models/$name.onnx" --threads "$th" --emit obj -o "$work/hdr/l/$name.o" >"$work/log" 2>&1 ||
      ! "$AOTC" "$root/tests/models/$name.onnx" --threads "$th" -o "$work/hdr/c/$name.c" >>"$work/log" 2>&1 ||
      ! cmp "$work/hdr/l/$name.h" "$work/hdr/c/$name.h" >>"$work/log" 2>&1; then
      hdr_ok=0
      echo "  $name --threads $th: the headers differ" >>"$work/log"
    fi
  done
done
if [ $hdr_ok = 1 ]; then
  ok "--emit obj writes the C path's header (cnn, transformer, 1 and 2 threads)"
else
  bad "--emit obj: the header differs from the C path's" "$work/log"
fi

# An output that is not a regular file (a FIFO here; /dev/null alike) is
# written in place, object then header, never renamed over; LLVM's object
# writer seeks, so the object is built in memory first.
mkfifo "$work/fifo"
timeout 30 cat "$work/fifo" >"$work/fifo.out" &
reader=$!
if "$AOTC" "$root/tests/models/mlp.onnx" --emit obj -o "$work/fifo" >"$work/log" 2>&1 && wait "$reader" &&
  [ -p "$work/fifo" ] && [ ! -e "$work/fifo.h" ] && [ "$(head -c 4 "$work/fifo.out" | tail -c 3)" = ELF ] &&
  grep -aq "int mlp(const float" "$work/fifo.out"; then
  ok "--emit obj into a FIFO: object then header in place, the FIFO kept"
else
  kill "$reader" 2>/dev/null
  bad "--emit obj into a FIFO: object then header in place, the FIFO kept" "$work/log"
fi

# mlp.onnx is almost all weights: at least 95% of its bytes must sit in .rodata.
weights=$(( $(wc -c <"$root/tests/models/mlp.onnx") * 95 / 100 ))
rodata_size() {
  local hex
  hex=$(readelf -S -W "$1" | sed -n 's/.*\] \.rodata *PROGBITS *[0-9a-f]* [0-9a-f]* \([0-9a-f]*\).*/\1/p' | head -1)
  echo $((16#${hex:-0}))
}
defines() { nm "$1" | grep -qE " T $2\$"; }
if obj mlp aarch64-linux-gnu generic a64 && readelf -h "$work/a64/mlp.o" | grep -q "AArch64" &&
  defines "$work/a64/mlp.o" mlp && defines "$work/a64/mlp.o" mlp_call && defines "$work/a64/mlp.o" mlp_workspace_bytes &&
  [ "$(rodata_size "$work/a64/mlp.o")" -ge $weights ] && { ! command -v llvm-objdump-15 >/dev/null || llvm-objdump-15 -d "$work/a64/mlp.o" | grep -qE "fmla|fmul|fadd"; }; then
  ok "object aarch64-linux-gnu mlp: AArch64 ELF, entry symbols, weights in .rodata"
else
  bad "object aarch64-linux-gnu mlp" "$work/log"
fi

# mbv2_blocks runs its first layers in chunks of images (src/graph/batch_chunks.c):
# the chunks' convolutions share one packed array per weight, so .rodata
# is as large as without chunks.
mkdir -p "$work/chunks"
if "$AOTC" "$root/tests/models/mbv2_blocks.onnx" --emit obj -o "$work/chunks/on.o" >"$work/log" 2>&1 &&
  AOTC_BATCH_CHUNK=0 "$AOTC" "$root/tests/models/mbv2_blocks.onnx" --emit obj -o "$work/chunks/off.o" >>"$work/log" 2>&1 &&
  [ "$(rodata_size "$work/chunks/on.o")" = "$(rodata_size "$work/chunks/off.o")" ]; then
  ok "object mbv2_blocks in chunks: each weight stored once (.rodata as without chunks)"
else
  echo ".rodata $(rodata_size "$work/chunks/on.o") bytes with chunks, $(rodata_size "$work/chunks/off.o") without" >>"$work/log"
  bad "object mbv2_blocks in chunks: each weight stored once" "$work/log"
fi
# One image a chunk: the chunks' kernels are the same code on other pointers,
# built once as internal functions (emit_outline.c's groups, llvm_entry.c),
# each called for the 3 chunks; run through the JIT it matches PyTorch.
rm -rf "$work/out"
if AOTC_BATCH_CHUNK=1 AOTC_LLVM_IR_RAW="$work/chunks/one.ll" "$AOTC" run "$root/tests/models/mbv2_blocks.onnx" \
    --backend llvm --input "input=$root/tests/models/mbv2_blocks.input.npy" --output-dir "$work/out" >"$work/log" 2>&1 &&
  "$work/npycmp" "$work/out/output.npy" "$root/tests/models/mbv2_blocks.output.npy" >>"$work/log" 2>&1 &&
  fns=$(grep -c "^define internal void @mbv2_blocks_aotc_k" "$work/chunks/one.ll") &&
  calls=$(grep -c "call void @mbv2_blocks_aotc_k" "$work/chunks/one.ll") &&
  [ "$fns" -ge 8 ] && [ "$calls" = $((3 * fns)) ]; then
  ok "model mbv2_blocks in 3 chunks --backend llvm: $fns kernel functions called 3 times, matches PyTorch"
else
  echo "functions ${fns:-?}, calls ${calls:-?}" >>"$work/log"
  bad "model mbv2_blocks in 3 chunks --backend llvm" "$work/log"
fi

if ! command -v arm-none-eabi-readelf >/dev/null; then
  echo "SKIP object thumbv7em-none-eabihf (no arm-none-eabi binutils)"
  skip=$((skip + 1))
elif obj mlp thumbv7em-none-eabihf cortex-m4 m4 && arm-none-eabi-readelf -A "$work/m4/mlp.o" >"$work/attrs" &&
  grep -q 'Tag_CPU_name: "cortex-m4"' "$work/attrs" && grep -q "Tag_ABI_VFP_args: VFP registers" "$work/attrs" &&
  grep -q "Tag_FP_arch: VFPv4-D16" "$work/attrs" && [ "$(rodata_size "$work/m4/mlp.o")" -ge $weights ] &&
  arm-none-eabi-objdump -d "$work/m4/mlp.o" | grep -qE "vfma.f32|vmla.f32|vadd.f32"; then
  printf '#include "mlp.h"\nstatic unsigned char ws[mlp_WORKSPACE_BYTES] __attribute__((aligned(64)));\n%s\n' \
    'float in[784], out[10]; int main(void) { return mlp(in, out, ws); }' >"$work/m4/main.c"
  if arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -O2 -I"$work/m4" \
    "$work/m4/main.c" "$work/m4/mlp.o" --specs=nosys.specs -o "$work/m4/mlp.elf" -lm >"$work/log" 2>&1; then
    ok "object thumbv7em-none-eabihf mlp: cortex-m4, hard-float ABI, VFP code, weights in .rodata, links"
  else
    bad "object thumbv7em-none-eabihf mlp: does not link with arm-none-eabi-gcc -mfloat-abi=hard" "$work/log"
  fi
else
  bad "object thumbv7em-none-eabihf mlp" "$work/attrs"
fi

# ---- 5. the index type: i32 for thumbv7em (a loop counter in one register,
# generic sizes above INT32_MAX refused at the call, innermost loops with an
# unroll count), i64 for x86-64; read in the IR before the pipeline.
raw_ir() { # TRIPLE CPU NAME
  AOTC_LLVM_IR_RAW="$work/$3.ll" "$AOTC" "$root/tests/kernels/matmul.tc" --entry matmul --emit obj --triple "$1" \
    --cpu "$2" -o "$work/$3.o" >"$work/log" 2>&1
}
if raw_ir thumbv7em-none-eabihf cortex-m4 m4ir && grep -q "phi i32" "$work/m4ir.ll" && ! grep -q "phi i64" "$work/m4ir.ll" &&
  grep -q "icmp ugt i64 .*, 2147483647" "$work/m4ir.ll" && grep -q "llvm.loop.unroll.count" "$work/m4ir.ll" &&
  raw_ir x86_64-pc-linux-gnu x86-64-v3 x86ir && grep -q "phi i64" "$work/x86ir.ll" && ! grep -q "phi i32" "$work/x86ir.ll" &&
  ! grep -q "llvm.loop.unroll.count" "$work/x86ir.ll"; then
  ok "index type: i32 loops on thumbv7em (sizes checked, unroll count), i64 on x86-64"
else
  bad "index type: i32 loops on thumbv7em, i64 on x86-64" "$work/log"
fi

# ---- 6. loop hints in the IR before the pipeline: a padded read's bounds
# test is one frozen i1 (a masked load for the vectoriser, not a branch per
# bound), the loops the C path marks omp simd carry
# llvm.loop.vectorize.enable, and the vectoriser's "loop not vectorized"
# remarks on such loops stay off stderr (the LLVM context's diagnostic
# handler; ResNet-18 has loops it declines).
if AOTC_LLVM_IR_RAW="$work/pad.ll" "$AOTC" "$kdir/conv.tc" --emit obj -o "$work/pad.o" >"$work/log" 2>&1 &&
  grep -q "= freeze i1" "$work/pad.ll" && grep -q '"llvm.loop.vectorize.enable", i1 true' "$work/pad.ll" &&
  ! grep -q "^warning" "$work/log"; then
  ok "loop hints: frozen padded-read conditions, vectorize.enable on simd loops"
else
  bad "loop hints: frozen padded-read conditions, vectorize.enable on simd loops" "$work/log"
fi
# Alias scopes: the transformer fixture's temporaries (memory-planned,
# constant shapes) carry !alias.scope and !noalias; part 4 ran its object
# against PyTorch.
if AOTC_LLVM_IR_RAW="$work/tr.ll" "$AOTC" "$root/tests/models/transformer.onnx" --emit obj -o "$work/tr.o" \
  >"$work/log" 2>&1 && grep -q "!alias.scope ![0-9]" "$work/tr.ll" && grep -q "!noalias ![0-9]" "$work/tr.ll" &&
  grep -q '!"aotc.workspace"' "$work/tr.ll"; then
  ok "alias scopes on the transformer's workspace temporaries"
else
  bad "alias scopes on the transformer's workspace temporaries" "$work/log"
fi
if [ "${SAN:-0}" = 1 ] || [ ! -f "$MODELS_DIR/resnet18.onnx" ]; then
  echo "SKIP LLVM diagnostics on resnet18 (SAN=1 or no fixture in $MODELS_DIR)"
  skip=$((skip + 1))
elif AOTC_LLVM_IR_RAW="$work/r18.ll" "$AOTC" "$MODELS_DIR/resnet18.onnx" --emit obj -o "$work/r18.o" >"$work/log" 2>&1 &&
  grep -q "llvm.loop.vectorize.enable" "$work/r18.ll" && ! grep -q "warning: <unknown>\|loop not vectorized" "$work/log"; then
  ok "LLVM's remarks on resnet18's hinted loops kept off stderr"
else
  bad "LLVM's remarks on resnet18's hinted loops kept off stderr" "$work/log"
fi

# ---- 7. the C path's vector math and omp simd, built by the LLVM backend
# (llvm_vmath.c, llvm_nest.c): tests/vmath's exp, erf, tanh and sigmoid
# (vm.tc) and exp(x - max x) (expneg.tc) as objects for x86-64-v3, with no
# libm call left, swept against libm by tests/vmath's sweep.c and
# sweep_neg.c (exactly 0 below exp_neg's cut: the cheaper form was taken);
# --cpu generic keeps libm's calls. In the IR: the loops the C path marks
# omp simd are parallel (llvm.mem.parallel_loop_access on their accesses),
# a sum reduction under omp simd reduction carries a vector width (LLVM then
# reorders it), a packed panel's runs of lanes fold their tail into masks.
sweep() { # NAME SWEEP.c: $work/vm/NAME.o linked with tests/vmath's SWEEP.c and run
  cc -O2 -I"$work/vm" -o "$work/vm/$1" "$root/tests/vmath/$2" "$work/vm/$1.o" -lm >>"$work/log" 2>&1 &&
    "$work/vm/$1" >>"$work/log" 2>&1
}
vmath_obj() { # TC SWEEP.c
  local n
  n=$(basename "$1" .tc)
  "$AOTC" "$root/tests/vmath/$1" --cpu x86-64-v3 --emit obj -o "$work/vm/$n.o" >"$work/log" 2>&1 &&
    ! nm -u "$work/vm/$n.o" | grep -qE " (expf|erff|tanhf)$" && sweep "$n" "$2"
}
mkdir -p "$work/vm"
if vmath_obj vm.tc sweep.c; then
  ok "exp, erf, tanh, sigmoid inline (no libm call), swept against libm: $(grep -c "max" "$work/log") functions"
else
  bad "exp, erf, tanh, sigmoid inline (no libm call), swept against libm" "$work/log"
fi
if vmath_obj expneg.tc sweep_neg.c; then
  ok "exp(x - max x) as exp_neg, swept against libm"
else
  bad "exp(x - max x) as exp_neg, swept against libm" "$work/log"
fi
# The vector width: every function asks LLVM for the CPU row's vectors
# (prefer-vector-width, llvm_module.c); LLVM's own tuning of AVX-512 CPUs
# vectorises at 256 bits. vm.tc's loops for x86-64-v4 use zmm registers
# (its sigmoid's division among them), for x86-64-v3 none; for aarch64 no
# such attribute. With AVX-512 here, the v4 object is swept against libm.
vwidth() { # CPU TRIPLE NAME: the object and its optimised IR
  AOTC_LLVM_IR="$work/vm/$3.ll" "$AOTC" "$root/tests/vmath/vm.tc" --cpu "$1" --triple "$2" --emit obj \
    -o "$work/vm/$3.o" >>"$work/log" 2>&1
}
: >"$work/log"
if vwidth x86-64-v4 x86_64-pc-linux-gnu v4 && grep -q '"prefer-vector-width"="512"' "$work/vm/v4.ll" &&
  objdump -d "$work/vm/v4.o" | grep -q "vdivps .*zmm" && vwidth x86-64-v3 x86_64-pc-linux-gnu v3 &&
  grep -q '"prefer-vector-width"="256"' "$work/vm/v3.ll" && ! objdump -d "$work/vm/v3.o" | grep -q zmm &&
  vwidth generic aarch64-linux-gnu a64 && ! grep -q "prefer-vector-width" "$work/vm/a64.ll" &&
  { ! grep -q avx512f /proc/cpuinfo || sweep v4 sweep.c; }; then
  ok "vector width of the CPU row: zmm for x86-64-v4 (swept against libm where AVX-512 runs), none for v3"
else
  bad "vector width of the CPU row: zmm for x86-64-v4, none for v3" "$work/log"
fi
# Contraction: a product and a sum in one expression are one llvm.fmuladd
# (llvm_value.c), as gcc contracts the C path's under GNU C's default
# -ffp-contract=fast; tests/llvm/fused_main.c checks the closed forms that
# only one rounding gives (run where the CPU has FMA).
mkdir -p "$work/fused"
if AOTC_LLVM_IR_RAW="$work/fused/raw.ll" "$AOTC" "$here/fused.tc" --cpu x86-64-v3 --triple x86_64-pc-linux-gnu \
  --emit obj -o "$work/fused/fused.o" >"$work/log" 2>&1 && [ "$(grep -c "call float @llvm.fmuladd" "$work/fused/raw.ll")" = 2 ] &&
  cc -O2 -I"$work/fused" -o "$work/fused/main" "$here/fused_main.c" "$work/fused/fused.o" -lm >>"$work/log" 2>&1 &&
  { ! grep -qw fma /proc/cpuinfo || "$work/fused/main" >>"$work/log" 2>&1; }; then
  ok "a * b + c and c - a * b contracted into fmuladd: one rounding, the closed forms exact"
else
  bad "a * b + c and c - a * b contracted into fmuladd" "$work/log"
fi
if "$AOTC" "$root/tests/vmath/vm.tc" --cpu generic --emit obj -o "$work/vm/generic.o" >"$work/log" 2>&1 &&
  nm -u "$work/vm/generic.o" | grep -q " expf$" && nm -u "$work/vm/generic.o" | grep -q " erff$"; then
  ok "--cpu generic keeps libm's expf and erff"
else
  bad "--cpu generic keeps libm's expf and erff" "$work/log"
fi
if AOTC_LLVM_IR_RAW="$work/sm.ll" "$AOTC" "$root/bench/kernels.tc" --entry softmax --size N=64,D=256 --emit obj \
  -o "$work/sm.o" >"$work/log" 2>&1 && grep -q "llvm.mem.parallel_loop_access" "$work/sm.ll" &&
  grep -q '"llvm.loop.vectorize.width", i32 [1-9]' "$work/sm.ll" &&
  AOTC_LLVM_IR_RAW="$work/cv.ll" "$AOTC" "$root/bench/kernels.tc" --entry conv3x3 --size N=1,C=8,H=14,W=14,F=16 \
    --emit obj -o "$work/cv.o" >>"$work/log" 2>&1 && grep -q '"llvm.loop.vectorize.predicate.enable", i1 true' "$work/cv.ll"; then
  ok "omp simd as parallel loops, reductions with a width, packed runs tail-folded"
else
  bad "omp simd as parallel loops, reductions with a width, packed runs tail-folded" "$work/log"
fi
# A packed run's masks compare 32-bit lanes (lw_lanes_below): 64-bit ones
# took two compares and a merge per 16 lanes on AVX-512.
if grep -q "icmp ult <[0-9]* x i32>" "$work/cv.ll" && ! grep -q "icmp ult <[0-9]* x i64>" "$work/cv.ll"; then
  ok "packed runs' lane masks in 32-bit lanes"
else
  bad "packed runs' lane masks in 32-bit lanes" "$work/cv.ll"
fi
# A float max and min under omp simd reduction: reduced as ordered integer
# keys (vectorised: llvm.vector.reduce.smax in the optimised IR), NaN ignored
# as the C helpers ignore it, against numpy (tests/llvm/make_rmax.py).
if AOTC_LLVM_IR="$work/rmax.ll" "$AOTC" "$here/rmax.tc" --size N=64,D=256 --emit obj -o "$work/rmax.o" \
  >"$work/log" 2>&1 && grep -q "llvm.vector.reduce.smax" "$work/rmax.ll" &&
  grep -q "llvm.vector.reduce.smin" "$work/rmax.ll" &&
  "$AOTC" run "$here/rmax.tc" --backend llvm --input X="$here/rmax.X.npy" --output-dir "$work/rmax" >>"$work/log" 2>&1 &&
  "$work/npycmp" "$work/rmax/M.npy" "$here/rmax.M.npy" >>"$work/log" 2>&1 &&
  "$work/npycmp" "$work/rmax/L.npy" "$here/rmax.L.npy" >>"$work/log" 2>&1; then
  ok "float max and min reductions vectorised as integer keys, NaN ignored, against numpy"
else
  bad "float max and min reductions vectorised as integer keys, NaN ignored, against numpy" "$work/log"
fi

# tune --llvm-cache: the command line (refused without --backend llvm or
# on a file), and a second search reading what the first one wrote, every
# candidate of both checked against the reference (tests/unit's
# tune/llvm_cache_reused checks the counts and unreadable objects).
tune_cached() { # LOG: one search of conv3x3 with the cache in $work/lc
  "$AOTC" tune "$root/bench/kernels.tc" --entry conv3x3 --size N=1,C=8,H=14,W=14,F=16 --trials 8 --seed 2 \
    --backend llvm --llvm-cache "$work/lc" >"$1" 2>&1
}
: >"$work/afile"
if ! "$AOTC" tune "$root/bench/kernels.tc" --entry mm --size M=8,N=8,K=8 --trials 2 --llvm-cache "$work/lc" \
  >"$work/log" 2>&1 && grep -q "add --backend llvm" "$work/log" &&
  ! "$AOTC" tune "$root/bench/kernels.tc" --entry mm --size M=8,N=8,K=8 --trials 2 --backend llvm \
    --llvm-cache "$work/afile" >>"$work/log" 2>&1 && grep -q "is not a directory" "$work/log" &&
  tune_cached "$work/lc1.log" && grep -q "0 of them read from the cache" "$work/lc1.log" &&
  grep -q " 0 wrong" "$work/lc1.log" && ls "$work/lc"/*.o >/dev/null 2>&1 &&
  tune_cached "$work/lc2.log" && grep -qE "; [1-9][0-9]* of them read from the cache" "$work/lc2.log" &&
  grep -q " 0 wrong" "$work/lc2.log"; then
  ok "tune --llvm-cache: refused without --backend llvm or on a file; a second search reads the first one's objects"
else
  cat "$work/lc1.log" "$work/lc2.log" >>"$work/log" 2>/dev/null
  bad "tune --llvm-cache: refused without --backend llvm or on a file; a second search reads the first one's objects" "$work/log"
fi

echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
