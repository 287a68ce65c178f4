#!/usr/bin/env bash
# example.sh: installs what is missing, builds aotc, compiles the bundled
# example (examples/mlp.tc) to C, builds it with a small caller and runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh build
out=build/example
mkdir -p "$out"
set -x
build/aotc examples/mlp.tc -o "$out/mlp.c"
cc -O2 -std=c99 -Wall -Wextra -Werror -I"$out" -o "$out/demo" examples/demo.c "$out/mlp.c" -lm
"$out/demo"
