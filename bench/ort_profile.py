#!/usr/bin/env python3
"""ort_profile.py: ONNX Runtime's per-node times beside aotc's per-kernel
times for one ONNX model, node by node: where aotc loses to ORT.

ORT side: SessionOptions.enable_profiling, sequential execution, all graph
optimisations, INTRA-op threads; each node's mean wall time per call.
aotc side: the model aotc emits with --threads T, rewritten by
bench/kernel_times.py with a wall clock (-DKT_CLOCK=CLOCK_MONOTONIC), mean
wall time of each top-level kernel per call.

Both sides fuse differently (ORT: Conv+Add+Relu into one node, NCHWc
reorders; aotc: epilogues into the producer, Winograd stages, padded copies),
so every time is charged to a group of the original graph: anchor nodes
(Conv, Gemm, MatMul, pooling, ...) with the element-wise nodes that follow
them alone (BatchNormalization, Relu, Add, Clip, ...); a residual Add of two
convolutions joins both (ResNet's conv2 + downsample: one group), and so does
an element-wise node reading a tensor that only element-wise nodes read
(SiLU, x * Sigmoid(x), joins its convolution; ORT's fused `.../Mul/QuickGeluFusion/`
counts as its Mul). An aotc kernel is named by
the tensor it writes (ONNX names mangled: `/layer4/layer4.1/relu/Relu_output_0`
-> `_layer4_layer4_1_relu_Relu_output_0`; derived tensors carry a suffix:
`_wino_prod`, `_padded`); an ORT node by its output (`..._nchwc`) or its name.
Prints per thread count a table: group, ORT ms, aotc ms, aotc/ORT, aotc-ORT,
sorted by aotc - ORT (largest loss first), and the totals.

    .venv/bin/python bench/ort_profile.py MODEL.onnx [--aotc build/aotc]
        [--base-aotc OLD/aotc] [--threads "1 2"] [--reps 20] [--rounds 3] [--top 0] [--opt -O2]

--base-aotc adds an older aotc's column (before/after), all three alternating
in each round. On a loaded machine wall times swing by tens of percent from
one round to the next: compare columns of one run, not runs; --passive keeps
spinning idle threads (both sides) from starving the workers there.
"""
import argparse
import glob
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile

import numpy as np
import onnxruntime as ort

HERE = os.path.dirname(os.path.abspath(__file__))
PASSIVE = False  # --passive: idle threads sleep (ORT without spinning, OMP_WAIT_POLICY=passive)
FOLLOWERS = {"Relu", "Add", "BatchNormalization", "Clip", "Sigmoid", "Mul", "Sum", "LeakyRelu",
             "HardSigmoid", "HardSwish", "Identity", "Dropout"}


def mangle(name):
    return re.sub(r"[^A-Za-z0-9_]", "_", name)


DUMP = ("import json, sys, onnx; g = onnx.load(sys.argv[1], load_external_data=False).graph; "
        "print(json.dumps({'nodes': [[n.name, n.op_type, list(n.input), list(n.output)] for n in g.node], "
        "'outputs': [o.name for o in g.output]}))")


def load_graph(path):
    """the model's nodes (name, op, inputs, outputs) and outputs, read by
    Debian's python3 with onnx when this interpreter (ORT's venv) has none."""
    try:
        import onnx  # noqa: F401
        exe = sys.executable
    except ImportError:
        exe = "/usr/bin/python3"
    return json.loads(subprocess.run([exe, "-c", DUMP, path], check=True, capture_output=True,
                                     text=True).stdout)


def find(parent, x):
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


def build_groups(graph):
    """original tensor name -> group name: an element-wise node joins the
    groups of the inputs it alone reads (a residual Add joins both convs);
    a group is named by its first node's output."""
    nodes = graph["nodes"]
    order = {o: i for i, n in enumerate(nodes) for o in n[3]}
    consumers = {}
    for n in nodes:
        for i in n[2]:
            consumers.setdefault(i, []).append(n)
    parent = {o: o for o in order}
    for n in nodes:
        if n[1] not in FOLLOWERS:
            continue
        for i in n[2]:
            readers = consumers.get(i, [])
            if i in order and (len(readers) == 1 or all(c[1] in FOLLOWERS for c in readers)):
                a, b = sorted((find(parent, i), find(parent, n[3][0])), key=order.get)
                parent[b] = a
    group = {o: find(parent, o) for o in order}
    node_out = {n[0]: n[3][0] for n in nodes if n[0]}
    return group, node_out


def ort_group(name, group, node_out):
    base = re.sub(r"(/\w+Fusion/)?(_nchwc)?(_kernel_time)?$", "", name)
    if base in group:
        return group[base]
    if base in node_out:
        return group[node_out[base]]
    return "(ort: %s)" % base


def aotc_group(label, by_mangled):
    tensor = label.split()[1]
    best = max((m for m in by_mangled if tensor.startswith(m)), key=len, default=None)
    return by_mangled[best] if best else "(aotc: %s)" % tensor


def ort_times(path, threads, reps, tmp):
    so = ort.SessionOptions()
    so.enable_profiling = True
    so.profile_file_prefix = os.path.join(tmp, "ort_t%d" % threads)
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.add_session_config_entry("session.intra_op.allow_spinning", "0" if PASSIVE else "1")
    s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    feeds = {i.name: np.random.rand(*[d if isinstance(d, int) else 1 for d in i.shape]).astype(np.float32)
             for i in s.get_inputs()}
    for _ in range(3):
        s.run(None, feeds)
    events = json.load(open(s.end_profiling()))
    for f in glob.glob(os.path.join(tmp, "ort_t%d*.json" % threads)):
        os.remove(f)
    s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    for _ in range(reps):
        s.run(None, feeds)
    events = json.load(open(s.end_profiling()))
    acc = {}
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
            acc[e["name"]] = acc.get(e["name"], 0.0) + e["dur"] * 1e-3 / reps
    return acc


