#!/usr/bin/env bash
# transformers.sh: issue 10 item 1 side by side in one run: the attention core
# of ViT-B/16 (Q.K^T, softmax, P.V on 12 x 197 x 64), the transformer encoder
# (2 layers, d=128), the transformer block of tests/models, ViT-B/16 and, for
# the ratios that must not move, ResNet-18 and MobileNetV2: bench/models.sh on
# 1 and 2 threads (aotc, ONNX Runtime, PyTorch; wall and CPU ms per call).
#
#   bench/transformers.sh [MODEL...]      (AOTC=build/aotc REPS=20 THREADS="1 2" OPTS=-O2)
set -euo pipefail
export THREADS=${THREADS:-1 2}
[ $# -gt 0 ] || set -- attention encoder transformer vit_b_16 resnet18 mobilenet_v2
exec "$(dirname "$0")/models.sh" "$@"
