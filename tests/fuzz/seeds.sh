#!/usr/bin/env bash
# seeds.sh: assembles the seed corpus of each fuzz target from the test data
# into DIR/tc, DIR/onnx, DIR/npy and DIR/ts (default build-fuzz/seeds): the TC
# kernels, golden, check and error programs; the model fixtures, the ONNX
# error corpus and small models and .pb tensors of Debian's ONNX backend
# test data; small .npy fixtures and the .npy error corpus; the TorchScript
# fixture archives and the malformed ones. Files over 64 KiB
# are left out (libFuzzer mutates small inputs best).
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=${1:-build-fuzz/seeds}
mkdir -p "$dir/tc" "$dir/onnx" "$dir/npy" "$dir/ts"
small() { find "$@" -type f -size -65k 2>/dev/null || true; }
copy() {
  local to=$1; shift
  local i f
  i=$(ls "$to" | wc -l)
  while IFS= read -r f; do
    i=$((i + 1))
    cp "$f" "$to/seed_${i}_$(basename "$f")"
  done
}
small tests/kernels tests/golden tests/check tests/errors examples -name '*.tc' | copy "$dir/tc"
small tests/fuzz/regress/tc -name '*' | copy "$dir/tc"
testdata=/usr/share/libonnx-testdata/data/node
[ -d "$testdata" ] || testdata=
{
  small tests/models tests/errors/onnx tests/fuzz/regress/onnx -name '*.onnx'
  if [ -n "$testdata" ]; then small "$testdata" -name model.onnx | awk 'NR % 8 == 0'; small "$testdata" -name input_0.pb | awk 'NR % 16 == 0'; fi
} | copy "$dir/onnx"
{
  small tests/kernels/fixtures -name '*.npy' | awk 'NR % 8 == 0'
  small tests/errors/npy tests/fuzz/regress/npy -name '*.npy'
} | copy "$dir/npy"
{ small tests/torchscript/fixtures tests/torchscript/malformed -name '*.pt'; small tests/fuzz/regress/ts -name '*'; } | copy "$dir/ts"
for t in tc onnx npy ts; do printf '%s: %s seeds\n' "$t" "$(ls "$dir/$t" | wc -l)"; done
