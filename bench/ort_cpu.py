#!/usr/bin/env python3
"""ort_cpu.py: ONNX Runtime's CPU time per inference alone (milliseconds,
median of REPS calls on THREADS intra-op threads, spinning off): the second
number of bench/peer_time.py, for scripts that time by CPU on a loaded machine.

    .venv/bin/python bench/ort_cpu.py build/bench/models/resnet18.onnx [REPS [THREADS]]
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peer_time  # noqa: E402

if len(sys.argv) < 2:
    raise SystemExit(__doc__)
reps = int(sys.argv[2]) if len(sys.argv) > 2 else 20
threads = int(sys.argv[3]) if len(sys.argv) > 3 else 1
print("%.3f" % peer_time.measure(peer_time.ort_runner(sys.argv[1], threads), reps)[1])
