#!/usr/bin/env bash
# dynamic_ws.sh: the workspace of size-generic models, planned per call,
# against the sum of their temporaries (the layout before the per-call plan:
# one slot each) and against the plan of the same model compiled for fixed
# sizes. For each model and size N: bytes of the temporaries unplanned,
# per-call plan, fixed-size plan (`aotc -v` at that size) and its lower bound;
# then the whole workspace (temporaries and packing buffers) of both codes.
#
#   bench/dynamic_ws.sh      (AOTC=build/aotc MODELS_DIR=build/models SIZES='1 3 8')
set -euo pipefail
cd "$(dirname "$0")/.."
AOTC=${AOTC:-build/aotc}
MODELS_DIR=${MODELS_DIR:-$(dirname "$AOTC")/models}
SIZES=${SIZES:-1 3 8}
out=build/bench/dynamic_ws
mkdir -p "$out"
d=tests/models/dynamic
# NAME ONNX SHAPE-WITH-N EXTRA-SIZES
models=("cnn_dyn $d/cnn_dyn.onnx input=N,3,32,32"
        "transformer_dyn $d/transformer_dyn.onnx input=N,16,64 16"
        "resnet18 $MODELS_DIR/resnet18.onnx input=N,3,224,224"
        "mobilenet_v2 $MODELS_DIR/mobilenet_v2.onnx input=N,3,224,224")
generic() { # NAME ONNX SHAPE: the size-generic code and its measuring program
  local name=$1 model=$2 shape=$3 shape_arg=()
  [ "$name" = transformer_dyn ] || shape_arg=(--shape "$shape")
  "$AOTC" "$model" --name "$name" "${shape_arg[@]}" -o "$out/$name.c"
  sed -n '/^static inline size_t aotc_ws_plan(/,/^}/p' "$out/$name.c" | sed 's/aotc_ws_plan/real_ws_plan/' \
    >"$out/plan.inc"
  cc -std=gnu11 -O1 -DMODEL="$name" -I"$out" -o "$out/$name.ws" bench/dyn_ws_main.c -lm
}
fixed() { # NAME ONNX SHAPE N: "plan lower_bound total" of the fixed-size code
  local name=$1 model=$2 shape=${3//N/$4} note
  note=$("$AOTC" "$model" --name "${name}_f" --shape "$shape" -v -o "$out/${name}_f.c" 2>&1 |
    grep -m1 "workspace .* bytes, lower bound")
  echo "$(sed -E 's/.*workspace ([0-9]+) bytes, lower bound ([0-9]+) bytes.*/\1 \2/' <<<"$note")" \
    "$(sed -nE "s/#define ${name}_f_WORKSPACE_BYTES \(\(size_t\)([0-9]+)\)/\1/p" "$out/${name}_f.h")"
}
echo "| model | N | temporaries unplanned (before) | per-call plan | fixed-size plan | lower bound | whole workspace, generic | whole workspace, fixed |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for m in "${models[@]}"; do
  set -- $m
  name=$1 model=$2 shape=$3 extra=${4:-}
  [ -f "$model" ] || { echo "| $name | (no $model) | | | | | | |"; continue; }
  generic "$name" "$model" "$shape"
  for n in $SIZES; do
    read -r sum temps total < <("$out/$name.ws" "$n" $extra)
    read -r plan lb ftotal < <(fixed "$name" "$model" "$shape" "$n")
    echo "| $name | $n | $sum | $temps | $plan | $lb | $total | $ftotal |"
  done
done
