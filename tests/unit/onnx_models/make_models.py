#!/usr/bin/python3
"""make_models.py: writes the small ONNX models of tests/unit/test_onnx_checks.c
into this folder: models the reader or shape inference must refuse (wrong
attribute types, a Conv kernel_shape that disagrees with its weights, a
Slice with a repeated axis, a Tile beyond the memory budget, duplicate
names) and Slices at the int64 limits. Run it with /usr/bin/python3 (onnx
installed) after changing it and commit the .onnx files; the tests need no
Python."""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
I64_MIN, I64_MAX = np.iinfo(np.int64).min, np.iinfo(np.int64).max


def save(name, nodes, inputs, outputs, inits=(), opset=13):
    graph = helper.make_graph(nodes, name, inputs, outputs, initializer=list(inits))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 7
    onnx.save(model, os.path.join(HERE, name + ".onnx"))


def tensor(name, shape, dtype=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, dtype, shape)


def ints(name, values):
    return numpy_helper.from_array(np.array(values, dtype=np.int64), name)


def conv_weights(k):
    return numpy_helper.from_array(np.ones((1, 1, k, k), dtype=np.float32), "w")


def main():
    x4, y4 = tensor("x", [1, 1, 8, 8]), tensor("y", None)
    conv = helper.make_node("Conv", ["x", "w"], ["y"], name="conv", group=1.0)
    save("attr_wrong_type", [conv], [x4], [y4], [conv_weights(3)])
    squeeze = helper.make_node("Squeeze", ["x"], ["y"], name="squeeze", axes=0)
    save("attr_int_for_ints", [squeeze], [tensor("x", [1, 4])], [y4], opset=11)
    conv = helper.make_node("Conv", ["x", "w"], ["y"], name="conv", kernel_shape=[5, 5])
    save("conv_kernel_mismatch", [conv], [x4], [y4], [conv_weights(3)])
    sl = helper.make_node("Slice", ["x", "starts", "ends", "axes"], ["y"], name="slice")
    save("slice_repeated_axis", [sl], [tensor("x", [4, 4])], [y4],
         [ints("starts", [0, 1]), ints("ends", [2, 3]), ints("axes", [1, -1])])
    nodes = [helper.make_node("Slice", ["x", "s%d" % k, "e%d" % k, "a", "t%d" % k], ["y%d" % k], name="slice%d" % k)
             for k in range(3)]
    limits = [(I64_MAX, I64_MIN, -1), (0, I64_MAX, I64_MAX), (I64_MAX, I64_MIN, I64_MIN)]
    inits = [ints("a", [0])]
    for k, (s, e, t) in enumerate(limits):
        inits += [ints("s%d" % k, [s]), ints("e%d" % k, [e]), ints("t%d" % k, [t])]
    save("slice_int64_limits", nodes, [tensor("x", [5])], [tensor("y%d" % k, None) for k in range(3)], inits)
    tile = helper.make_node("Tile", ["x", "reps"], ["y"], name="tile")
    save("tile_too_large", [tile], [tensor("x", [32, 32])], [y4], [ints("reps", [1 << 12, 1 << 13])])
    twice = [helper.make_node("Relu", ["x"], ["y"], name="a"), helper.make_node("Neg", ["x"], ["y"], name="b")]
    save("duplicate_node_output", twice, [tensor("x", [4])], [y4])
    save("duplicate_input", [helper.make_node("Add", ["x", "x"], ["y"], name="add")],
         [tensor("x", [4]), tensor("x", [4])], [y4])
    save("output_named_like_an_input", [helper.make_node("Relu", ["x"], ["x"], name="relu")], [tensor("x", [4])],
         [tensor("x", [4])])


if __name__ == "__main__":
    main()
