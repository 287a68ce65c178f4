#!/usr/bin/env bash
# build_tool.sh BUILDDIR: builds bench/emit_sched against BUILDDIR's libaotc.a into BUILDDIR/bench/.
set -euo pipefail
cd "$(dirname "$0")/.."
b=${1:-build}
mkdir -p "$b/bench"
cc -O2 -std=gnu11 -Isrc/ir -Isrc/frontend/tc -o "$b/bench/emit_sched" bench/emit_sched.c \
  $(scripts/link-flags.sh "$b")
