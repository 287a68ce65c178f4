# make_fixtures.py: the row-kernel fixtures of tests/rows (run with Debian's
# /usr/bin/python3: torch 1.13, onnx, numpy). Each case NAME gets NAME.onnx,
# NAME.input.npy and NAME.output.npy, the output computed by PyTorch (float64
# for the reference, cast to float32); opset 11 softmax over non-last axes
# is written with onnx.helper (torch exports it through transposes) and its
# reference is torch's softmax over the flattened trailing dimensions.
# "attention" is softmax(x.x^T / 4 + mask).x: its scale and mask join the
# softmax's row kernel.
#
#   /usr/bin/python3 tests/rows/make_fixtures.py tests/rows
import sys, os
import numpy as np
import torch
import onnx
from onnx import helper as h, TensorProto as T

out = sys.argv[1]
rng = np.random.default_rng(10)


def save(name, x, y):
    np.save(os.path.join(out, name + ".input.npy"), x.astype(np.float32))
    np.save(os.path.join(out, name + ".output.npy"), y.astype(np.float32))


def export(name, module, x, opset):
    path = os.path.join(out, name + ".onnx")
    torch.onnx.export(module, torch.from_numpy(x), path, input_names=["x"], output_names=["y"], opset_version=opset)
    with torch.no_grad():
        y = module.double()(torch.from_numpy(x).double()).numpy()
    module.float()
    save(name, x, y)


class Soft(torch.nn.Module):
    def __init__(self, dim, log):
        super().__init__()
        self.dim, self.log = dim, log

    def forward(self, x):
        return torch.log_softmax(x, self.dim) if self.log else torch.softmax(x, self.dim)


def softmax_cases():
    for n in (1, 7, 197, 1000, 4097):
        export("softmax_last_%d" % n, Soft(-1, False), rng.standard_normal((3, n)).astype(np.float32) * 4, 13)
    for n in (7, 197, 1000):
        export("logsoftmax_last_%d" % n, Soft(-1, True), rng.standard_normal((2, 5, n)).astype(np.float32) * 4, 13)
    export("softmax_axis1", Soft(1, False), rng.standard_normal((2, 5, 7)).astype(np.float32), 13)
    export("logsoftmax_axis0", Soft(0, True), rng.standard_normal((9, 4)).astype(np.float32), 13)
    export("softmax_huge", Soft(-1, False), (rng.standard_normal((4, 197)) * 3e4).astype(np.float32), 13)
    export("logsoftmax_huge", Soft(-1, True), (rng.standard_normal((4, 1000)) * 3e4).astype(np.float32), 13)


def opset11(name, op, axis, shape):
    x = rng.standard_normal(shape).astype(np.float32) * 3
    g = h.make_graph([h.make_node(op, ["x"], ["y"], axis=axis)], name,
                     [h.make_tensor_value_info("x", T.FLOAT, shape)], [h.make_tensor_value_info("y", T.FLOAT, shape)])
    onnx.save(h.make_model(g, opset_imports=[h.make_opsetid("", 11)]), os.path.join(out, name + ".onnx"))
    flat = torch.from_numpy(x).double().reshape(int(np.prod(shape[:axis])), -1)
    y = torch.log_softmax(flat, 1) if op == "LogSoftmax" else torch.softmax(flat, 1)
    save(name, x, y.reshape(shape).numpy())


def layernorm_cases():
    for dims, shape in ((1, (3, 197)), (2, (2, 7, 33)), (3, (2, 3, 5, 64))):
        for affine in (True, False):
            for opset in ((13, 17) if affine else (13,)):
                m = torch.nn.LayerNorm(shape[-dims:], elementwise_affine=affine)
                if affine:
                    with torch.no_grad():
                        m.weight.copy_(torch.rand(shape[-dims:]) + 0.5)
                        m.bias.copy_(torch.rand(shape[-dims:]) - 0.5)
                x = rng.standard_normal(shape).astype(np.float32) * 2
                export("layernorm_%d_%s_op%d" % (dims, "affine" if affine else "plain", opset), m, x, opset)
    m = torch.nn.LayerNorm(1000)
    export("layernorm_offset", m, (rng.standard_normal((4, 1000)) + 1e3).astype(np.float32), 13)


class Attention(torch.nn.Module):
    def __init__(self, n):
        super().__init__()
        self.register_buffer("mask", torch.from_numpy((rng.random((n, n)) < 0.2).astype(np.float32) * -1e4))

    def forward(self, x):
        s = torch.matmul(x, x.transpose(-1, -2)) / 4.0 + self.mask
        return torch.matmul(torch.softmax(s, -1), x)


softmax_cases()
export("attention", Attention(37), rng.standard_normal((2, 4, 37, 16)).astype(np.float32), 13)
opset11("softmax11_axis1", "Softmax", 1, [2, 5, 7])
opset11("logsoftmax11_axis1", "LogSoftmax", 1, [3, 4, 6])
layernorm_cases()
