#!/usr/bin/env bash
# run.sh: whole models through compiled C. Each fixture NAME.onnx is run by
# `aotc run` on NAME.input.npy and its output compared with PyTorch's
# (NAME.output.npy) by tests/e2e/npycmp.c: |got - expected| <= 1e-4 * (1 +
# |expected|) elementwise.
#
#   AOTC=build/aotc tests/models/run.sh [NAME...]
#
# The small fixtures (mlp, cnn, transformer) are committed here; the large
# ones (resnet18, mobilenet_v2, squeezenet1_1) are made by make_fixtures.py
# into $MODELS_DIR (default: build/models beside $AOTC) when /usr/bin/python3
# has torch and torchvision, and are skipped otherwise. Ends with
# `N passed, N failed, N skipped`. Before running, `aotc compile -v` must
# report a memory plan within 1.15x of its lower bound and leave no batch
# normalisation that follows a convolution; ResNet-18's must take F(4x4)
# Winograd in layer1 and layer2 and F(2x2) in layer3 (winograd_tiles). Each
# model's C must also be warning-free under clang (-Wall -Wextra; skipped
# without clang).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
AOTC=${AOTC:-$root/build/aotc}
MODELS_DIR=${MODELS_DIR:-$(dirname "$AOTC")/models}
PYTHON=${PYTHON:-/usr/bin/python3}
small="mlp cnn transformer dense_block mbv2_blocks"
large="resnet18 mobilenet_v2 squeezenet1_1"
names=${*:-$small $large}

