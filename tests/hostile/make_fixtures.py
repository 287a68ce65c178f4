#!/usr/bin/python3
"""make_fixtures.py: writes the ONNX fixtures of tests/hostile/run.sh
(committed; the tests need no Python). Run from anywhere:
    /usr/bin/python3 tests/hostile/make_fixtures.py
gather_input.onnx       Gather(data[5, 3] float, indices[4] int64 input), axis 0
gather_const_oob.onnx   the same with constant indices [0, 1, 7, 2] (7 is outside)
gather_const_neg.onnx   constant indices [0, -6, 1, 2] (-6 is outside [-5, 5))
gather_const_ok.onnx    constant indices [0, -5, 4, 2] (all inside)"""
import os
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")


def gather(name, const_idx):
    x = helper.make_tensor_value_info("data", TensorProto.FLOAT, [5, 3])
    y = helper.make_tensor_value_info("out", TensorProto.FLOAT, [4, 3])
    inputs, inits = [x], []
    if const_idx is None:
        inputs.append(helper.make_tensor_value_info("indices", TensorProto.INT64, [4]))
    else:
        inits.append(numpy_helper.from_array(np.array(const_idx, dtype=np.int64), "indices"))
    node = helper.make_node("Gather", ["data", "indices"], ["out"], axis=0)
    graph = helper.make_graph([node], "g", inputs, [y], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(HERE, name))


os.makedirs(HERE, exist_ok=True)
gather("gather_input.onnx", None)
gather("gather_const_oob.onnx", [0, 1, 7, 2])
gather("gather_const_neg.onnx", [0, -6, 1, 2])
gather("gather_const_ok.onnx", [0, -5, 4, 2])
