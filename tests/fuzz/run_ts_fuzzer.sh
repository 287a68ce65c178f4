#!/usr/bin/env bash
# run_ts_fuzzer.sh: builds the libFuzzer target of the TorchScript readers
# (tests/fuzz/fuzz_torchscript.c) with clang, AddressSanitizer and
# UndefinedBehaviorSanitizer into build-fuzz/, seeds a corpus with the
# fixture archives, their pickles and code files, and fuzzes for SECONDS
# (default 60). Needs clang with libFuzzer (Debian's clang); prints
# "skipped" without it.
#
#   tests/fuzz/run_ts_fuzzer.sh [SECONDS] [extra libFuzzer flags...]
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-60}
shift || true
out=build-fuzz
if ! command -v clang >/dev/null || ! echo 'int LLVMFuzzerTestOneInput(const char *d, long n){return 0;}' |
    clang -x c -fsanitize=fuzzer - -o "${TMPDIR:-/tmp}/aotc-fuzz-probe.$$" 2>/dev/null; then
  echo "ts fuzzer: skipped (no clang with libFuzzer)"
  exit 0
fi
mkdir -p "$out/corpus"
clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
  -Isrc/ir -Isrc/frontend/torchscript -Isrc/driver \
  src/frontend/torchscript/ts_*.c src/ir/context.c src/driver/npy.c src/ir/ir.c \
  tests/torchscript/zipwrite.c tests/fuzz/fuzz_torchscript.c -lz -lm -o "$out/fuzz_torchscript"
# Seeds: whole archives, and each one's pickles and code files.
for pt in tests/torchscript/fixtures/*/*.pt; do
  base=$(basename "$(dirname "$pt")")-$(basename "$pt" .pt)
  cp "$pt" "$out/corpus/$base.pt"
  python3 - "$pt" "$out/corpus/$base" <<'EOF' || true
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
for n in z.namelist():
    if n.endswith(("data.pkl", "constants.pkl")) or (n.endswith(".py") and "/code/" in n):
        open(sys.argv[2] + "-" + n.replace("/", "_"), "wb").write(z.read(n))
EOF
done
"$out/fuzz_torchscript" -max_total_time="$seconds" -max_len=262144 -rss_limit_mb=2048 "$@" "$out/corpus"
