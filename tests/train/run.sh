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
# Without CASE arguments (or with the argument `refusals`) it also checks
# that bad training requests are refused (exit 1, the message, no output file).
#
#   AOTC=build/aotc tests/train/run.sh [CASE...]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/lib.sh
. "$here/../lib.sh"
suite_init train || exit 2
${CC:-cc} -O2 -o "$work/npystat" "$here/npystat.c" -lm || exit 2

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
# Dropout (drop.onnx: y = Dropout(x * w), x = w = 1, 4096 elements, ratio
# 0.5; MSE against 0). With SGD at lr 512 one step sets a kept element of w
# to exactly 0 (its gradient is 2/4096 * 2^2) and leaves a dropped one at 1,
# so w after the step is the mask. PyTorch's masks come from another
# generator by design: the comparison is statistical (binomial bounds).
dropout_run() { # out seed steps [model lr mode...]
  local out=$1 seed=$2 steps=$3 model=${4:-drop} lr=${5:-512}
  shift 5 2>/dev/null || shift $#
  "$AOTC" run "$here/$model.onnx" --train --loss mse --optimizer sgd --lr "$lr" --seed "$seed" --steps "$steps" "$@" \
    --input x="$here/drop.x.npy" --input target="$here/drop.target_mse.npy" --output-dir "$work/$out" 2>"$work/log" ||
    { echo "FAIL dropout $out: $(head -2 "$work/log")"; return 1; }
}
within() { # value lo hi
  awk -v v="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(v >= lo && v <= hi) }'
}
dropout_checks() {
  local n=4096 zeros ones loss kept
  dropout_run d1 1 1 && dropout_run d1b 1 1 && dropout_run d2 2 1 && dropout_run d1i 1 1 drop 512 --interpret &&
    dropout_run d2s 1 2 && dropout_run p0 1 1 drop0 2048 || return 1
  read -r _ _ _ _ _ zeros ones < <("$work/npystat" "$work/d1/w.npy")
  kept=$zeros
  [ $((zeros + ones)) -eq $n ] || { echo "FAIL dropout: w holds values other than 0 and 1"; return 1; }
  within "$zeros" $((2048 - 160)) $((2048 + 160)) ||
    { echo "FAIL dropout: $zeros of $n kept, outside 2048 +- 5 sigma"; return 1; }
  read -r _ loss _ < <("$work/npystat" "$work/d1/loss.npy")
  within "$(awk -v l="$loss" -v k="$zeros" 'BEGIN { print l * 4096 / 4 / k }')" 0.999999 1.000001 ||
    { echo "FAIL dropout: loss $loss is not 4 * $zeros / 4096 (scaling 1 / (1 - p) inexact)"; return 1; }
  cmp -s "$work/d1/w.npy" "$work/d1b/w.npy" || { echo "FAIL dropout: same seed, different masks"; return 1; }
  cmp -s "$work/d1/w.npy" "$work/d1i/w.npy" || { echo "FAIL dropout: interpreter and C draw different masks"; return 1; }
  ! cmp -s "$work/d1/w.npy" "$work/d2/w.npy" || { echo "FAIL dropout: seeds 1 and 2 give the same mask"; return 1; }
  read -r _ _ _ _ _ _ ones < <("$work/npystat" "$work/d2s/w.npy")
  within "$ones" $((1024 - 139)) $((1024 + 139)) ||
    { echo "FAIL dropout: $ones dropped in both of 2 steps, outside 1024 +- 5 sigma (steps 1 and 2 share masks?)"; return 1; }
  read -r _ _ _ _ _ zeros _ < <("$work/npystat" "$work/p0/w.npy")
  read -r _ loss _ < <("$work/npystat" "$work/p0/loss.npy")
  [ "$zeros" -eq $n ] && [ "$loss" = 1 ] || { echo "FAIL dropout: ratio 0 is not the identity ($zeros kept, loss $loss)"; return 1; }
  "$AOTC" run "$here/drop.onnx" --input x="$here/drop.x.npy" --output-dir "$work/fwd" 2>"$work/log" &&
    read -r _ _ _ _ _ _ ones < <("$work/npystat" "$work/fwd/y.npy") && [ "$ones" -eq $n ] ||
    { echo "FAIL dropout: inference is not the identity"; return 1; }
  echo "ok   dropout (kept $kept/$n at p = 0.5; seeds, steps, ratio 0, inference)"
}

