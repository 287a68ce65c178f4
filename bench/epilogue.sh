#!/usr/bin/env bash
# epilogue.sh: fused epilogues on and off (AOTC_EPILOGUE=0), whole models,
# CPU time per call (CLOCK_PROCESS_CPUTIME_ID), the two variants alternating
# in one run (bench/conv.sh: ROUNDS rounds of REPS calls, median of the
# rounds' medians), and ONNX Runtime's CPU time per call on the same file
# (bench/ort_cpu.py, THREADS intra-op threads) when a Python with
# onnxruntime is given.
#
#   bench/epilogue.sh [MODEL...]    (default: resnet18 mobilenet_v2; THREADS=1 REPS=20 ROUNDS=5
#                                    ORT_PYTHON=/work/wt/speed/.venv/bin/python)
#
# Models come from build/bench/models (bench/bench_models.py makes them).
set -euo pipefail
cd "$(dirname "$0")/.."
export THREADS=${THREADS:-1} REPS=${REPS:-20} ROUNDS=${ROUNDS:-5}
ORT_PYTHON=${ORT_PYTHON:-/work/wt/speed/.venv/bin/python}
models=${*:-resnet18 mobilenet_v2}
echo "## uptime: $(uptime)"
VARIANTS="off:AOTC_EPILOGUE=0 on:AOTC_EPILOGUE=1" bench/conv.sh $models
if [ -x "$ORT_PYTHON" ] && "$ORT_PYTHON" -c "import onnxruntime" 2>/dev/null; then
  for m in $models; do
    echo "ONNX Runtime $m: $("$ORT_PYTHON" bench/ort_cpu.py "build/bench/models/$m.onnx" "$REPS" "$THREADS") ms (CPU time per call)"
  done
fi
echo "## uptime: $(uptime)"
