#!/usr/bin/env bash
# llvm.sh: the LLVM backend (docs/llvm.md) against the C path, side by side
# in one run (the machine is shared and noisy: rounds alternate):
#   1. speed of the emitted code, 1 thread: sgemm 1024 (mm of
#      bench/kernels.tc, GFLOP/s, bench/mm_main.c) and ResNet-18 batch 1 (ms,
#      bench/model_main.c), the same plan printed as C and built with
#      `cc -O2` and `cc -O3` (-march=native), or built by LLVM
#      (`--emit obj`, O3 pipeline, this CPU);
#   2. tuning throughput: `aotc tune` of mm 256^3 for TRIALS candidates with
#      cc and with `--backend llvm` (candidates per minute, end to end, and
#      without the reference outputs both compute first: tune's own report
#      of where its time went), and build-only throughput: the same 8
#      schedules built as C + `cc -O2 -shared` or as an object by LLVM
#      (builds per minute); the paths alternate in every round, medians.
# Prints markdown tables for bench/RESULTS.md.
#
#   bench/llvm.sh          (AOTC=build/aotc ROUNDS=3 REPS=9 TRIALS=20)
# BENCH_CPU_TIME=1 times the code by CPU time (CLOCK_PROCESS_CPUTIME_ID:
# 1 thread, so a loaded machine's waits are left out). SPEED_ONLY=1 stops
# after part 1. THREADS=N (default 1): part 1's code scheduled for N threads
# (`--threads N`). Both sides are built with -fopenmp.
set -euo pipefail
cd "$(dirname "$0")/.."
AOTC=${AOTC:-build/aotc}
ROUNDS=${ROUNDS:-3} REPS=${REPS:-9} TRIALS=${TRIALS:-20} THREADS=${THREADS:-1}
# -fopenmp at every thread count, as README.md asks of the C (gcc reads its
# omp simd pragmas only under it); the objects' parallel loops call OpenMP.
th=(--threads "$THREADS") omp=(-fopenmp)
out=build/bench/llvm
models=${MODELS_DIR:-build/models}
mkdir -p "$out"
echo "load: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores, $(date -u +%FT%TZ)"

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# ---- 1. speed
"$AOTC" bench/kernels.tc --entry mm "${th[@]}" -o "$out/mm.c"
"$AOTC" bench/kernels.tc --entry mm "${th[@]}" --emit obj -o "$out/mm_llvm.o"
for o in O2 O3; do
  cc -std=gnu11 -$o -march=native "${omp[@]}" -I"$out" -Ibench -o "$out/mm_$o" bench/mm_main.c "$out/mm.c" -lm
done
cc -std=gnu11 -O2 -march=native "${omp[@]}" -I"$out" -Ibench -o "$out/mm_llvm" bench/mm_main.c "$out/mm_llvm.o" -lm

have_resnet=0
if [ -f "$models/resnet18.onnx" ] || /usr/bin/python3 tests/models/make_fixtures.py "$models" resnet18 >/dev/null 2>&1; then
  have_resnet=1
  mkdir -p "$out/c" "$out/l"
  "$AOTC" "$models/resnet18.onnx" "${th[@]}" -o "$out/c/resnet18.c"
  "$AOTC" "$models/resnet18.onnx" "${th[@]}" --emit obj -o "$out/l/resnet18.o"
  for o in O2 O3; do
    cc -std=gnu11 -$o -march=native "${omp[@]}" -DMODEL=resnet18 -I"$out/c" -Ibench -o "$out/resnet18_$o" \
      bench/model_main.c "$out/c/resnet18.c" -lm
  done
  cc -std=gnu11 -O2 -march=native "${omp[@]}" -DMODEL=resnet18 -I"$out/l" -Ibench -o "$out/resnet18_llvm" \
    bench/model_main.c "$out/l/resnet18.o" -lm
fi

for v in O2 O3 llvm; do : >"$out/mm_$v.txt"; : >"$out/rn_$v.txt"; done
for ((r = 0; r < ROUNDS; r++)); do
  for v in O2 O3 llvm; do
    "$out/mm_$v" 1024 "$REPS" >>"$out/mm_$v.txt"
    [ $have_resnet = 0 ] || "$out/resnet18_$v" "$REPS" >>"$out/rn_$v.txt"
  done
done
mm2=$(median <"$out/mm_O2.txt") mm3=$(median <"$out/mm_O3.txt") mml=$(median <"$out/mm_llvm.txt")
echo
echo "| case ($THREADS thread(s)) | C, cc -O2 | C, cc -O3 | LLVM backend | LLVM / cc -O2 | LLVM / cc -O3 |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
awk -v a="$mm2" -v b="$mm3" -v c="$mml" \
  'BEGIN { printf "| sgemm 1024 (GFLOP/s, higher is better) | %.1f | %.1f | %.1f | %.2f | %.2f |\n", a, b, c, c / a, c / b }'
