#!/usr/bin/env bash
# ddp.sh: data-parallel training over MPI (aotc train --ddp,
# runtime/aotc_ddp.c, docs/ddp.md) on ranks on this machine. For each case
# (the MLP with SGD and momentum, the small CNN with Adam; tests/train's
# models, pseudo-random data) ddp_check.c trains the --ddp step on each
# rank's shard of every global batch and, beside it, the plain step on the
# whole batch in one process:
#
#   emitted   the --ddp C builds with cc -std=c99 -Wall -Wextra -Werror
#             without MPI, and its object calls the two hooks and no MPI
#   2 ranks   parameters and optimizer state bitwise the same on both ranks
#             and within 1e-5 (max |ddp - one| / max |one| per tensor) of the
#             one-process run: the batch sums are added in another order
#   overlap   the hook log (AOTC_DDP_LOG) of rank 0 shows the first bucket's
#             MPI_Iallreduce started before the last gradient was ready
#   1 rank    the same as the plain step: bitwise for the MLP (the same
#             kernels), within 1e-5 for the CNN (a sync call between two
#             statements keeps them from fusing, and the weight gradient of
#             conv1 alone in its kernel is summed in another order)
#   faults    with AOTC_DDP_FAULT=no-average (sums, not means) and
#             no-allreduce (no communication) the 2-rank check must fail,
#             exiting non-zero after reporting differing tensors
#
# Without mpicc or mpirun it reports 1 skipped (not passed) and exits 0.
#
#   AOTC=build/aotc tests/train/ddp.sh [--san]
#
# --san builds ddp_check, the emitted steps and the runtime with
# AddressSanitizer and UndefinedBehaviorSanitizer (leak checks off: Open
# MPI keeps its allocations to the end).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
AOTC=${AOTC:-$root/build/aotc}
[ -x "$AOTC" ] || { echo "ddp: no aotc at $AOTC (set AOTC)"; exit 2; }
if ! command -v mpicc >/dev/null || ! command -v mpirun >/dev/null; then
  echo "skipped: no mpicc/mpirun (apt-get install libopenmpi-dev openmpi-bin)"
  echo "ddp: 0 passed, 0 failed, 1 skipped"
  exit 0
