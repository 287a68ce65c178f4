#!/usr/bin/python3
"""gen.py: writes the malformed ONNX models of this folder (a development
tool: the files are committed and the tests need no Python). Each model is
small and wrong in one way; EXPECT lists the diagnostic each must get."""
import os
import onnx
from onnx import helper, TensorProto, numpy_helper
import numpy as np

here = os.path.dirname(os.path.abspath(__file__))


def relu_model(x_shape=(1, 4), inits=(), opset=13, nodes=None, inputs=None, outputs=None):
    x = helper.make_tensor_value_info('x', TensorProto.FLOAT, list(x_shape))
    y = helper.make_tensor_value_info('y', TensorProto.FLOAT, None)
    nodes = nodes if nodes is not None else [helper.make_node('Relu', ['x'], ['y'], name='relu')]
    g = helper.make_graph(nodes, 'g', inputs if inputs is not None else [x],
                          outputs if outputs is not None else [y], initializer=list(inits))
    ops = [helper.make_opsetid('', opset)] if opset is not None else []
    return helper.make_model(g, opset_imports=ops)


def save(name, model):
    with open(os.path.join(here, name), 'wb') as f:
        f.write(model if isinstance(model, bytes) else model.SerializeToString())


def add_model(w):
    """y = x + w for an initializer w (its shape decides x's)."""
    x = helper.make_tensor_value_info('x', TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info('y', TensorProto.FLOAT, None)
    n = helper.make_node('Add', ['x', 'w'], ['y'], name='add')
    return helper.make_model(helper.make_graph([n], 'g', [x], [y], initializer=[w]),
                             opset_imports=[helper.make_opsetid('', 13)])


def declared(dims, dtype=TensorProto.FLOAT, raw=None, external=None):
    t = TensorProto()
    t.name = 'w'
    t.data_type = dtype
    t.dims.extend(dims)
    if raw is not None:
        t.raw_data = raw
    if external is not None:
        t.data_location = TensorProto.EXTERNAL
        for k, v in external.items():
            e = t.external_data.add()
            e.key, e.value = k, v
    return t


good = relu_model().SerializeToString()
save('empty.onnx', b'')
save('garbage.onnx', bytes(range(7, 200, 3)) * 3)
save('truncated.onnx', good[:len(good) // 2])
save('no_graph.onnx', (lambda m: (m.opset_import.add(), setattr(m, 'ir_version', 8), m)[2])(onnx.ModelProto()))
save('opset_10000.onnx', relu_model(opset=10000))
save('no_opset.onnx', relu_model(opset=None))
save('initializer_no_data.onnx', add_model(declared([1, 1 << 28])))
save('initializer_no_data_4g.onnx', add_model(declared([1, 1 << 30])))
save('initializer_over_budget.onnx', add_model(declared([1 << 20, 1 << 20])))
save('initializer_negative_dim.onnx', add_model(declared([1, -4])))
save('initializer_overflow.onnx', add_model(declared([1 << 40, 1 << 40])))
save('initializer_short_raw.onnx', add_model(declared([1, 4], raw=b'\0\0\0\0')))
save('initializer_string.onnx', add_model(declared([1, 4], dtype=TensorProto.STRING)))
save('external_absolute.onnx', add_model(declared([1, 4], external={'location': '/etc/passwd'})))
save('external_dotdot.onnx', add_model(declared([1, 4], external={'location': '../errors/onnx/x.bin'})))
save('external_missing.onnx', add_model(declared([1, 4], external={'location': 'missing.bin'})))
save('external_bad_offset.onnx', add_model(declared([1, 4], external={'location': 'gen.py', 'offset': '-3'})))
save('external_past_end.onnx', add_model(declared([1, 4], external={'location': 'EXPECT', 'offset': '999999'})))
save('input_rank_17.onnx', relu_model(x_shape=[1] * 17))
save('input_negative_dim.onnx', relu_model(x_shape=[1, -5]))
save('input_huge_dims.onnx', relu_model(x_shape=[1 << 40, 1 << 40]))
save('input_no_type.onnx', relu_model(inputs=[helper.make_empty_tensor_value_info('x')]))
save('unknown_operator.onnx', relu_model(nodes=[helper.make_node('FrobnicateAll', ['x'], ['y'], name='frob')]))
save('undefined_value.onnx', relu_model(nodes=[helper.make_node('Relu', ['nowhere'], ['y'], name='relu')]))
save('output_never_produced.onnx', relu_model(nodes=[helper.make_node('Relu', ['x'], ['z'], name='relu')]))
save('cycle.onnx', relu_model(nodes=[helper.make_node('Add', ['x', 'b'], ['a'], name='n1'),
                                      helper.make_node('Relu', ['a'], ['b'], name='n2'),
                                      helper.make_node('Relu', ['b'], ['y'], name='n3')]))
save('sparse_initializer.onnx', (lambda m: (m.graph.sparse_initializer.add().values.CopyFrom(
    numpy_helper.from_array(np.zeros(1, np.float32), 'w')), m)[1])(relu_model()))
