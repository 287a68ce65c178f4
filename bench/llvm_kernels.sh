#!/usr/bin/env bash
# llvm_kernels.sh: the speed of the code each backend emits for the kernels
# of bench/kernels.tc (bench/kernel_cases.sh, shared with tune_rate.sh), as
# `aotc tune --trials 1` times the heuristics candidate (checked against the reference): the LLVM
# backend (`--backend llvm`, in-process) against the cc path (`cc -O2`,
# DRIVER_CFLAGS). BASE=path/to/another/aotc adds that binary's LLVM path.
# The variants alternate in every round; each cell is the median of ROUNDS.
# Prints a markdown table for bench/RESULTS.md.
#
#   bench/llvm_kernels.sh          (AOTC=build/aotc ROUNDS=3 BASE=)
set -euo pipefail
cd "$(dirname "$0")/.."
AOTC=${AOTC:-build/aotc}
ROUNDS=${ROUNDS:-3} BASE=${BASE:-}
out=build/bench/llvm_kernels
mkdir -p "$out"
echo "load: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores, $(date -u +%FT%TZ)"
# shellcheck source=bench/kernel_cases.sh
. bench/kernel_cases.sh
variants=(llvm cc)
[ -z "$BASE" ] || variants=(base llvm cc)

# us BIN ENTRY SIZES FLAGS...: the heuristics candidate's time in us
us() {
  "$1" tune bench/kernels.tc --entry "$2" --size "$3" --trials 1 --seed 1 "${@:4}" 2>&1 |
    sed -n "s/^$2: \([0-9.]*\) \([um]\)s.*/\1 \2/p" | awk '{ print $2 == "m" ? $1 * 1000 : $1 }'
}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

for c in "${cases[@]}"; do
  read -r e _ <<<"$c"
  for v in "${variants[@]}"; do : >"$out/$e.$v"; done
done
for ((r = 0; r < ROUNDS; r++)); do
  for c in "${cases[@]}"; do
    read -r e s <<<"$c"
    for v in "${variants[@]}"; do
      case $v in
      base) us "$BASE" "$e" "$s" --backend llvm ;;
      llvm) us "$AOTC" "$e" "$s" --backend llvm ;;
      cc) us "$AOTC" "$e" "$s" ;;
      esac >>"$out/$e.$v"
    done
  done
done

if [ -n "$BASE" ]; then
  echo "| kernel, sizes | LLVM, BASE (us) | LLVM (us) | cc -O2 (us) | LLVM / cc, BASE | LLVM / cc |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: |"
else
  echo "| kernel, sizes | LLVM (us) | cc -O2 (us) | LLVM / cc |"
  echo "| --- | ---: | ---: | ---: |"
fi
for c in "${cases[@]}"; do
  read -r e s <<<"$c"
  n=$(median <"$out/$e.llvm") k=$(median <"$out/$e.cc")
  if [ -n "$BASE" ]; then
    b=$(median <"$out/$e.base")
    echo "| $e $s | $b | $n | $k | $(ratio "$b" "$k") | $(ratio "$n" "$k") |"
  else
    echo "| $e $s | $n | $k | $(ratio "$n" "$k") |"
  fi
done