fi
san=()
mpirun=(mpirun --oversubscribe)
if [ "${1:-}" = --san ]; then
  san=(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
  mpirun=(env ASAN_OPTIONS=detect_leaks=0 "${mpirun[@]}")
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/aotc-ddp.XXXXXX")
trap 'rm -rf "$work"' EXIT
[ "$(id -u)" = 0 ] && mpirun+=(--allow-run-as-root)
passed=0 failed=0

result() {
  if [ "$1" = ok ]; then passed=$((passed + 1)); echo "ok   $2"; else failed=$((failed + 1)); echo "FAIL $2"; fi
}

# Rank 0's first step in the hook log (sequence, step, event, slot or
# bucket, ...): bucket 0's start must come before the ready of the last
# slot (the last gradient), and there must be a second bucket.
overlap() {
  awk '$2 == 0 && $3 == "ready" && $4 >= last { last = $4; r = $1 + 1 }
    $2 == 0 && $3 == "start" && $4 == 0 && !s { s = $1 + 1 }
    $2 == 0 && $3 == "start" && $4 > 0 { more = 1 }
    END { exit !(s && r && s < r && more) }' "$1"
}

build() {
  local dir=$1 model=$2 opt=$3 shape=$4
  "$AOTC" train "$here/$model.onnx" --loss cross_entropy --optimizer "$opt" --shape "$shape" --name ref \
    -o "$dir/ref_train.c" 2>"$dir/log" &&
    "$AOTC" train "$here/$model.onnx" --loss cross_entropy --optimizer "$opt" --shape "$shape" --name dp --ddp \
      -o "$dir/dp_train.c" 2>>"$dir/log" || { cat "$dir/log"; return 1; }
  mpicc -std=c99 -O2 -Wall -Wextra -Werror "${san[@]}" -I"$dir" -I"$root/runtime" -DREF=ref -DDP=dp \
    -DREF_HEADER='"ref_train.h"' -DDP_HEADER='"dp_train.h"' -o "$dir/ddp_check" "$here/ddp_check.c" \
    "$dir/ref_train.c" "$dir/dp_train.c" "$root/runtime/aotc_ddp.c" -lm
}

# The emitted --ddp code alone: no MPI, the hooks only.
emitted() {
  local dir=$1 undef
  ${CC:-cc} -std=c99 -O2 -Wall -Wextra -Werror -c "$dir/dp_train.c" -o "$dir/dp_train.o" || return 1
  undef=$(nm -u "$dir/dp_train.o" | awk '{print $2}')
  ! grep -qiE 'mpi|ompi' <<<"$undef" && grep -qx aotc_ddp_grad_ready <<<"$undef" &&
    grep -qx aotc_ddp_grad_wait <<<"$undef"
}

check() {
  local name=$1 model=$2 opt=$3 shape=$4 np1_tol=$5 dir=$work/$1
  shift 5
  mkdir -p "$dir"
  if ! build "$dir" "$model" "$opt" "$shape" >"$dir/build.log" 2>&1; then
    result fail "$name: build: $(head -5 "$dir/build.log")"
    return
  fi
  emitted "$dir" >"$dir/emit.log" 2>&1 && result ok "$name: emitted --ddp C builds without MPI, calls only the hooks" ||
    result fail "$name: emitted --ddp C: $(head -3 "$dir/emit.log")"
  if AOTC_DDP_LOG=$dir/hooks "${mpirun[@]}" -np 2 "$dir/ddp_check" "$@" >"$dir/np2.log" 2>&1; then
    result ok "$name: 2 ranks identical, equal to one process within 1e-5"
  else
    result fail "$name: 2 ranks"
  fi
  sed 's/^/       /' "$dir/np2.log"
  overlap "$dir/hooks.0" && result ok "$name: first Iallreduce started before the last gradient (hooks.0)" ||
    result fail "$name: no overlap in $(head -12 "$dir/hooks.0" 2>/dev/null | tr '\n' ';')"
  local what="within $np1_tol of"
  [ "$np1_tol" = 0 ] && what="bitwise equal to"
  "${mpirun[@]}" -np 1 "$dir/ddp_check" "$@" --tol "$np1_tol" >"$dir/np1.log" 2>&1 &&
    result ok "$name: 1 rank $what the plain step" || { result fail "$name: 1 rank"; cat "$dir/np1.log"; }
  for fault in no-average no-allreduce; do
    if AOTC_DDP_FAULT=$fault "${mpirun[@]}" -np 2 "$dir/ddp_check" "$@" >"$dir/$fault.log" 2>&1 ||
      ! grep -q '^FAIL' "$dir/$fault.log"; then
      result fail "$name: AOTC_DDP_FAULT=$fault was not caught by the comparison: $(tail -3 "$dir/$fault.log")"
    else
      result ok "$name: AOTC_DDP_FAULT=$fault is caught ($(grep -c '^FAIL' "$dir/$fault.log") tensors differ)"
    fi
  done
}

check mlp_sgd mlp sgd x=N,20 0 --steps 5 --batch 16 --lr 0.1 --bucket-bytes 512
check cnn_adam cnn adam x=N,1,8,8 1e-5 --steps 5 --batch 16 --lr 0.01 --bucket-bytes 1024

out=$("$AOTC" run "$here/mlp.onnx" --train --ddp --loss cross_entropy --optimizer sgd --input x="$here/mlp.x.npy" \
  --input target="$here/mlp.target_ce.npy" --output-dir "$work/refused" 2>&1)
rc=$?
[ $rc -eq 1 ] && grep -q "needs MPI" <<<"$out" && [ ! -e "$work/refused/loss.npy" ] &&
  result ok "run --train --ddp refused" || result fail "run --train --ddp: rc $rc: $out"
echo "ddp: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
