#!/usr/bin/env bash
# tune_rate.sh: `aotc tune`'s candidates per minute, the cc path against
# --backend llvm (docs/llvm.md), on the same kernels, sizes and seed: the
# kernels of bench/kernels.tc (sgemm 256^3, a batched matmul, the two ResNet
# 3x3 convolutions at reduced channels, softmax, layer norm). The two paths
# alternate in every round; each cell is the median of ROUNDS rounds, wall
# time and CPU time (user + system of aotc and its children: the machine is
# shared and noisy). Every candidate of both paths is checked against the
# reference interpreter (only passing ones can be kept); the last column
# counts the candidates rejected as wrong, per round.
# Prints markdown tables for bench/RESULTS.md, then aotc tune's own report
# of where the time of the last round went. BASE=path/to/another/aotc adds
# that binary's two paths to every round (alternating with AOTC's) and a
# second table: before and after a change, under the same load.
# LLVM_CACHE=1 runs the LLVM path with `--llvm-cache` on a directory emptied
# first: its first round compiles the shared micro-kernels and packing
# functions and writes them, the later rounds read them (the median is a
# warm round's; the first round's rates are printed after the table).
#
#   bench/tune_rate.sh          (AOTC=build/aotc ROUNDS=3 TRIALS=16 BASE= LLVM_CACHE=)
set -euo pipefail
cd "$(dirname "$0")/.."
AOTC=${AOTC:-build/aotc}
ROUNDS=${ROUNDS:-3} TRIALS=${TRIALS:-16} BASE=${BASE:-} LLVM_CACHE=${LLVM_CACHE:-}
variants=(cc llvm)
[ -z "$BASE" ] || variants+=(base_cc base_llvm)
out=build/bench/tune_rate
mkdir -p "$out"
rm -rf "$out/llvm-cache" "$out/base-llvm-cache"
load() { echo "load: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores, $(date -u +%FT%TZ)"; }
load

# shellcheck source=bench/kernel_cases.sh
. bench/kernel_cases.sh

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# tune LOG ENTRY SIZES FLAGS...: "WALL CPU" of one `aotc tune`, its report in LOG
tune() {
  local log=$1 entry=$2 sizes=$3
  shift 3
  local bin=$AOTC
  [ "${1:-}" != base ] || { bin=$BASE; shift; }
  /usr/bin/time -f "%e %U %S" -o "$log.time" "$bin" tune bench/kernels.tc --entry "$entry" --size "$sizes" \
    --trials "$TRIALS" --seed 1 "$@" >"$log" 2>&1
  awk '{ printf "%s %.2f\n", $1, $2 + $3 }' "$log.time"
}
wrong() { sed -n 's/.* \([0-9]*\) wrong, \([0-9]*\) failed.*/\1/p' "$1" | tail -1; }

for c in "${cases[@]}"; do
  read -r entry sizes <<<"$c"
  for v in "${variants[@]}"; do : >"$out/${entry}_$v.wall"; : >"$out/${entry}_$v.cpu"; : >"$out/${entry}_$v.wrong"; done
done
for ((r = 0; r < ROUNDS; r++)); do
  for c in "${cases[@]}"; do
    read -r entry sizes <<<"$c"
    for v in "${variants[@]}"; do
      flags=()
      [ "${v#base_}" = "$v" ] || flags=(base)
      [ "${v#base_}" = cc ] || flags+=(--backend llvm)
      [ "${v#base_}" = cc ] || [ -z "$LLVM_CACHE" ] ||
        flags+=(--llvm-cache "$out/$([ "${v#base_}" = "$v" ] || echo base-)llvm-cache")
      read -r w u < <(tune "$out/${entry}_${v}_$r.log" "$entry" "$sizes" "${flags[@]}")
      echo "$w" >>"$out/${entry}_$v.wall"
      echo "$u" >>"$out/${entry}_$v.cpu"
      wrong "$out/${entry}_${v}_$r.log" >>"$out/${entry}_$v.wrong"
    done
  done
done

rate() { awk -v n="$TRIALS" -v t="$1" 'BEGIN { printf "%.0f", 60 * n / t }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
# table PREFIX TITLE: the table of one binary's two paths
table() {
  local p=$1
  echo
  echo "$2"
  echo
  echo "| kernel, sizes ($TRIALS candidates, median of $ROUNDS) | cc: cand/min wall | LLVM: cand/min wall | LLVM / cc wall | cc: cand/min CPU | LLVM: cand/min CPU | LLVM / cc CPU | rejected as wrong (cc; LLVM) |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
  for c in "${cases[@]}"; do
    read -r entry sizes <<<"$c"
    wc=$(median <"$out/${entry}_${p}cc.wall") wl=$(median <"$out/${entry}_${p}llvm.wall")
    uc=$(median <"$out/${entry}_${p}cc.cpu") ul=$(median <"$out/${entry}_${p}llvm.cpu")
    echo "| $entry $sizes | $(rate "$wc") | $(rate "$wl") | $(ratio "$wc" "$wl") | $(rate "$uc") | $(rate "$ul") |" \
      "$(ratio "$uc" "$ul") | $(paste -sd+ "$out/${entry}_${p}cc.wrong"); $(paste -sd+ "$out/${entry}_${p}llvm.wrong") |"
  done
}
table "" "$AOTC:"
[ -z "$BASE" ] || table base_ "$BASE (BASE):"
if [ -n "$LLVM_CACHE" ]; then
  echo
  echo "LLVM with --llvm-cache, first round (the cache empty), candidates per minute (wall):"
  for c in "${cases[@]}"; do
    read -r entry sizes <<<"$c"
    echo "    $entry: $(rate "$(head -1 "$out/${entry}_llvm.wall")")"
  done
fi
load
echo
echo "Where the time of the last round went (aotc tune's own report):"
for c in "${cases[@]}"; do
  read -r entry sizes <<<"$c"
  for v in "${variants[@]}"; do
    grep -h "^tune: " "$out/${entry}_${v}_$((ROUNDS - 1)).log" | sed "s/^/    $entry $v: /"
  done
done