[ -x "$AOTC" ] || { echo "models: no aotc at $AOTC (set AOTC)"; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/aotc-models.XXXXXX")
trap 'rm -rf "$work"' EXIT
${CC:-cc} -O2 -o "$work/npycmp" "$root/tests/e2e/npycmp.c" -lm || exit 2

# Where NAME's fixture lies, made when it is a large one; empty when it cannot be.
fixture_dir() {
  local name=$1
  if [ -f "$here/$name.onnx" ]; then echo "$here"; return; fi
  if [ ! -f "$MODELS_DIR/$name.onnx" ]; then
    "$PYTHON" -c "import torch, torchvision, onnx" 2>/dev/null || return
    mkdir -p "$MODELS_DIR"
    "$PYTHON" "$here/make_fixtures.py" "$MODELS_DIR" "$name" >"$work/$name.make.log" 2>&1 || return
  fi
  echo "$MODELS_DIR"
}

# `aotc compile -v`: the memory plan within 1.15x of its lower bound, and no
# batch normalisation left after a convolution (folded into it).
check_compile() {
  local dir=$1 name=$2 out=$3 note ws lb
  "$AOTC" "$dir/$name.onnx" -o "$out/$name.c" -v --dump=ir >"$out/compile.log" 2>&1 ||
    { echo "aotc compile failed: $(grep -m1 error "$out/compile.log")"; return 1; }
  note=$(grep -m1 "workspace .* bytes, lower bound" "$out/compile.log")
  ws=$(sed -E 's/.*workspace ([0-9]+) bytes.*/\1/' <<<"$note")
  lb=$(sed -E 's/.*lower bound ([0-9]+) bytes.*/\1/' <<<"$note")
  [ -n "$note" ] || { echo "no memory plan reported"; return 1; }
  [ $((ws * 100)) -le $((lb * 115)) ] || { echo "workspace $ws bytes is over 1.15 x the lower bound $lb"; return 1; }
  ! grep -q "running_var" "$out/compile.log" || { echo "batch normalisation was not folded"; return 1; }
  [ "$name" != resnet18 ] || winograd_tiles "$out/$name.c" || return 1
  echo "$note" >"$out/plan.txt"
}

# ResNet-18's Winograd tiles (src/graph/winograd.c, winograd_wins): F(4x4)'s
# 36 tile points in layer1's four 3x3 convolutions (64 channels at 56x56) and
# layer2's three stride-1 ones (128 channels at 28x28), F(2x2)'s 16 in
# layer3's three (14x14).
winograd_tiles() {
  local f4 f2
  f4=$(grep -c "const int64_t aotc_nb = 1 \* 6 \* 6;" "$1")
  f2=$(grep -c "const int64_t aotc_nb = 1 \* 4 \* 4;" "$1")
  [ "$f4" = 7 ] && [ "$f2" = 3 ] || { echo "Winograd products: $f4 with F(4x4), $f2 with F(2x2) (want 7 and 3)"; return 1; }
}

passed=0 failed=0 skipped=0
for name in $names; do
  dir=$(fixture_dir "$name")
  if [ -z "$dir" ]; then
    echo "SKIP $name (no fixture: /usr/bin/python3 lacks torch, torchvision or onnx)"
    skipped=$((skipped + 1))
    continue
  fi
  out=$work/$name
  mkdir -p "$out"
  if ! why=$(check_compile "$dir" "$name" "$out"); then
    echo "FAIL $name: $why"
    failed=$((failed + 1))
    continue
  fi
  start=$(date +%s.%N)
  if ! "$AOTC" run "$dir/$name.onnx" --input "input=$dir/$name.input.npy" --output-dir "$out" >"$out/run.log" 2>&1; then
    echo "FAIL $name: aotc run failed"; sed 's/^/  /' "$out/run.log" | head -20
    failed=$((failed + 1))
    continue
  fi
  secs=$(echo "$(date +%s.%N) - $start" | bc)
  if why=$("$work/npycmp" "$out/output.npy" "$dir/$name.output.npy"); then
    printf 'PASS %s (aotc run %.1f s; %s)\n' "$name" "$secs" "$(sed -E "s/.*': //" "$out/plan.txt")"
    passed=$((passed + 1))
  else
    echo "FAIL $name: $why"
    failed=$((failed + 1))
  fi
done
# --weights: the small models built against weights_main.c, with embedded
# weights and with the blob handed over by NAME_set_weights, give the same
# bytes (this also exercises the input/output table of the header).
weights_case() {
  local name=$1 w=$work/weights-$1 cc=${CC:-cc}
  mkdir -p "$w/emb" "$w/blob"
  "$AOTC" "$here/$name.onnx" -o "$w/emb/$name.c" &&
    "$AOTC" "$here/$name.onnx" -o "$w/blob/$name.c" --weights "$w/blob/$name.bin" || return 1
  $cc -std=c11 -O1 -Wall -Wextra -Werror -DMODEL="$name" -I"$w/emb" -o "$w/emb/main" \
    "$here/weights_main.c" "$w/emb/$name.c" -lm &&
    $cc -std=c11 -O1 -Wall -Wextra -Werror -DMODEL="$name" -DBLOB -I"$w/blob" -o "$w/blob/main" \
      "$here/weights_main.c" "$w/blob/$name.c" -lm || return 1
  "$w/emb/main" >"$w/emb.out" && "$w/blob/main" "$w/blob/$name.bin" >"$w/blob.out" &&
    [ -s "$w/emb.out" ] && cmp -s "$w/emb.out" "$w/blob.out"
}
# run_case LABEL LOG FUNCTION ARGS...: FUNCTION's output into LOG, then PASS
# LABEL, or FAIL LABEL with the head of LOG.
run_case() {
  local label=$1 log=$2
  shift 2
  if "$@" >"$log" 2>&1; then
    echo "PASS $label"
    passed=$((passed + 1))
  else
    echo "FAIL $label"; sed 's/^/  /' "$log" | head -20
    failed=$((failed + 1))
  fi
}
for name in $names; do
  case " $small " in *" $name "*) ;; *) continue ;; esac
  run_case "weights $name" "$work/weights-$name.log" weights_case "$name"
done
# The emitted C of every model compiled here is warning-free under clang too
# (-Wall -Wextra, -march=native so that the AVX-512 paths are read): clang
# warns of unused static helpers where gcc does not. Skipped without clang.
clang_case() {
  local name=$1 dir=$here
  case " $small " in *" $name "*) ;; *) dir=$MODELS_DIR ;; esac
  [ -f "$dir/$name.onnx" ] || return 2
  mkdir -p "$work/clang-$name"
  "$AOTC" "$dir/$name.onnx" -o "$work/clang-$name/$name.c" --weights "$work/clang-$name/$name.bin" &&
    clang -std=c11 -fsyntax-only -march=native -Wall -Wextra -Werror -I"$work/clang-$name" "$work/clang-$name/$name.c"
}
for name in $names; do
  if ! command -v clang >/dev/null; then
    echo "SKIP clang $name: no clang"
    skipped=$((skipped + 1))
    continue
  fi
  clang_case "$name" >"$work/clang-$name.log" 2>&1
  case $? in
  0) echo "PASS clang $name (warning-free, -Wall -Wextra -march=native)"; passed=$((passed + 1)) ;;
  2) ;; # a large fixture not made: its own case above says so
  *) echo "FAIL clang $name"; sed 's/^/  /' "$work/clang-$name.log" | head -20; failed=$((failed + 1)) ;;
  esac
