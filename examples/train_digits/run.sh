#!/usr/bin/env bash
# run.sh: the digits example. For each model (mlp, cnn), `aotc train`
# writes the training step, inference and initialisation as C (Adam, lr
# 1e-2 given at run time through hyper, cross-entropy, batch size a size
# parameter N), main.c is built against it with zlib, and it trains on 80%
# of scikit-learn's digits and reports the accuracy on the other 20%; it
# fails below 95%.
#
#   AOTC=build/aotc examples/train_digits/run.sh [--ddp] [EPOCHS] [MODEL...]
#
# --ddp: data-parallel over MPI (docs/ddp.md): the step is emitted with
# --ddp, built with mpicc, -DAOTC_DDP and runtime/aotc_ddp.c, and run as
#   mpirun -np $NP --oversubscribe train_MODEL --ddp --check DIGITS EPOCHS
# (NP default 2; --check trains again in one process and prints the
# difference). OUT=DIR keeps the programs there (default: a temporary
# directory).
#
# DIGITS (default: Debian's python3-sklearn copy) is the digits.csv.gz to
# read; without it the example is skipped (exit 77).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
AOTC=${AOTC:-$root/build/aotc}
DIGITS=${DIGITS:-/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz}
ddp=()
[ "${1:-}" = --ddp ] && { ddp=(--ddp); shift; }
epochs=${1:-20}
shift || true
models=${*:-mlp cnn}
[ -f "$DIGITS" ] || { echo "skipped: no $DIGITS (apt-get install python3-sklearn, or set DIGITS)"; exit 77; }
work=$(mktemp -d "${TMPDIR:-/tmp}/aotc-digits.XXXXXX")
trap 'rm -rf "$work"' EXIT
out=${OUT:-$work}
mkdir -p "$out"
cc=(${CC:-cc})
run=()
if [ ${#ddp[@]} -gt 0 ]; then
  cc=(mpicc -DAOTC_DDP -I"$root/runtime")
  run=(mpirun -np "${NP:-2}" --oversubscribe)
  [ "$(id -u)" = 0 ] && run+=(--allow-run-as-root)
fi
for m in $models; do
  shape="x=N,64"
  [ "$m" = cnn ] && shape="x=N,1,8,8"
  "$AOTC" train "$here/$m.onnx" --loss cross_entropy --optimizer adam --shape "$shape" "${ddp[@]}" \
    -o "$work/${m}_train.c"
  "${cc[@]}" -O2 -march=native -std=c99 -Wall -Wextra -Werror -D_POSIX_C_SOURCE=199309L -I"$work" -DMODEL="$m" \
    -DMODEL_NAME="\"$m\"" -DMODEL_HEADER="\"${m}_train.h\"" -o "$out/train_$m" "$here/main.c" "$work/${m}_train.c" \
    ${ddp:+"$root/runtime/aotc_ddp.c"} -lz -lm
  if [ ${#ddp[@]} -gt 0 ]; then
    echo "${run[*]} $out/train_$m --ddp --check $DIGITS $epochs"
    "${run[@]}" "$out/train_$m" --ddp --check "$DIGITS" "$epochs"
  else
    "$out/train_$m" "$DIGITS" "$epochs"
  fi
done
