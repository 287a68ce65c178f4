#!/usr/bin/env bash
# setup.sh: installs the Debian packages aotc needs to build and test.
# Idempotent: installs only what is missing; runs apt-get as root (or via sudo).
#   scripts/setup.sh          what the build and the tests need
#   scripts/setup.sh --bench  that and what bench/ needs besides (OpenBLAS)
set -euo pipefail
packages=(meson ninja-build pkg-config gcc g++ libc6-dev libisl-dev libcriterion-dev
          gcc-arm-none-eabi libnewlib-arm-none-eabi
          libonnx-dev protobuf-c-compiler libprotobuf-c-dev zlib1g-dev libonnx-testdata python3-onnx python3-torch
          python3-torchvision python3-numpy clang
          qemu-system-arm libhalide14-0-dev llvm-15-dev libopenmpi-dev openmpi-bin python3-sklearn)
[ "${1:-}" != --bench ] || packages+=(libopenblas-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all packages present"
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "setup: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