if [ $have_resnet = 1 ]; then
  r2=$(median <"$out/rn_O2.txt") r3=$(median <"$out/rn_O3.txt") rl=$(median <"$out/rn_llvm.txt")
  awk -v a="$r2" -v b="$r3" -v c="$rl" \
    'BEGIN { printf "| ResNet-18 batch 1 (ms, lower is better) | %.1f | %.1f | %.1f | %.2f | %.2f |\n", a, b, c, a / c, b / c }'
else
  echo "| ResNet-18 | skipped: no build/models/resnet18.onnx (needs torch and torchvision) | | | | |"
fi
echo "(ratios: speed of the LLVM code relative to the C path's; above 1: LLVM faster; clock: $([ -n "${BENCH_CPU_TIME:-}" ] && echo CPU time || echo wall))"
[ -z "${SPEED_ONLY:-}" ] || exit 0

# ---- 2. tuning and build throughput, the two paths alternating in each round
tune() { # OUT FLAGS...: wall seconds of one `aotc tune`, its report in OUT
  local t0 t1
  t0=$(date +%s.%N)
  "$AOTC" tune bench/kernels.tc --entry mm --size M=256,N=256,K=256 --trials "$TRIALS" "${@:2}" >"$1" 2>&1
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }'
}
# Seconds of the reference in a tune report (`tune: X s reference, ...`).
reference_s() { awk '$1 == "tune:" { print $2 }' "$1"; }
schedules=("none" "tile=32,64,32 vec=1 mk=0" "tile=64,256,128 reg=6,16 vec=1 pack=1 sr=1 mk=1"
  "tile=16,32,8 reg=4,8 vec=1 sr=1 mk=0" "tile=96,512,256 reg=6,32 vec=1 pack=1 sr=1 mk=1"
  "tile=8,8,8 mk=0" "tile=128,128,64 reg=8,16 vec=1 pack=1 mk=1" "tile=48,96,48 reg=2,8 vec=1 sr=1 mk=0")
build_cc() {
  local s t0 t1
  t0=$(date +%s.%N)
  for s in "${schedules[@]}"; do
    "$AOTC" bench/kernels.tc --entry mm --size M=256,N=256,K=256 --schedule "$s" -o "$out/cand.c"
    cc -std=gnu11 -O2 -march=native -fPIC -shared -o "$out/cand.so" "$out/cand.c" -lm
  done
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }'
}
build_llvm() {
  local s t0 t1
  t0=$(date +%s.%N)
  for s in "${schedules[@]}"; do
    "$AOTC" bench/kernels.tc --entry mm --size M=256,N=256,K=256 --schedule "$s" --emit obj -o "$out/cand.o"
  done
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }'
}
for v in cc llvm; do : >"$out/tune_$v.txt"; : >"$out/tref_$v.txt"; : >"$out/build_$v.txt"; done
for ((r = 0; r < ROUNDS; r++)); do
  tune "$out/tune_cc_$r.log" >>"$out/tune_cc.txt"
  tune "$out/tune_llvm_$r.log" --backend llvm >>"$out/tune_llvm.txt"
  reference_s "$out/tune_cc_$r.log" >>"$out/tref_cc.txt"
  reference_s "$out/tune_llvm_$r.log" >>"$out/tref_llvm.txt"
  build_cc >>"$out/build_cc.txt"
  build_llvm >>"$out/build_llvm.txt"
done
# candidates per minute from the median wall time (minus the median reference)
rate() { awk -v n="$1" -v t="$2" -v r="${3:-0}" 'BEGIN { printf "%.1f", 60 * n / (t - r) }'; }
tc=$(median <"$out/tune_cc.txt") tl=$(median <"$out/tune_llvm.txt")
rc=$(median <"$out/tref_cc.txt") rl=$(median <"$out/tref_llvm.txt")
bc=$(median <"$out/build_cc.txt") bl=$(median <"$out/build_llvm.txt")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b / a }'; }
e2c=$(rate "$TRIALS" "$tc") e2l=$(rate "$TRIALS" "$tl") sc=$(rate "$TRIALS" "$tc" "$rc") sl=$(rate "$TRIALS" "$tl" "$rl")
b8c=$(rate "${#schedules[@]}" "$bc") b8l=$(rate "${#schedules[@]}" "$bl")
echo
echo "| mm 256^3 (median of $ROUNDS rounds) | cc | LLVM backend | LLVM / cc |"
echo "| --- | ---: | ---: | ---: |"
echo "| aotc tune, $TRIALS candidates, end to end (candidates/min) | $e2c | $e2l | $(ratio "$e2c" "$e2l") |"
echo "| the same without the reference outputs (${rc} s, ${rl} s; candidates/min) | $sc | $sl | $(ratio "$sc" "$sl") |"
echo "| build only: aotc + cc -O2, or aotc --emit obj, ${#schedules[@]} schedules (builds/min) | $b8c | $b8l | $(ratio "$b8c" "$b8l") |"
echo
echo "Where the time of the last round went (aotc tune's own report):"
grep -h "^tune: \|^mm:" "$out/tune_cc_$((ROUNDS - 1)).log" "$out/tune_llvm_$((ROUNDS - 1)).log" | sed 's/^/    /'
