#!/usr/bin/env python3
"""peer_time.py: the peers' time per inference of a benchmark model, for the
bench scripts (bench/lib.sh): ONNX Runtime on the ONNX file, or PyTorch eager
on the module bench/bench_models.py builds, with the input saved beside the
ONNX file. Median of REPS calls after 3 warm-ups, on THREADS intra-op
threads (ORT's spinning off, so an idle worker costs no CPU time). Prints
"WALL_MS CPU_MS" (time.perf_counter, time.process_time).

    python bench/peer_time.py ort|torch build/bench/models/NAME.onnx [REPS [THREADS]]

NAME may end in _bN: the model at batch N (bench_models.py exports it).
"""
import os
import sys
import time

import numpy as np


def ort_runner(path, threads):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    x = {s.get_inputs()[0].name: np.load(path[:-len(".onnx")] + ".input.npy")}
    return lambda: s.run(None, x)


def torch_runner(path, threads):
    import torch
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import bench_models
    torch.set_num_threads(threads)
    torch.manual_seed(1234)
    model, _ = bench_models.build(bench_models.split_batch(os.path.basename(path)[:-len(".onnx")])[0])
    model.eval()
    x = torch.from_numpy(np.load(path[:-len(".onnx")] + ".input.npy"))

    def run():
        with torch.no_grad():
            model(x)
    return run


def measure(run, reps):
    for _ in range(3):
        run()
    wall, cpu = [], []
    for _ in range(reps):
        t0, c0 = time.perf_counter(), time.process_time()
        run()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return sorted(wall)[reps // 2] * 1e3, sorted(cpu)[reps // 2] * 1e3


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in ("ort", "torch"):
        raise SystemExit(__doc__)
    reps = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    threads = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    runner = ort_runner if sys.argv[1] == "ort" else torch_runner
    print("%.3f %.3f" % measure(runner(sys.argv[2], threads), reps))


if __name__ == "__main__":
    main()