# --init: with lr 0 the parameters written are the initial values; each
# weight's and bias's mean and variance must fit U(-b, b) within 5 sigma
# (var b^2/3), no value beyond b; same seed, same values; other seed, other.
init_run() { # out kind seed
  "$AOTC" run "$here/cnn.onnx" --train --loss cross_entropy --optimizer sgd --lr 0 --init "$2" --seed "$3" \
    --input x="$here/cnn.x.npy" --input target="$here/cnn.target_ce.npy" --output-dir "$work/$1" 2>"$work/log" ||
    { echo "FAIL init $1: $(head -2 "$work/log")"; return 1; }
}
init_checks() {
  init_run k1 kaiming 5 && init_run k1b kaiming 5 && init_run k2 kaiming 6 && init_run x1 xavier 5 || return 1
  # parameter kaiming-bound xavier-bound (conv1: fan_in 9, fan_out 36; conv2: 36, 54; fc: 24, 5)
  local p b n mean var lo hi f
  while read -r p kb xb; do
    for kind in k1 x1; do
      b=$kb
      [ $kind = x1 ] && b=$xb
      read -r n mean var lo hi _ < <("$work/npystat" "$work/$kind/$p.npy")
      f=$(awk -v n="$n" -v m="$mean" -v v="$var" -v lo="$lo" -v hi="$hi" -v b="$b" 'BEGIN {
        if (b == 0) { print (lo == 0 && hi == 0) ? "ok" : "nonzero"; exit }
        e = b * b / 3; sm = b / sqrt(3 * n); sv = sqrt(4 * b ^ 4 / 45 / n)
        if (lo < -b || hi > b) print "beyond the bound";
        else if (m < -5 * sm || m > 5 * sm) print "mean " m;
        else if (v < e - 5 * sv || v > e + 5 * sv) print "variance " v " (expected " e ")";
        else print "ok" }')
      [ "$f" = ok ] || { echo "FAIL init $kind $p: $f"; return 1; }
    done
  done <<EOT
conv1_weight 0.333333333 0.365148372
conv1_bias 0.333333333 0
conv2_weight 0.166666667 0.258198890
conv2_bias 0.166666667 0
fc_weight 0.204124145 0.454858826
fc_bias 0.204124145 0
EOT
  cmp -s "$work/k1/conv2_weight.npy" "$work/k1b/conv2_weight.npy" || { echo "FAIL init: same seed, other values"; return 1; }
  ! cmp -s "$work/k1/conv2_weight.npy" "$work/k2/conv2_weight.npy" || { echo "FAIL init: seeds 5 and 6 agree"; return 1; }
  echo "ok   init (kaiming, xavier: per-layer mean, variance, bound; seeds)"
}

# The parameter blob: blob_check.c against the emitted MLP and CNN steps.
blob_checks() {
  local out=$work/blob
  mkdir -p "$out"
  "$AOTC" train "$here/mlp.onnx" --loss cross_entropy --optimizer adam -o "$out/mlp.c" 2>"$work/log" &&
    "$AOTC" train "$here/cnn.onnx" --loss cross_entropy --optimizer sgd -o "$out/cnn.c" 2>>"$work/log" &&
    ${CC:-cc} -std=c99 -Wall -Wextra -Werror -g -fsanitize=address,undefined -I"$out" -o "$out/check" \
      "$here/blob_check.c" "$out/mlp.c" "$out/cnn.c" -lm 2>>"$work/log" ||
    { echo "FAIL blob: build: $(head -3 "$work/log")"; return 1; }
  ASAN_OPTIONS=detect_leaks=0 "$out/check" || { echo "FAIL blob"; return 1; }
  echo "ok   blob (round trip, truncated, corrupted, other model)"
}

# Issue 11's must-show: the digits MLP's training code (batch 32) and the
# dropout model's build warning-free for the host and for a Cortex-M4; the
# MLP's workspace is printed.
m4_checks() {
  local out=$work/m4 m name loss
  mkdir -p "$out"
  for m in "$root/examples/train_digits/mlp.onnx x=32,64" "$here/drop.onnx x=1,4096"; do
    set -- $m
    name=$(basename "$1" .onnx) loss=cross_entropy
    [ "$name" = drop ] && loss=mse
    "$AOTC" train "$1" --loss $loss --optimizer adam --shape "$2" -o "$out/$name.c" 2>"$work/log" &&
      ${CC:-cc} -std=c99 -Wall -Wextra -Werror -c "$out/$name.c" -o "$out/$name.o" 2>>"$work/log" ||
      { echo "FAIL m4 $name (host): $(head -3 "$work/log")"; return 1; }
    command -v arm-none-eabi-gcc >/dev/null || { echo "skip m4: no arm-none-eabi-gcc"; return 0; }
    "$AOTC" train "$1" --loss $loss --optimizer adam --shape "$2" --cpu cortex-m4 -o "$out/${name}_m4.c" 2>"$work/log" &&
      arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -std=c99 -Wall -Wextra -Werror \
        -c "$out/${name}_m4.c" -o "$out/${name}_m4.o" 2>>"$work/log" ||
      { echo "FAIL m4 $name: $(head -3 "$work/log")"; return 1; }
    echo "     $name (cortex-m4): $(grep -o "${name}_train_step_WORKSPACE_BYTES ((size_t)[0-9]*)" "$out/${name}_m4.h")," \
      "blob $(grep -o "${name}_PARAMS_BLOB_BYTES ((size_t)[0-9]*)" "$out/${name}_m4.h")"
  done
  echo "ok   m4 (digits MLP batch 32 and dropout: host and Cortex-M4, -Werror)"
}

for extra in dropout init blob m4; do
  [ "$want" = "  " ] || [[ "$want" == *" $extra "* ]] || continue
  if ${extra}_checks; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
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
if [ "$want" = "  " ] || [[ "$want" == *" refusals "* ]]; then
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
