#!/usr/bin/env bash
# models.sh: batch-1 latency on THREADS threads (default 2) of ResNet-18,
# MobileNetV2 and the MLP of tests/models: aotc's emitted C, ONNX Runtime and
# PyTorch, measured one after the other in one run on the same ONNX file
# (made by tests/models/make_fixtures.py, or bench/bench_models.py for vit_b_16,
# encoder and other torchvision classifiers). Prints a markdown table of median
# milliseconds.
#
#   bench/models.sh [MODEL...]        (AOTC=build/aotc THREADS=2 REPS=50)
#
# BASE_AOTC=PATH adds a column: the code an older aotc emits, built and timed
# in the same run (before/after comparisons on a noisy machine).
#
# Needs Debian's python3-torch, python3-torchvision and python3-onnx; ONNX
# Runtime comes from PyPI into the git-ignored .venv (made when missing).
# The emitted code runs with libgomp's default waiting (spin briefly, then sleep)
# unless OMP_WAIT_POLICY says otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
AOTC=${AOTC:-build/aotc}
THREADS=${THREADS:-2}
REPS=${REPS:-50}
CFLAGS=${CFLAGS:--O3 -march=native}
models=${*:-resnet18 mobilenet_v2 mlp}
out=build/bench/models
mkdir -p "$out"
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c "import onnxruntime" 2>/dev/null; then
  python3 -m venv --system-site-packages .venv
  .venv/bin/pip install -q onnxruntime
fi

aotc_ms() { # MODEL AOTC TAG
  local m=$1 d=$out/$3
  mkdir -p "$d"
  "$2" "$out/$m.onnx" -o "$d/$m.c" --threads "$THREADS" >&2
  cc -std=gnu11 $CFLAGS -fopenmp -DMODEL="$m" -I"$d" -o "$d/$m.bench" bench/model_main.c "$d/$m.c" -lm >&2
  OMP_NUM_THREADS=$THREADS "$d/$m.bench" "$REPS"
}

ort_ms() {
  .venv/bin/python - "$out/$1.onnx" "$out/$1.input.npy" "$THREADS" "$REPS" <<'PY'
import sys, time, numpy as np, onnxruntime as ort
path, inp, threads, reps = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
so = ort.SessionOptions()
so.intra_op_num_threads = threads
so.inter_op_num_threads = 1
s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
x = {"input": np.load(inp)}
for _ in range(3):
    s.run(None, x)
t = []
for _ in range(reps):
    t0 = time.perf_counter(); s.run(None, x); t.append(time.perf_counter() - t0)
print("%.3f" % (sorted(t)[reps // 2] * 1e3))
PY
}

torch_ms() {
  /usr/bin/python3 - "$1" "$out/$1.input.npy" "$THREADS" "$REPS" <<'PY' 2>/dev/null
import sys, time, numpy as np, torch
sys.path.insert(0, "bench")
import bench_models
name, inp, threads, reps = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
torch.set_num_threads(threads)
torch.manual_seed(1234)
model, _ = bench_models.build(name)
model.eval()
x = torch.from_numpy(np.load(inp))
with torch.no_grad():
    for _ in range(3):
        model(x)
    t = []
    for _ in range(reps):
        t0 = time.perf_counter(); model(x); t.append(time.perf_counter() - t0)
print("%.3f" % (sorted(t)[reps // 2] * 1e3))
PY
}

if [ -n "${BASE_AOTC:-}" ]; then
  echo "| model | aotc before (ms) | aotc (ms) | ONNX Runtime (ms) | PyTorch (ms) | before / ORT | aotc / ORT |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
else
  echo "| model | aotc (ms) | ONNX Runtime (ms) | PyTorch (ms) | aotc / ORT |"
  echo "| --- | ---: | ---: | ---: | ---: |"
fi
for m in $models; do
  [ -f "$out/$m.onnx" ] || /usr/bin/python3 bench/bench_models.py "$out" "$m" >/dev/null 2>&1
  [ -z "${BASE_AOTC:-}" ] || b=$(aotc_ms "$m" "$BASE_AOTC" before)
  a=$(aotc_ms "$m" "$AOTC" after)
  o=$(ort_ms "$m")
  p=$(torch_ms "$m")
  if [ -n "${BASE_AOTC:-}" ]; then
    echo "| $m | $b | $a | $o | $p | $(echo "scale=2; $b / $o" | bc) | $(echo "scale=2; $a / $o" | bc) |"
  else
    echo "| $m | $a | $o | $p | $(echo "scale=2; $a / $o" | bc) |"
  fi
done
echo
echo "THREADS=$THREADS REPS=$REPS CFLAGS='$CFLAGS' $(cc --version | head -1); onnxruntime $(.venv/bin/python -c 'import onnxruntime; print(onnxruntime.__version__)'); torch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)' 2>/dev/null)"
