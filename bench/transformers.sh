#!/usr/bin/env bash
# transformers.sh: issue 10 item 1 side by side in one run: ViT-B/16, the
# transformer encoder (2 layers, d=128), the transformer block of
# tests/models, the attention core of ViT-B/16 (Q.K^T, softmax, P.V on
# 12 x 197 x 64) and, for the ratios that must not move, ResNet-18 and
# MobileNetV2: aotc's emitted C against ONNX Runtime and PyTorch, batch 1,
# 1 and 2 threads, emitted code built with CFLAGS (default -O2 -march=native).
#
#   bench/transformers.sh [MODEL...]      (AOTC=build/aotc REPS=20 THREADS="1 2")
#
# ViT-B/16 is compiled with --weights (its 346 MB of weights would be 1 GB of
# C text): the packed weights lie in the blob, loaded and handed over by
# NAME_set_weights before timing (bench/model_main.c -DBLOB).
# Each cell is the median of REPS calls after 3 warm-ups: wall-clock
# milliseconds, and after a slash the process's CPU milliseconds per call
# (aotc: CLOCK_PROCESS_CPUTIME_ID; ORT and PyTorch: time.process_time), which
# a loaded machine disturbs less. OpenMP and ORT threads wait passively
# (OMP_WAIT_POLICY=passive, ORT intra-op spinning off) so that an idle
# worker does not steal the core the other threads need.
set -euo pipefail
cd "$(dirname "$0")/.."
AOTC=${AOTC:-build/aotc}
REPS=${REPS:-20}
CFLAGS=${CFLAGS:--O2 -march=native}
THREADS=${THREADS:-1 2}
PY=${PY:-/work/wt/speed/.venv/bin/python}
models=${*:-attention encoder transformer vit_b_16 resnet18 mobilenet_v2}
out=build/bench/models
mkdir -p "$out"
[ -x "$PY" ] && "$PY" -c "import onnxruntime" 2>/dev/null || PY=.venv/bin/python
if ! "$PY" -c "import onnxruntime" 2>/dev/null; then
  python3 -m venv --system-site-packages .venv
  .venv/bin/pip install -q onnxruntime
  PY=.venv/bin/python
fi

aotc_ms() { # MODEL THREADS -> "wall cpu"
  local m=$1 t=$2 d=$out/tr-t$2 flags="" blob="" def=""
  mkdir -p "$d"
  if [ "$m" = vit_b_16 ]; then flags="--weights $d/$m.bin"; blob=$d/$m.bin; def=-DBLOB; fi
  if [ ! -x "$d/$m.bench" ] || [ "$d/$m.bench" -ot "$AOTC" ]; then
    # shellcheck disable=SC2086
    "$AOTC" "$out/$m.onnx" -o "$d/$m.c" --threads "$t" $flags >&2
    cc -std=gnu11 $CFLAGS -fopenmp -c -o "$d/$m.o" "$d/$m.c" >&2
    cc -std=gnu11 $CFLAGS -fopenmp $def -DMODEL="$m" -I"$d" -Ibench -o "$d/$m.bench" bench/model_main.c "$d/$m.o" -lm >&2
  fi
  echo "$(OMP_WAIT_POLICY=passive OMP_NUM_THREADS=$t "$d/$m.bench" "$REPS" $blob)" \
    "$(BENCH_CPU_TIME=1 OMP_WAIT_POLICY=passive OMP_NUM_THREADS=$t "$d/$m.bench" "$REPS" $blob)"
}

ort_ms() { # MODEL THREADS -> "wall cpu"
  "$PY" - "$out/$1.onnx" "$out/$1.input.npy" "$2" "$REPS" <<'PY'
import sys, time, numpy as np, onnxruntime as ort
path, inp, threads, reps = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
so = ort.SessionOptions()
so.intra_op_num_threads = threads
so.inter_op_num_threads = 1
so.add_session_config_entry("session.intra_op.allow_spinning", "0")
s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
x = {s.get_inputs()[0].name: np.load(inp)}
for _ in range(3):
    s.run(None, x)
w, c = [], []
for _ in range(reps):
    t0, c0 = time.perf_counter(), time.process_time()
    s.run(None, x)
    w.append(time.perf_counter() - t0); c.append(time.process_time() - c0)
print("%.3f %.3f" % (sorted(w)[reps // 2] * 1e3, sorted(c)[reps // 2] * 1e3))
PY
}

torch_ms() { # MODEL THREADS -> "wall cpu"
  /usr/bin/python3 - "$1" "$out/$1.input.npy" "$2" "$REPS" <<'PY' 2>/dev/null
import sys, time, numpy as np, torch
sys.path.insert(0, "bench")
import bench_models
name, inp, threads, reps = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
torch.set_num_threads(threads)
torch.manual_seed(1234)
model, _ = bench_models.build(name)
model.eval()
x = torch.from_numpy(np.load(inp))
w, c = [], []
with torch.no_grad():
    for _ in range(3):
        model(x)
    for _ in range(reps):
        t0, c0 = time.perf_counter(), time.process_time()
        model(x)
        w.append(time.perf_counter() - t0); c.append(time.process_time() - c0)
print("%.3f %.3f" % (sorted(w)[reps // 2] * 1e3, sorted(c)[reps // 2] * 1e3))
PY
}

ratio() { echo "scale=2; $1 / $2" | bc; }

echo "## $(date -u +%H:%M) UTC, $(uptime | sed 's/.*load/load/')"
echo "| model | threads | aotc ms (wall / CPU) | ORT ms (wall / CPU) | PyTorch ms (wall / CPU) | aotc / ORT (wall / CPU) | aotc / PyTorch (wall / CPU) |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
for m in $models; do
  [ -f "$out/$m.onnx" ] || /usr/bin/python3 bench/bench_models.py "$out" "$m" >/dev/null 2>&1
  for t in $THREADS; do
    read -r aw ac <<<"$(aotc_ms "$m" "$t")"
    read -r ow oc <<<"$(ort_ms "$m" "$t")"
    read -r pw pc <<<"$(torch_ms "$m" "$t")"
    echo "| $m | $t | $aw / $ac | $ow / $oc | $pw / $pc | $(ratio "$aw" "$ow") / $(ratio "$ac" "$oc") | $(ratio "$aw" "$pw") / $(ratio "$ac" "$pc") |"
  done
done
echo
echo "REPS=$REPS CFLAGS='$CFLAGS' $(cc --version | head -1); onnxruntime $("$PY" -c 'import onnxruntime; print(onnxruntime.__version__)'); torch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)' 2>/dev/null); $(uptime | sed 's/.*load/load/')"
