#!/usr/bin/env bash
# softmax_layernorm.sh: issue 10's "softmax and layer norm >= 0.8x the memcpy
# bound". Softmax over the last axis and layer norm over the last axis
# (decomposed as torch 1.13 exports it: ReduceMean, Sub, Pow, ReduceMean,
# Add, Sqrt, Div, Mul, Add) on [197x768] (ViT-B/16's tokens), [12x197x197]
# (its attention), [4096x1024], compiled by aotc (and by BASE_AOTC, when
# given, for the numbers before), built at -O2 and -O3 (-march=native
# -fopenmp, 1 thread) and timed against a memcpy of the same bytes in the
# same process (bench/norm_main.c: CPU time per call, medians of 15 rounds).
#
#   bench/softmax_layernorm.sh          (AOTC=build/aotc BASE_AOTC=... OPT="-O2 -O3")
#
# Prints a Markdown table: kernel and memcpy microseconds per call and
# memcpy / kernel (1.0: as fast as copying the bytes; the goal is >= 0.8).
set -euo pipefail
cd "$(dirname "$0")/.."
AOTC=${AOTC:-build/aotc}
BASE_AOTC=${BASE_AOTC:-}
OPT=${OPT:--O2 -O3}
out=build/bench/norm
mkdir -p "$out"

/usr/bin/python3 - "$out" <<'PY'
import sys, numpy as np, onnx
from onnx import helper as h, TensorProto as T, numpy_helper as nh
out = sys.argv[1]
def save(name, nodes, shape, inits=()):
    g = h.make_graph(nodes, name, [h.make_tensor_value_info("x", T.FLOAT, shape)],
                     [h.make_tensor_value_info("y", T.FLOAT, shape)], list(inits))
    onnx.save(h.make_model(g, opset_imports=[h.make_opsetid("", 13)]), "%s/%s.onnx" % (out, name))
def c(name, v):
    return nh.from_array(np.asarray(v, dtype=np.float32), name)
rng = np.random.default_rng(0)
for shape in ([197, 768], [12, 197, 197], [4096, 1024]):
    tag = "x".join(map(str, shape))
    save("softmax_" + tag, [h.make_node("Softmax", ["x"], ["y"], axis=-1)], shape)
    n = shape[-1]
    ln = [h.make_node("ReduceMean", ["x"], ["m"], axes=[-1]), h.make_node("Sub", ["x", "m"], ["d"]),
          h.make_node("Pow", ["d", "two"], ["p"]), h.make_node("ReduceMean", ["p"], ["v"], axes=[-1]),
          h.make_node("Add", ["v", "eps"], ["a"]), h.make_node("Sqrt", ["a"], ["s"]),
          h.make_node("Div", ["d", "s"], ["q"]), h.make_node("Mul", ["q", "w"], ["r"]),
          h.make_node("Add", ["r", "b"], ["y"])]
    save("layernorm_" + tag, ln, shape, [c("two", 2.0), c("eps", 1e-5), c("w", rng.random(n) + 0.5),
                                          c("b", rng.random(n) - 0.5)])
PY

run() { # AOTC TAG MODEL OPT -> "kernel_us memcpy_us ratio"
  local d=$out/$2 exe
  exe=$d/$3${4//[- ]/}
  mkdir -p "$d"
  if [ ! -x "$exe" ] || [ "$exe" -ot "$1" ]; then
    "$1" "$out/$3.onnx" -o "$d/$3.c" --threads 1
    cc -std=gnu11 $4 -march=native -fopenmp -DMODEL="$3" -I"$d" -Ibench -o "$exe" bench/norm_main.c "$d/$3.c" -lm
  fi
  OMP_NUM_THREADS=1 "$exe" | cut -d' ' -f1-3
}

echo "## $(date -u +%H:%M) UTC, $(uptime | sed 's/.*load/load/')"
echo "| kernel | cc | aotc | kernel us | memcpy us | memcpy / kernel |"
echo "| --- | --- | --- | ---: | ---: | ---: |"
for op in softmax layernorm; do
  for shape in 197x768 12x197x197 4096x1024; do
    for o in $OPT; do
      for v in new ${BASE_AOTC:+base}; do
        a=$AOTC
        [ "$v" = base ] && a=$BASE_AOTC
        read -r k m r <<<"$(run "$a" "$v" "${op}_$shape" "$o")"
        echo "| $op $shape | $o | $v | $k | $m | $r |"
      done
    done
  done
done
echo
echo "$(cc --version | head -1); -march=native -fopenmp, OMP_NUM_THREADS=1; $(uptime | sed 's/.*load/load/')"
