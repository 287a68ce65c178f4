#!/usr/bin/env bash
# link-flags.sh BUILD: prints what a program linked against BUILD's
# libaotc.a needs: the library, its LLVM part (the real backend or the stub,
# whichever meson built) and the system libraries; LLVM's own libraries
# only when BUILD was configured with the real backend.
set -euo pipefail
b=${1:-build}
flags="$b/libaotc.a $b/libaotc_llvm.a $(pkg-config --libs isl libprotobuf-c zlib) -lm"
if ar t "$b/libaotc_llvm.a" 2>/dev/null | grep -q 'llvm_module\.c\.o$'; then
  flags="$flags $(llvm-config-15 --ldflags --libs | tr '\n' ' ') -lstdc++"
fi
echo "$flags"
