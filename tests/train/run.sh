#!/usr/bin/env bash
# run.sh: training steps through emitted C against PyTorch (torch.optim).
# Each case directory (made by make_fixtures.py with torch 1.13 and
# committed) holds the losses and the parameters after a few steps of
# PyTorch; `aotc run MODEL.onnx --train ...` takes the same steps from the
# model's initializers and every DIR/<parameter>.npy and DIR/loss.npy must
# match within tests/e2e/npycmp.c's 1e-4 * (1 + |expected|). The emitted
# training code (aotc train) must also build with -std=c99 -Wall -Wextra
# -Werror (and, when arm-none-eabi-gcc is there, for a Cortex-M4 with
# --cpu cortex-m4; its workspace size is printed), and the interpreter
# (--interpret) must agree as well.
#
# Without CASE arguments it also checks that bad training requests are
# refused (exit 1, the message, no output file).
#
#   AOTC=build/aotc tests/train/run.sh [CASE...]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
AOTC=${AOTC:-$root/build/aotc}
[ -x "$AOTC" ] || { echo "train: no aotc at $AOTC (set AOTC)"; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/aotc-train.XXXXXX")
trap 'rm -rf "$work"' EXIT
${CC:-cc} -O2 -o "$work/npycmp" "$root/tests/e2e/npycmp.c" -lm || exit 2

# case model loss optimizer steps hyper-parameters...
cases=(
  "mlp_sgd mlp cross_entropy sgd 3 --lr 0.1 --momentum 0.9 --weight-decay 1e-3"
  "mlp_adam mlp cross_entropy adam 3 --lr 1e-2"
  "mlp_adamw_mse mlp mse adamw 3 --lr 1e-2 --weight-decay 0.1"
  "cnn_sgd cnn cross_entropy sgd 1 --lr 0.05"
  "cnn_adam cnn cross_entropy adam 2 --lr 1e-3 --weight-decay 1e-2"
  "mlpbn_eval_sgd mlpbn cross_entropy sgd 2 --lr 0.1 --momentum 0.5 --batchnorm eval"
  "cnnbn_sgd cnnbn cross_entropy sgd 2 --lr 0.05 --momentum 0.9"
  "cnnbn_adam cnnbn cross_entropy adam 2 --lr 1e-2"
)
want=" ${*:-} "
passed=0 failed=0

compare() {
  local name=$1 got=$2 f why
  for f in "$here/$name"/*.npy; do
    why=$("$work/npycmp" --tol 1e-4 "$got/$(basename "$f")" "$f") || { echo "FAIL $name: $(basename "$f"): $why"; return 1; }
  done
}

check() {
  local name=$1 model=$2 loss=$3 opt=$4 steps=$5 out=$work/$1
  shift 5
  local target=$here/$model.target_ce.npy
  [ "$loss" = mse ] && target=$here/$model.target_mse.npy
  mkdir -p "$out"
  "$AOTC" train "$here/$model.onnx" --loss "$loss" --optimizer "$opt" "$@" -o "$out/train.c" 2>"$out/log" &&
    ${CC:-cc} -std=c99 -Wall -Wextra -Werror -c "$out/train.c" -o "$out/train.o" 2>>"$out/log" ||
    { echo "FAIL $name: aotc train: $(head -3 "$out/log")"; return 1; }
  if command -v arm-none-eabi-gcc >/dev/null; then
    "$AOTC" train "$here/$model.onnx" --loss "$loss" --optimizer "$opt" "$@" --cpu cortex-m4 -o "$out/m4.c" \
      2>"$out/log" && arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -std=c99 \
      -Wall -Wextra -Werror -c "$out/m4.c" -o "$out/m4.o" 2>>"$out/log" ||
      { echo "FAIL $name: cortex-m4: $(head -3 "$out/log")"; return 1; }
    echo "     $name: $(grep -o "${model}_train_step_WORKSPACE_BYTES ((size_t)[0-9]*)" "$out/m4.h")"
  fi
  for mode in compiled interpret; do
    local flag=()
    [ $mode = interpret ] && flag=(--interpret)
    "$AOTC" run "$here/$model.onnx" --train --loss "$loss" --optimizer "$opt" --steps "$steps" "$@" "${flag[@]}" \
      --input x="$here/$model.x.npy" --input target="$target" --output-dir "$out/$mode" 2>"$out/log" ||
      { echo "FAIL $name ($mode): $(head -3 "$out/log")"; return 1; }
    compare "$name" "$out/$mode" || return 1
  done
  echo "ok   $name"
}

for c in "${cases[@]}"; do
  set -- $c
  [ "$want" = "  " ] || [[ "$want" == *" $1 "* ]] || continue
  if check "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
done
# Refusals: exit status 1, the message, no output file.
refuse() {
  local name=$1 want=$2 out=$work/refuse_$1
  shift 2
  mkdir -p "$out"
  if "$AOTC" "$@" -o "$out/x.c" 2>"$out/log" || ! grep -qF -e "$want" "$out/log" || [ -e "$out/x.c" ]; then
    echo "FAIL refuse $name: $(head -2 "$out/log")"
    return 1
  fi
  echo "ok   refuse $name"
}
if [ "$want" = "  " ]; then
  for r in "bad_loss|--loss: unknown 'hinge'|train $here/mlp.onnx --loss hinge" \
           "bad_lr|--lr expects a non-negative number|train $here/mlp.onnx --loss mse --lr -1" \
           "no_params|no trainable parameters|train $here/in_place.tc --loss mse" \
           "in_place|updates in place|$here/in_place.tc --grad f"; do
    IFS='|' read -r name msg args <<<"$r"
    if refuse "$name" "$msg" $args; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
  done
fi
echo "train: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
