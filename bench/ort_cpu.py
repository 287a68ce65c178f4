#!/usr/bin/env python3
"""ort_cpu.py: ONNX Runtime's CPU time per inference (time.process_time,
median of REPS calls after 3 warm-up calls) on THREADS intra-op threads
(default 1; spinning off, so waits cost no CPU time), for a
loaded machine where wall-clock times say more about the load than the code
(bench/conv.sh measures aotc's code the same way).

    .venv/bin/python bench/ort_cpu.py build/bench/models/resnet18.onnx [REPS [THREADS]]
"""
import sys
import time

import numpy as np
import onnxruntime as ort

path = sys.argv[1]
reps = int(sys.argv[2]) if len(sys.argv) > 2 else 20
so = ort.SessionOptions()
so.intra_op_num_threads = int(sys.argv[3]) if len(sys.argv) > 3 else 1
so.inter_op_num_threads = 1
so.add_session_config_entry("session.intra_op.allow_spinning", "0")
s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
x = {"input": np.load(path[:-len(".onnx")] + ".input.npy")}
for _ in range(3):
    s.run(None, x)
t = []
for _ in range(reps):
    t0 = time.process_time()
    s.run(None, x)
    t.append(time.process_time() - t0)
print("%.3f" % (sorted(t)[reps // 2] * 1e3))
