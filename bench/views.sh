#!/usr/bin/env bash
# views.sh: before/after of the views pass (src/graph/views.c) on the models
# heavy in Concat, Split, Reshape and channel shuffles: bench/models.sh with
# the code BASE_AOTC emits beside AOTC's and ONNX Runtime, 1 thread, 3 rounds
# (CPU times are the ones a loaded machine leaves meaningful). How many
# copies the pass removed: "copies removed" in build/bench/models/after/*/MODEL.log.
#
#   BASE_AOTC=/path/to/old/aotc bench/views.sh [MODEL...]   (THREADS=1 ROUNDS=3 REPS=20)
set -euo pipefail
: "${BASE_AOTC:?set BASE_AOTC to the aotc to compare with}"
export BASE_AOTC THREADS=${THREADS:-1} ROUNDS=${ROUNDS:-3} NO_TORCH=1
[ $# -gt 0 ] || set -- densenet121 googlenet shufflenet_v2_x1_0 efficientnet_b0 mobilenet_v3_small regnet_y_400mf
exec "$(dirname "$0")/models.sh" "$@"
