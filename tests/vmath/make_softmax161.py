"""make_softmax161.py: tests/vmath/softmax161.onnx, a Softmax over the last
axis of [8192, 161] (onnx.helper, opset 13, no weights), for sweep_softmax.c:
rows of 161 take the row kernel whose exp and sum share one loop, and 5
blocks of 32 of each row go through the 16-lane exp. Run once with
/usr/bin/python3; the file is committed."""
import os
import onnx
from onnx import helper as h, TensorProto as T

here = os.path.dirname(os.path.abspath(__file__))
g = h.make_graph([h.make_node("Softmax", ["x"], ["y"], axis=-1)], "softmax161",
                 [h.make_tensor_value_info("x", T.FLOAT, [8192, 161])],
                 [h.make_tensor_value_info("y", T.FLOAT, [8192, 161])])
m = h.make_model(g, opset_imports=[h.make_opsetid("", 13)])
onnx.checker.check_model(m)
onnx.save(m, os.path.join(here, "softmax161.onnx"))
