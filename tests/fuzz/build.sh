#!/usr/bin/env bash
# build.sh: builds the libFuzzer targets (fuzz_tc, fuzz_onnx, fuzz_npy,
# fuzz_ts: the TorchScript zip, pickle and code readers) with
# clang -fsanitize=fuzzer,address,undefined into build-fuzz/ (or $1): the
# library is configured with meson (CC=clang, sanitizers, -fsanitize=fuzzer-no-link),
# then each target links against it with the fuzzer runtime. FUZZ_BUILDTYPE
# (default debugoptimized) is the library's meson buildtype: CI's short run
# takes debug (-O0), a quarter of the build's CPU time for fewer executions.
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=${1:-build-fuzz}
command -v clang >/dev/null || { echo "build.sh: clang is not installed (scripts/setup.sh installs it)" >&2; exit 2; }
if [ ! -f "$dir/build.ninja" ]; then
  CC=clang meson setup "$dir" -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype="${FUZZ_BUILDTYPE:-debugoptimized}" -Dllvm=disabled \
    -Dc_args='-fsanitize=fuzzer-no-link -fno-sanitize-recover=all' >/dev/null </dev/null
else
  CC=clang meson setup --reconfigure "$dir" -Dbuildtype="${FUZZ_BUILDTYPE:-debugoptimized}" -Dllvm=disabled >/dev/null </dev/null
fi
ninja -C "$dir" libaotc.a libaotc_llvm.a onnx.pb-c.h >/dev/null
inc="-Isrc/ir -Isrc/driver -I$dir"
libs="$dir/libaotc.a $dir/libaotc_llvm.a $(pkg-config --libs isl libprotobuf-c zlib) -lm"
for t in tc onnx npy; do
  clang -g -O1 -std=gnu11 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all $inc \
    tests/fuzz/fuzz_$t.c $libs -o "$dir/fuzz_$t"
done
clang -g -O1 -std=gnu11 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all $inc -Isrc/frontend/torchscript \
  tests/fuzz/fuzz_torchscript.c tests/torchscript/zipwrite.c $libs -o "$dir/fuzz_ts"
echo "built $dir/fuzz_tc $dir/fuzz_onnx $dir/fuzz_npy $dir/fuzz_ts"
