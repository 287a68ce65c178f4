#!/usr/bin/env bash
# results.sh BUILDDIR: the runs recorded in bench/RESULTS.md, one at a time,
# each repeated REPEAT times (default 3).
set -u
cd "$(dirname "$0")/.."
b=${1:-build}
r=${REPEAT:-3}
best1="tile=96,4096,384 reg=12,32 vec=1 vbytes=64 pack=1 sr=1 mk=1 threads=1"
best2="tile=192,4096,512 reg=12,32 vec=1 vbytes=64 pack=1 sr=1 mk=1 threads=2"
run() { for i in $(seq "$r"); do "$@"; done; }
echo "## uptime: $(uptime)"
for n in 256 512 1024 2048; do
  run bench/sgemm.sh "$b" heuristic 1 "$n"
  run bench/sgemm.sh "$b" heuristic:2 2 "$n"
done
run bench/sgemm.sh "$b" "$best1" 1 1024
run bench/sgemm.sh "$b" "$best2" 2 1024
run bench/ops.sh "$b" heuristic bmm 16 256 256 256
run bench/ops.sh "$b" heuristic conv 1 64 56 56 64 1
run bench/ops.sh "$b" heuristic conv 1 256 28 28 512 2
OMP_NUM_THREADS=2 run bench/ops.sh "$b" heuristic:2 conv 1 64 56 56 64 1 2
OMP_NUM_THREADS=2 run bench/ops.sh "$b" heuristic:2 conv 1 256 28 28 512 2 2
run bench/ops.sh "$b" "tile=0,64,0,0,0,0,256 reg=0,6,0,64 vec=1 vbytes=64 pack=1 sr=1 mk=1" conv 1 64 56 56 64 1
run bench/ops.sh "$b" "tile=0,196,0,0,0,0,256 reg=0,28,0,16 vec=1 vbytes=64 pack=1 sr=1 mk=1" conv 1 256 28 28 512 2
run bench/ops.sh "$b" heuristic softmax 4096 1024
run bench/ops.sh "$b" heuristic layernorm 4096 1024
echo "## uptime: $(uptime)"