done
# Batch chunks (src/graph/batch_chunks.c): mbv2_blocks (batch 3, 884 KB of
# expanded activations an image) runs its stem and both blocks two images at
# a time, which `aotc compile -v` reports; forced to one image a chunk
# (AOTC_BATCH_CHUNK=1, three chunks) it still matches PyTorch, and without
# chunks it reports none. The chunks' convolutions share one packed copy of
# each weight: the blob is as large as without chunks.
chunks_case() {
  local c=$work/chunks
  mkdir -p "$c/on" "$c/off" "$c/one"
  "$AOTC" "$here/mbv2_blocks.onnx" -o "$c/on/m.c" --weights "$c/on/m.bin" -v >"$c/on.log" 2>&1 &&
    AOTC_BATCH_CHUNK=0 "$AOTC" "$here/mbv2_blocks.onnx" -o "$c/off/m.c" --weights "$c/off/m.bin" -v >"$c/off.log" 2>&1 ||
    return 1
  grep -q "batch chunks: 12 nodes .* run 2 images at a time in 2 chunks" "$c/on.log" ||
    { echo "no chunks of 2 images reported:"; cat "$c/on.log"; return 1; }
  ! grep -q "batch chunks" "$c/off.log" || { echo "AOTC_BATCH_CHUNK=0 still chunks"; return 1; }
  [ "$(wc -c <"$c/on/m.bin")" = "$(wc -c <"$c/off/m.bin")" ] ||
    { echo "blob $(wc -c <"$c/on/m.bin") bytes with chunks, $(wc -c <"$c/off/m.bin") without"; return 1; }
  grep -q "^#define aotc_pk[0-9]*[ab]_mbv2_blocks aotc_pk" "$c/on/m.c" || { echo "no packed weight shared"; return 1; }
  AOTC_BATCH_CHUNK=1 "$AOTC" run "$here/mbv2_blocks.onnx" --input "input=$here/mbv2_blocks.input.npy" \
    --output-dir "$c/one" -v >"$c/one.log" 2>&1 || { cat "$c/one.log"; return 1; }
  grep -q "run 1 image at a time in 3 chunks" "$c/one.log" || { echo "no 3 chunks reported"; return 1; }
  "$work/npycmp" "$c/one/output.npy" "$here/mbv2_blocks.output.npy" || return 1
  # Chunks of one image each repeat the same kernels: each is printed once,
  # as a function the entry calls per chunk (emit_outline.c), and the file
  # builds warning-free; chunks of 2 and 1 images share none.
  AOTC_BATCH_CHUNK=1 "$AOTC" "$here/mbv2_blocks.onnx" -o "$c/one/m.c" -v >"$c/one-c.log" 2>&1 || return 1
  local fns calls
  fns=$(grep -c "^static void mbv2_blocks_aotc_k[0-9]*(" "$c/one/m.c") calls=$(grep -c "^  mbv2_blocks_aotc_k[0-9]*(" "$c/one/m.c")
  [ "$fns" -ge 8 ] && [ "$calls" = $((3 * fns)) ] || { echo "$fns kernel functions, $calls calls (3 per function expected)"; return 1; }
  grep -q "'mbv2_blocks': $fns kernels printed once as functions, called $calls times" "$c/one-c.log" ||
    { echo "-v does not report $fns functions and $calls calls:"; cat "$c/one-c.log"; return 1; }
  ! grep -q "mbv2_blocks_aotc_k" "$c/on/m.c" || { echo "kernels of chunks of 2 and 1 images shared"; return 1; }
  ${CC:-cc} -std=c11 -O1 -Wall -Wextra -Werror -c "$c/one/m.c" -o "$c/one/m.o"
}
case " $names " in
*" mbv2_blocks "*) run_case "chunks mbv2_blocks (2 images a chunk; 1 forced matches PyTorch, its kernels printed once)" "$work/chunks.log" chunks_case ;;
esac
# --weights-as-inputs: the small models with their weights as arguments (the
# driver passes the initializers' values) match PyTorch's output too, and the
# header lists them as parameters.
params_case() {
  local name=$1 p=$work/params-$1
  mkdir -p "$p"
  "$AOTC" "$here/$name.onnx" --weights-as-inputs -o "$p/$name.c" || return 1
  grep -q "#define ${name}_NUM_INPUTS 1$" "$p/$name.h" && ! grep -q "#define ${name}_NUM_PARAMS 0$" "$p/$name.h" ||
    { echo "the header does not list the weights as parameters"; return 1; }
  "$AOTC" run "$here/$name.onnx" --weights-as-inputs --input "input=$here/$name.input.npy" --output-dir "$p" &&
    "$work/npycmp" "$p/output.npy" "$here/$name.output.npy"
}
for name in $names; do
  case " $small " in *" $name "*) ;; *) continue ;; esac
  run_case "params $name" "$work/params-$name.log" params_case "$name"