def aotc_build(aotc, args, threads, tmp):
    d = os.path.join(tmp, "aotc_t%d" % threads)
    os.makedirs(d, exist_ok=True)
    model = args.model
    m = mangle(os.path.splitext(os.path.basename(model))[0])
    c, w = os.path.join(d, m + ".c"), os.path.join(d, m + ".weights")
    subprocess.run([aotc, model, "-o", c, "--weights", w, "--threads", str(threads)], check=True)
    subprocess.run([sys.executable, os.path.join(HERE, "kernel_times.py"), c, m, os.path.join(d, m + "_kt.c")],
                   check=True)
    blob = ["-DBLOB"] if "_set_weights" in open(os.path.join(d, m + ".h")).read() else []
    exe = os.path.join(d, m + ".kt")
    subprocess.run(["cc", "-std=gnu11", args.opt, "-march=native", "-fopenmp", "-DKT_MAIN", "-DMODEL=" + m,
                    "-DKT_CLOCK=CLOCK_MONOTONIC", *blob, "-I" + d, "-I" + HERE, "-o", exe,
                    os.path.join(HERE, "model_main.c"), os.path.join(d, m + "_kt.c"), "-lm"], check=True)
    return [exe, str(args.reps)] + ([w] if blob else [])


def aotc_times(cmd, threads):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    if PASSIVE:
        env["OMP_WAIT_POLICY"] = "passive"
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    acc = {}
    for line in out.splitlines():
        m = re.match(r"\s*([0-9.]+) ms\s+[0-9.]+% (.*)$", line)
        if m:
            acc[m.group(2)] = acc.get(m.group(2), 0.0) + float(m.group(1))
    return acc


def grouped(rounds, keyfn):
    per = {}
    for r in rounds:
        g = {}
        for name, ms in r.items():
            k = keyfn(name)
            g[k] = g.get(k, 0.0) + ms
        for k, ms in g.items():
            per.setdefault(k, []).append(ms)
    return {k: statistics.median(v + [0.0] * (len(rounds) - len(v))) for k, v in per.items()}


def total(d):
    return sum(d.values())


def report(threads, o, a, base, top):
    """the table, largest aotc - ORT first; base: an older aotc's times or None."""
    rows = sorted(set(o) | set(a), key=lambda k: a.get(k, 0) - o.get(k, 0), reverse=True)
    head = "\n### %d thread%s: ORT %.2f ms, aotc %.2f ms" % (threads, "" if threads == 1 else "s", total(o), total(a))
    if base is not None:
        head += ", base %.2f ms" % total(base)
    print(head + " (sums of nodes / kernels); aotc/ORT %.2f" % (total(a) / max(total(o), 1e-9)))
    cols = "| group | ORT ms |" + (" base ms | base/ORT |" if base is not None else "")
    print(cols + " aotc ms | aotc/ORT | aotc-ORT ms |")
    print("| --- | ---: |" + (" ---: | ---: |" if base is not None else "") + " ---: | ---: | ---: |")
    ratio = lambda y, x: "%.2f" % (y / x) if x > 0 else "-"
    for k in rows[:top] if top else rows:
        x, y = o.get(k, 0.0), a.get(k, 0.0)
        mid = " %.3f | %s |" % (base.get(k, 0.0), ratio(base.get(k, 0.0), x)) if base is not None else ""
        print("| %s | %.3f |%s %.3f | %s | %+.3f |" % (k, x, mid, y, ratio(y, x), y - x))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("--aotc", default="build/aotc")
    ap.add_argument("--base-aotc", default=None, help="an older aotc, timed alternately (before/after)")
    ap.add_argument("--threads", default="1 2")
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--top", type=int, default=0)
    ap.add_argument("--opt", default="-O2")
    ap.add_argument("--passive", action="store_true", help="idle threads sleep (a loaded machine)")
    args = ap.parse_args()
    global PASSIVE
    PASSIVE = args.passive
    graph = load_graph(args.model)
    group, node_out = build_groups(graph)
    by_mangled = {mangle(t): grp for t, grp in group.items()}
    by_mangled.update({mangle(o): group.get(o, o) for o in graph["outputs"]})
    print("## %s, load average %s" % (os.path.basename(args.model), open("/proc/loadavg").read().split()[0]))
    with tempfile.TemporaryDirectory() as tmp:
        for t in [int(x) for x in args.threads.split()]:
            run_threads(args, t, tmp, group, node_out, by_mangled)


def run_threads(args, t, tmp, group, node_out, by_mangled):
    cmd = aotc_build(args.aotc, args, t, os.path.join(tmp, "after"))
    bcmd = aotc_build(args.base_aotc, args, t, os.path.join(tmp, "before")) if args.base_aotc else None
    ort_r, aotc_r, base_r = [], [], []
    for _ in range(args.rounds):
        if bcmd:
            base_r.append(aotc_times(bcmd, t))
        aotc_r.append(aotc_times(cmd, t))
        ort_r.append(ort_times(args.model, t, args.reps, tmp))
    o = grouped(ort_r, lambda n: ort_group(n, group, node_out))
    a = grouped(aotc_r, lambda lab: aotc_group(lab, by_mangled))
    b = grouped(base_r, lambda lab: aotc_group(lab, by_mangled)) if bcmd else None
    report(t, o, a, b, args.top)


if __name__ == "__main__":
    main()
