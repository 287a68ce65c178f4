#!/usr/bin/python3
"""shapes.py: one-convolution ONNX models with the matrix-product shapes of
ResNet-18 and MobileNetV2 (bench/shapes.sh times their packed products).

    bench/shapes.py OUTDIR      # writes OUTDIR/<name>.onnx and OUTDIR/shapes.txt

shapes.txt: one line per model, `name m n k batches` of the product the
compiler makes of it (Winograd: 16 batches of the transformed channels).
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

# name, in channels, out channels, input size, kernel, stride, pad, (m, n, k, batches)
SHAPES = [
    ("r18_conv1", 3, 64, 224, 7, 2, 3, (64, 12544, 147, 1)),
    ("r18_l1_wino", 64, 64, 56, 3, 1, 1, (64, 784, 64, 16)),
    ("r18_l2_0_conv1", 64, 128, 56, 3, 2, 1, (128, 784, 576, 1)),
    ("r18_l2_down", 64, 128, 56, 1, 2, 0, (128, 784, 64, 1)),
    ("r18_l2_wino", 128, 128, 28, 3, 1, 1, (128, 196, 128, 16)),
    ("r18_l3_0_conv1", 128, 256, 28, 3, 2, 1, (256, 196, 1152, 1)),
    ("r18_l3_down", 128, 256, 28, 1, 2, 0, (256, 196, 128, 1)),
    ("r18_l3_conv", 256, 256, 14, 3, 1, 1, (256, 196, 2304, 1)),
    ("r18_l4_0_conv1", 256, 512, 14, 3, 2, 1, (512, 49, 2304, 1)),
    ("r18_l4_down", 256, 512, 14, 1, 2, 0, (512, 49, 256, 1)),
    ("r18_l4_conv", 512, 512, 7, 3, 1, 1, (512, 49, 4608, 1)),
    ("mnv2_f0", 3, 32, 224, 3, 2, 1, (32, 12544, 27, 1)),
    ("mnv2_1x1_16", 32, 16, 112, 1, 1, 0, (16, 12544, 32, 1)),
    ("mnv2_1x1_96", 16, 96, 112, 1, 1, 0, (96, 12544, 16, 1)),
    ("mnv2_1x1_24", 144, 24, 56, 1, 1, 0, (24, 3136, 144, 1)),
    ("mnv2_1x1_144", 24, 144, 56, 1, 1, 0, (144, 3136, 24, 1)),
    ("mnv2_1x1_1280", 320, 1280, 7, 1, 1, 0, (1280, 49, 320, 1)),
]


def model(cin, cout, size, kern, stride, pad):
    rng = np.random.default_rng(cin * 1000 + cout)
    w = (rng.standard_normal((cout, cin, kern, kern)) / np.sqrt(cin * kern * kern)).astype(np.float32)
    out = (size + 2 * pad - kern) // stride + 1
    node = helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[kern, kern], strides=[stride, stride],
                            pads=[pad] * 4)
    graph = helper.make_graph([node], "conv", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, cin, size, size])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, cout, out, out])],
                              [numpy_helper.from_array(w, "w")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "shapes.txt"), "w") as f:
        for name, cin, cout, size, kern, stride, pad, mnkb in SHAPES:
            onnx.save(model(cin, cout, size, kern, stride, pad), os.path.join(out, name + ".onnx"))
            f.write("%s %d %d %d %d\n" % (name, *mnkb))


if __name__ == "__main__":
    main()
