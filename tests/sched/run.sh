#!/usr/bin/env bash
# run.sh: `aotc run --schedule TEXT` (and --threads) through the driver on a
# sample of the kernel corpus, compared with the numpy fixtures: untransformed
# loops, isl tiling without the micro-kernel, the packed micro-kernel with
# small odd tiles, and two OpenMP threads (the driver then builds with
# -fopenmp and must survive the OpenMP runtime's threads). Then the
# heuristics of every --cpu: the code written for any of them must compute
# the same on this machine.
set -u
here=$(cd "$(dirname "$0")" && pwd)
kdir=$here/../kernels
AOTC=${AOTC:-$here/../../build/aotc}
work=$(mktemp -d "${TMPDIR:-/tmp}/aotc-sched.XXXXXX")
trap 'rm -rf "$work"' EXIT
cc -O2 -o "$work/npycmp" "$here/../e2e/npycmp.c" -lm || exit 1
schedules=(
  "none"
  "tile=8,16,4 reg=2,4 vec=1 sr=1 mk=0"
  "tile=5,24,7 reg=3,8 vec=1 pack=1 sr=1 mk=1"
  "tile=16,32,8 reg=4,8 vec=1 threads=2 sr=1 mk=0"
  "tile=12,64,16 reg=6,16 vec=1 threads=2 pack=1 sr=1 mk=1"
)
cpus=(x86-64-v4 x86-64-v3 x86-64-v2 generic cortex-m4)
cases="matmul bmm conv2d conv2d_pad1 softmax layernorm embedding maxpool2 conv2d_s2_grad_input histogram"
pass=0 fail=0
for case in $cases; do
  line=$(grep -E "^[^ ]+ $case " "$kdir/manifest.txt" | head -1)
  [ -n "$line" ] || { echo "FAIL $case: not in the manifest"; fail=$((fail + 1)); continue; }
  read -r file _ rest <<<"$line"
  ins=${rest%%->*} outs=${rest##*->}
  args=()
  for n in $ins; do args+=(--input "$n=$kdir/fixtures/$case/$n.npy"); done
  runs=()
  for s in "${schedules[@]}"; do runs+=("--schedule=$s"); done
  for c in "${cpus[@]}"; do runs+=("--cpu=$c"); done
  for r in "${runs[@]}"; do
    out="$work/out"; rm -rf "$out"
    ok=1
    "$AOTC" run "$kdir/$file" --entry "$case" "$r" "${args[@]}" --output-dir "$out" >"$work/log" 2>&1 || ok=0
    for n in $outs; do
      [ $ok = 1 ] && { "$work/npycmp" "$out/$n.npy" "$kdir/fixtures/$case/expected_$n.npy" >>"$work/log" 2>&1 || ok=0; }
    done
    if [ $ok = 1 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL $case $r"; tail -3 "$work/log"; fi
  done
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
