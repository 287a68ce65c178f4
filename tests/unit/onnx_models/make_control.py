#!/usr/bin/python3
"""make_control.py: writes the ONNX models of tests/unit/test_control.c into
this folder: a Loop whose trip count and condition are run-time inputs, with
an If inside its body reading values from both graphs around it
(loop_while_if), and an If whose branches give different shapes
(if_shapes_differ). Run it with /usr/bin/python3 (onnx installed) after
changing it and commit the .onnx files; the tests need no Python."""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))


def save(name, graph, opset=13):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 7
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(HERE, name + ".onnx"))


def value(name, dtype, shape):
    return helper.make_tensor_value_info(name, dtype, shape)


def const(name, array):
    return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(np.array(array), name))


def loop_while_if():
    """s = x; for i in range(n) while c: s = 2 s if i even else s + 1; c = sum(s) < limit."""
    f = TensorProto.FLOAT
    then_g = helper.make_graph([const("two_f", np.float32(2)), helper.make_node("Mul", ["s", "two_f"], ["ts"])],
                               "then", [], [value("ts", f, [3])])
    else_g = helper.make_graph([const("one_f", np.float32(1)), helper.make_node("Add", ["s", "one_f"], ["es"])],
                               "else", [], [value("es", f, [3])])
    body = helper.make_graph(
        [const("two", np.int64(2)), const("zero", np.int64(0)),
         helper.make_node("Mod", ["i", "two"], ["m"]),
         helper.make_node("Equal", ["m", "zero"], ["even"]),
         helper.make_node("If", ["even"], ["t"], then_branch=then_g, else_branch=else_g),
         helper.make_node("ReduceSum", ["t"], ["total"], keepdims=0),
         helper.make_node("Less", ["total", "limit"], ["c_out"])],
        "body", [value("i", TensorProto.INT64, []), value("c_in", TensorProto.BOOL, []), value("s", f, [3])],
        [value("c_out", TensorProto.BOOL, []), value("t", f, [3])])
    loop = helper.make_node("Loop", ["n", "c", "x"], ["y"], name="loop", body=body)
    graph = helper.make_graph([loop], "loop_while_if",
                              [value("n", TensorProto.INT64, []), value("c", TensorProto.BOOL, []),
                               value("x", f, [3]), value("limit", f, [])], [value("y", f, [3])])
    save("loop_while_if", graph)


def if_shapes_differ():
    f = TensorProto.FLOAT
    then_g = helper.make_graph([const("a", np.ones(3, np.float32))], "then", [], [value("a", f, [3])])
    else_g = helper.make_graph([const("b", np.ones(4, np.float32))], "else", [], [value("b", f, [4])])
    node = helper.make_node("If", ["p"], ["y"], name="choose", then_branch=then_g, else_branch=else_g)
    save("if_shapes_differ", helper.make_graph([node], "if_shapes_differ", [value("p", TensorProto.BOOL, [])],
                                               [value("y", f, [3])]))


if __name__ == "__main__":
    loop_while_if()
    if_shapes_differ()
