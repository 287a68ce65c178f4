#!/usr/bin/env bash
# conv.sh: CPU time per call of single convolutions (one Conv node with
# bias, batch N) or whole models emitted by aotc under each variant, measured
# side by side: the variants alternate, ROUNDS rounds, median of the rounds'
# medians.
#
#   bench/conv.sh "N C K H W KS STRIDE PAD GROUPS" ...   (AOTC=build/aotc THREADS=1 REPS=20 ROUNDS=3)
#   bench/conv.sh resnet18 resnext50_32x4d ...           (models: bench/bench_models.py into build/bench/models)
#   VARIANTS="wino0:AOTC_WINOGRAD=0 wino2:AOTC_WINOGRAD=2" (default), each TAG:ENV;
#   BASE_AOTC=PATH adds the variant "base" (that aotc, no environment).
#
# Prints a markdown table, one row per shape, ms per call (CLOCK_PROCESS_CPUTIME_ID).
# Needs Debian's python3-torch and python3-onnx to write the ONNX files.
set -euo pipefail
cd "$(dirname "$0")/.."
AOTC=${AOTC:-build/aotc}
THREADS=${THREADS:-1}
REPS=${REPS:-20}
ROUNDS=${ROUNDS:-3}
VARIANTS=${VARIANTS:-"wino0:AOTC_WINOGRAD=0 wino2:AOTC_WINOGRAD=2"}
out=build/bench/conv
mkdir -p "$out"

make_onnx() { # NAME N C K H W KS STRIDE PAD GROUPS
  /usr/bin/python3 - "$@" <<'PY' 2>/dev/null
import sys, torch
name = sys.argv[1]
n, c, k, h, w, ks, s, p, g = (int(v) for v in sys.argv[2:11])
torch.manual_seed(0)
m = torch.nn.Conv2d(c, k, ks, stride=s, padding=p, groups=g)
torch.onnx.export(m, torch.randn(n, c, h, w), name, input_names=["input"], output_names=["output"], opset_version=13)
PY
}

build_variant() { # ONNX TAG ENV... -> binary
  local onnx=$1 tag=$2 d
  shift 2
  d=$out/$tag
  mkdir -p "$d"
  local stem
  stem=$(basename "$onnx" .onnx)
  env "$@" "${aotc_of[$tag]}" "$onnx" -o "$d/$stem.c" --threads "$THREADS" 2>/dev/null
  cc -std=gnu11 -O2 -march=native -fopenmp -DMODEL="$stem" -I"$d" -Ibench -o "$d/$stem.bench" bench/model_main.c "$d/$stem.c" -lm
  echo "$d/$stem.bench"
}

declare -A aotc_of
tags=()
for v in $VARIANTS; do tags+=("${v%%:*}"); aotc_of[${v%%:*}]=$AOTC; done
if [ -n "${BASE_AOTC:-}" ]; then tags=(base "${tags[@]}"); aotc_of[base]=$BASE_AOTC; VARIANTS="base: $VARIANTS"; fi
echo "| N C K H W k s p g, or model | $(printf '%s (ms) | ' "${tags[@]}")"
echo "|$(printf -- '---|%.0s' $(seq 0 ${#tags[@]}))"
# The ONNX file of a shape (made here) or of a model (bench_models.py).
onnx_of() {
  if [[ $1 != *" "* ]]; then
    [ -f "build/bench/models/$1.onnx" ] || /usr/bin/python3 bench/bench_models.py build/bench/models "$1" >/dev/null 2>&1
    cp "build/bench/models/$1.onnx" "$out/$1.onnx"
    echo "$1"
    return
  fi
  local n c k h w ks s p g
  read -r n c k h w ks s p g <<<"$1"
  make_onnx "$out/c_${n}_${c}_${k}_${h}_${w}_${ks}_${s}_${p}_${g}.onnx" "$n" "$c" "$k" "$h" "$w" "$ks" "$s" "$p" "$g"
  echo "c_${n}_${c}_${k}_${h}_${w}_${ks}_${s}_${p}_${g}"
}

for shape in "$@"; do
  stem=$(onnx_of "$shape")
  declare -A bin times
  for v in $VARIANTS; do
    tag=${v%%:*}; envs=${v#*:}
    bin[$tag]=$(build_variant "$out/$stem.onnx" "$tag" $envs)
    times[$tag]=""
  done
  for r in $(seq "$ROUNDS"); do
    for tag in "${tags[@]}"; do
      times[$tag]+="$(BENCH_CPU_TIME=1 OMP_NUM_THREADS=$THREADS "${bin[$tag]}" "$REPS") "
    done
  done
  row="| $shape |"
  for tag in "${tags[@]}"; do
    row+=" $(echo "${times[$tag]}" | tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}') |"
  done
  echo "$row"
  unset bin times
done