done
# Dynamic sizes: a model with named dimensions (dynamic_axes at export, or
# --shape) compiles once to size-generic C; that one object, built against
# dynamic_main.c, runs every size of dynamic/ and matches PyTorch (its
# temporaries placed per call by aotc_ws_plan, in a NaN-filled workspace). The sizes
# come from the fixture names (B3_T5: B=3, T=5), in the order of the entry's
# size parameters. With --size-hint the object holds code compiled for the
# hinted sizes beside the generic code, and the entry picks one per call: the
# fixtures at the hinted sizes run the first, the others the second.
dynamic_case() {
  local label=$1 model=$2 stem=$3 w=$work/dyn-$1 cc=${CC:-cc} f sizes
  shift 3
  mkdir -p "$w"
  "$AOTC" "$model" -o "$w/$stem.c" --name "$stem" "$@" || return 1
  $cc -std=c11 -O1 -Wall -Wextra -Werror -DMODEL="$stem" -I"$w" -o "$w/main" "$here/dynamic_main.c" "$w/$stem.c" -lm ||
    return 1
  grep -q "^int $stem(int64_t" "$w/$stem.h" || { echo "the entry has no size parameter"; return 1; }
  grep -q "aotc_ws_plan(" "$w/$stem.c" || { echo "the workspace is not planned per call"; return 1; }
  for f in "$here/dynamic/${stem}".*.input.npy; do
    sizes=$(basename "$f" .input.npy); sizes=${sizes#*.}
    sizes=$(tr '_' ' ' <<<"$sizes" | sed -E 's/[A-Za-z]+//g')
    echo "sizes $sizes"
    "$w/main" "$f" "${f%.input.npy}.output.npy" $sizes || return 1
  done
}
dynamic_cases=("cnn_dyn $here/dynamic/cnn_dyn.onnx cnn_dyn"
               "transformer_dyn $here/dynamic/transformer_dyn.onnx transformer_dyn"
               "cnn--shape $here/cnn.onnx cnn_dyn --shape input=N,3,32,32"
               "cnn--size-hint $here/dynamic/cnn_dyn.onnx cnn_dyn --size-hint N=1"
               "transformer--size-hint $here/dynamic/transformer_dyn.onnx transformer_dyn --size-hint B=1,T=16")
for c in "${dynamic_cases[@]}"; do
  set -- $c
  case " $names " in *" ${1%%--*} "*|*" ${1%_dyn} "*) ;; *) continue ;; esac
  if dynamic_case "$@" >"$work/dyn-$1.log" 2>&1; then
    echo "PASS dynamic $1 ($(grep -c '^sizes' "$work/dyn-$1.log") sizes, one object)"
    passed=$((passed + 1))
  else
    echo "FAIL dynamic $1"; sed 's/^/  /' "$work/dyn-$1.log" | tail -20
    failed=$((failed + 1))
  fi
done
# --size-hint that does not fit the model: exit status 1, the reason on
# stderr, no output file.
hint_error() { # WHY MODEL HINT...
  local why=$1 model=$2 e=$work/hint-err
  shift 2
  rm -rf "$e" && mkdir -p "$e"
  "$AOTC" "$model" -o "$e/m.c" "$@" 2>"$e/err"
  [ $? -eq 1 ] && grep -q -- "$why" "$e/err" && [ ! -e "$e/m.c" ] && [ ! -e "$e/m.h" ]
}
hint_errors=("no value for the named size 'T'|$here/dynamic/transformer_dyn.onnx|--size-hint B=1"
             "is no named size|$here/dynamic/cnn_dyn.onnx|--size-hint M=1"
             "expects NAME=VALUE|$here/dynamic/cnn_dyn.onnx|--size-hint N=x"
             "applies to one model with named sizes|$here/cnn.onnx|--size-hint N=1")
case " $names " in
*" cnn "*)
  for c in "${hint_errors[@]}"; do
    IFS='|' read -r why model hint <<<"$c"
    if hint_error "$why" "$model" $hint; then
      passed=$((passed + 1))
    else
      echo "FAIL --size-hint error '$why'"; head -3 "$work/hint-err/err"
      failed=$((failed + 1))
    fi
  done
  [ "$failed" -eq 0 ] && echo "PASS --size-hint errors (${#hint_errors[@]} cases)" ;;
esac
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
