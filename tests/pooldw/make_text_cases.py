#!/usr/bin/env python3
"""make_text_cases.py: ONNX models that tests/pooldw/run.sh only compiles and
reads the C of (no input or output saved: their inputs are too large to
commit). dw3_s2_large: MobileNetV2's features.2 window at batch 8 (a 3x3
depthwise convolution, stride 2, 96 channels, 112x112, ReLU6), whose input
(38.5 MB) is past what a last-level cache holds.

    /usr/bin/python3 tests/pooldw/make_text_cases.py tests/pooldw
"""
import os
import sys

import numpy as np
import onnx
from onnx import helper as h, numpy_helper as nh, TensorProto as T


def main():
    outdir = sys.argv[1]
    rng = np.random.default_rng(7)
    c, n, hw = 96, 8, 112
    w = nh.from_array((rng.standard_normal((c, 1, 3, 3)) * 0.3).astype(np.float32), "w")
    b = nh.from_array((rng.standard_normal(c) * 0.3).astype(np.float32), "b")
    lo = nh.from_array(np.array(0.0, dtype=np.float32), "lo")
    hi = nh.from_array(np.array(6.0, dtype=np.float32), "hi")
    nodes = [h.make_node("Conv", ["x", "w", "b"], ["c"], group=c, kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                         strides=[2, 2]),
             h.make_node("Clip", ["c", "lo", "hi"], ["y"])]
    g = h.make_graph(nodes, "dw3_s2_large", [h.make_tensor_value_info("x", T.FLOAT, [n, c, hw, hw])],
                     [h.make_tensor_value_info("y", T.FLOAT, [n, c, hw // 2, hw // 2])], [w, b, lo, hi])
    onnx.save(h.make_model(g, opset_imports=[h.make_opsetid("", 13)]), os.path.join(outdir, "dw3_s2_large.onnx"))


if __name__ == "__main__":
    main()
