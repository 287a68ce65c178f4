#!/usr/bin/env bash
# models.sh: issue 10's model table. For every model, batch, thread count and
# optimisation level: the code aotc emits, ONNX Runtime and PyTorch eager,
# measured side by side in one run (the three alternate, ROUNDS rounds, median
# of the rounds' medians), wall and CPU milliseconds per call. Ends with the
# summary issue 10 asks for: per configuration the geometric mean and the
# largest aotc / ORT ratio, and the models where aotc is not faster than PyTorch.
#
#   bench/models.sh [MODEL...]
#     AOTC=build/aotc BATCHES="1" THREADS="2" OPTS="-O2" ROUNDS=1 REPS=20
#     BASE_AOTC=PATH  adds the code an older aotc emits (before/after on a noisy machine)
#     NO_TORCH=1      leaves PyTorch out (it builds each model in Python: slow)
#     ENV="AOTC_X=0"  environment for aotc (pass switches)
#     CFLAGS="-O3 -mavx2"  one set of flags instead of OPTS (OPTS: levels, each with -march=native)
#
# Default models: ResNet-18, MobileNetV2, the MLP. SUITE=all: every model issue
# 10 names (tests/models' fixtures, the transformer encoder, ViT-B/16 and the
# torchvision classifiers), made on demand by bench/bench_models.py.
# Needs Debian's python3-torch, python3-torchvision, python3-onnx; see bench/lib.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
AOTC=${AOTC:-build/aotc}
BATCHES=${BATCHES:-1}
THREADS=${THREADS:-2}
CFLAGS=${CFLAGS:+${CFLAGS// /,}}
OPTS=${OPTS:-${CFLAGS:--O2}}
ROUNDS=${ROUNDS:-1}
REPS=${REPS:-20}
ALL="resnet18 mobilenet_v2 squeezenet1_1 transformer encoder vit_b_16 densenet121 resnext50_32x4d regnet_y_400mf
efficientnet_b0 googlenet shufflenet_v2_x1_0 mobilenet_v3_small convnext_tiny mlp"
if [ $# -gt 0 ]; then models=$*; elif [ "${SUITE:-}" = all ]; then models=$ALL; else models="resnet18 mobilenet_v2 mlp"; fi
bench_python
declare -A ms
tools=(aotc ort)
[ -n "${BASE_AOTC:-}" ] && tools=(base "${tools[@]}")
[ -n "${NO_TORCH:-}" ] || tools+=(torch)

dir_of() { echo "$BENCH_OUT/$1/$(echo "t$2$3" | tr -d ' =,-')"; } # TOOL THREADS OPT

build_all() { # NAME
  for t in $THREADS; do
    for o in $OPTS; do
      # shellcheck disable=SC2086
      bench_build "$AOTC" "$1" "$(dir_of after "$t" "$o")" "$t" "${o//,/ } -march=native" ${ENV:-} || return 1
      [ -z "${BASE_AOTC:-}" ] || bench_build "$BASE_AOTC" "$1" "$(dir_of before "$t" "$o")" "$t" "${o//,/ } -march=native" ||
        return 1
    done
  done
}

time_round() { # NAME
  local t o
  for t in $THREADS; do
    for o in $OPTS; do
      ms[aotc $t $o]+="$(bench_aotc "$1" "$(dir_of after "$t" "$o")" "$t" "$REPS");"
      [ -z "${BASE_AOTC:-}" ] || ms[base $t $o]+="$(bench_aotc "$1" "$(dir_of before "$t" "$o")" "$t" "$REPS");"
    done
    ms[ort $t]+="$(bench_peer ort "$1" "$t" "$REPS");"
    [ -n "${NO_TORCH:-}" ] || ms[torch $t]+="$(bench_peer torch "$1" "$t" "$REPS");"
  done
}

cell() { # KEY FIELD(1 wall, 2 cpu)
  echo "${ms[$1]}" | tr ';' '\n' | grep . | cut -d' ' -f"$2" | tr '\n' ' ' | median
}

header() {
  local h="| model | batch | threads | opt |" s="| --- | ---: | ---: | --- |" x
  for x in "${tools[@]}"; do h+=" $x ms (wall / CPU) |"; s+=" ---: |"; done
  for x in "${tools[@]}"; do [ "$x" = aotc ] || [ "$x" = ort ] || { h+=" aotc / $x |"; s+=" ---: |"; }; done
  echo "$h aotc / ort (wall / CPU) |"
  echo "$s ---: |"
}

summary=$(mktemp)
trap 'rm -f "$summary"' EXIT
echo "## $(date -u '+%Y-%m-%d %H:%M') UTC, load average $(load_avg)"
header
for m in $models; do
  for b in $BATCHES; do
    name=$m; [ "$b" = 1 ] || name=${m}_b$b
    # A model that does not export or build is a row saying so, not the end of the run.
    if ! bench_onnx "$name" || ! build_all "$name"; then
      echo "| $m | $b | FAILED: export or build (see above) |"
      echo "$b - - $m FAILED" >>"$summary"
      continue
    fi
    ms=()
    for _ in $(seq "$ROUNDS"); do time_round "$name"; done
    for t in $THREADS; do
      for o in $OPTS; do
        row="| $m | $b | $t | ${o//,/ } |"
        for x in "${tools[@]}"; do
          k="$x $t $o"; [ "$x" = ort ] || [ "$x" = torch ] && k="$x $t"
          row+=" $(cell "$k" 1) / $(cell "$k" 2) |"
        done
        aw=$(cell "aotc $t $o" 1); ac=$(cell "aotc $t $o" 2)
        [ -z "${BASE_AOTC:-}" ] || row+=" $(ratio "$aw" "$(cell "base $t $o" 1)") |"
        [ -n "${NO_TORCH:-}" ] || row+=" $(ratio "$aw" "$(cell "torch $t" 1)") |"
        ow=$(cell "ort $t" 1); oc=$(cell "ort $t" 2)
        echo "$row $(ratio "$aw" "$ow") / $(ratio "$ac" "$oc") |"
        tw=-; [ -n "${NO_TORCH:-}" ] || tw=$(cell "torch $t" 1)
        echo "$b $t $o $m $aw $ow $tw" >>"$summary"
      done
    done
  done
done
echo
awk '$5 == "FAILED" { failed = failed " " $4 " (batch " $1 ")"; next }
     {k = "batch " $1 ", " $2 " thread(s), " $3; n[k]++; r = $5 / $6; s[k] += log(r)
      if (r > mx[k]) { mx[k] = r; mm[k] = $4 }
      if ($7 != "-") { torch[k] = 1; if ($5 >= $7) slow[k] = slow[k] " " $4 } }
     END { for (k in n) printf "- %s: geometric mean aotc / ORT %.2f over %d models, largest %.2f (%s); %s\n",
                                k, exp(s[k] / n[k]), n[k], mx[k], mm[k],
                                !torch[k] ? "PyTorch not measured" : "not faster than PyTorch:" (slow[k] ? slow[k] : " none")
           if (failed) printf "- FAILED (not in the means):%s\n", failed }' "$summary" | sort
echo
echo "ROUNDS=$ROUNDS REPS=$REPS OPTS='$OPTS' ENV='${ENV:-}' $(cc --version | head -1); onnxruntime $("$PY" -c 'import onnxruntime; print(onnxruntime.__version__)'); torch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)' 2>/dev/null); load average $(load_avg)"
