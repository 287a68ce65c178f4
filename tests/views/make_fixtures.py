#!/usr/bin/python3
"""make_fixtures.py: small ONNX graphs whose copies (Concat, Split, Slice,
Reshape, Squeeze, Unsqueeze, Flatten, Transpose) the memory plan can turn
into views (src/graph/views.c), with inputs and outputs computed by numpy
(not by aotc), written as

    tests/views/NAME.onnx  NAME.<input>.npy ...  NAME.<output>.npy ...

    /usr/bin/python3 tests/views/make_fixtures.py [OUTDIR]

Cases:
  dense_chain   DenseNet-like: each layer reads the concatenation of all
                earlier features (Relu, 3x3 Conv), the block ends with the
                concatenation of all of them (every copy should go)
  shuffle       two ShuffleNetV2 units: Split in halves, a branch of 1x1
                convolutions, Concat, channel shuffle (Reshape, Transpose,
                Reshape)
  shared        a Concat input also read elsewhere, concatenated twice, next
                to a graph input and a constant; a graph output concatenated
  strided       Concat along an inner axis (the bands are not contiguous)
  batch2        batch 2: Concat along channels, Split, Slice (strided bands)
  reshapes      Flatten, Squeeze, Unsqueeze, Reshape, Slices with and without
                a step, into a concatenation that is a graph output
  dense_bn      DenseNet's pre-activation: BatchNormalization (constant
                statistics, no convolution before it) and Relu on each
                concatenation, then the convolution
  pools         GlobalAveragePool and GlobalMaxPool of temporaries of rank
                4 and 5 (each read as [N, C, plane], a view of its input)
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(1234)
OPSET = 13


def conv(x, w, b, pad):
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh, ow = h + 2 * pad - kh + 1, wd + 2 * pad - kw + 1
    y = np.zeros((n, o, oh, ow), np.float64)
    for i in range(kh):
        for j in range(kw):
            y += np.einsum("nchw,oc->nohw", xp[:, :, i:i + oh, j:j + ow], w[:, :, i, j])
    return (y + b[None, :, None, None]).astype(np.float32)


class Graph:
    def __init__(self, name):
        self.name, self.nodes, self.inits, self.k = name, [], [], 0

    def tmp(self, base):
        self.k += 1
        return "%s%d" % (base, self.k)

    def node(self, op, ins, **attrs):
        out = self.tmp(op.lower())
        self.nodes.append(helper.make_node(op, ins, [out], **attrs))
        return out

    def const(self, arr, base="c"):
        name = self.tmp(base)
        self.inits.append(numpy_helper.from_array(arr, name))
        return name

    def conv(self, x, xv, cout, k):
        cin = xv.shape[1]
        w = (rng.standard_normal((cout, cin, k, k)) / np.sqrt(cin * k * k)).astype(np.float32)
        b = (rng.standard_normal(cout) * 0.1).astype(np.float32)
        out = self.node("Conv", [x, self.const(w, "w"), self.const(b, "b")], pads=[k // 2] * 4)
        return out, conv(xv, w, b, k // 2)

    def save(self, outdir, inputs, outputs):
        vi = lambda n, a: helper.make_tensor_value_info(n, TensorProto.FLOAT, list(a.shape))
        g = helper.make_graph(self.nodes, self.name, [vi(n, a) for n, a in inputs],
                              [vi(n, a) for n, a in outputs], self.inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)])
        m.ir_version = 7
        onnx.checker.check_model(m)
        onnx.save(m, os.path.join(outdir, self.name + ".onnx"))
        for n, a in inputs + outputs:
            np.save(os.path.join(outdir, "%s.%s.npy" % (self.name, n)), a.astype(np.float32))


def relu(g, x, xv):
    return g.node("Relu", [x]), np.maximum(xv, 0)


def dense(outdir, name, layers, pre):
    """A dense block: each layer's pre(g, x, xv) (Relu, or batch norm and
    Relu) on the concatenation of all earlier features, then a 3x3 Conv."""
    g = Graph(name)
    xv = rng.standard_normal((1, 8, 6, 6)).astype(np.float32)
    f, fv = g.conv("input", xv, 8, 1)
    feats, featv = [f], [fv]
    for _ in range(layers):
        c = g.node("Concat", feats, axis=1) if len(feats) > 1 else feats[0]
        r, rv = pre(g, c, np.concatenate(featv, 1))
        n, nv = g.conv(r, rv, 4, 3)
        feats.append(n)
        featv.append(nv)
    c = g.node("Concat", feats, axis=1)
    r, rv = pre(g, c, np.concatenate(featv, 1))
    y, yv = g.conv(r, rv, 6, 1)
    g.nodes[-1].output[0] = "output"
    g.save(outdir, [("input", xv)], [("output", yv)])


def dense_chain(outdir):
    dense(outdir, "dense_chain", 4, relu)


def channel_shuffle(g, x, xv, groups):
    n, c, h, w = xv.shape
    a = g.node("Reshape", [x, g.const(np.array([n, groups, c // groups, h, w], np.int64), "s")])
    t = g.node("Transpose", [a], perm=[0, 2, 1, 3, 4])
    y = g.node("Reshape", [t, g.const(np.array([n, c, h, w], np.int64), "s")])
    yv = xv.reshape(n, groups, c // groups, h, w).transpose(0, 2, 1, 3, 4).reshape(n, c, h, w)
    return y, yv


def shuffle_unit(g, x, xv):
    c = xv.shape[1]
    half = c // 2
    s1, s2 = g.tmp("half"), g.tmp("half")
    g.nodes.append(helper.make_node("Split", [x, g.const(np.array([half, half], np.int64), "sp")], [s1, s2], axis=1))
    v1, v2 = xv[:, :half], xv[:, half:]
    b, bv = g.conv(s2, v2, half, 1)
    b, bv = relu(g, b, bv)
    b, bv = g.conv(b, bv, half, 3)
    b, bv = relu(g, b, bv)
    cat = g.node("Concat", [s1, b], axis=1)
    return channel_shuffle(g, cat, np.concatenate([v1, bv], 1), 2)


def shuffle(outdir):
    g = Graph("shuffle")
    xv = rng.standard_normal((1, 8, 5, 5)).astype(np.float32)
    h, hv = g.conv("input", xv, 8, 1)
    h, hv = shuffle_unit(g, h, hv)
    h, hv = shuffle_unit(g, h, hv)
    y = g.node("Sigmoid", [h])
    g.nodes[-1].output[0] = "output"
    g.save(outdir, [("input", xv)], [("output", 1 / (1 + np.exp(-hv)))])


def shared(outdir):
    g = Graph("shared")
    xv = rng.standard_normal((1, 4, 3, 3)).astype(np.float32)
    kv = rng.standard_normal((1, 2, 3, 3)).astype(np.float32)
    a, av = relu(g, "input", xv)
    b = g.node("Sigmoid", ["input"])
    bv = 1 / (1 + np.exp(-xv))
    c1 = g.node("Concat", [a, b], axis=1)
    c2 = g.node("Concat", [a, a, "input", g.const(kv, "k")], axis=1)
    d = g.node("Add", [a, g.const(np.float32(1.0).reshape(()), "one")])
    e = g.node("Mul", [c1, g.const(np.float32(2.0).reshape(()), "two")])
    f = g.node("Concat", [e, c2], axis=1)
    g.node("Tanh", [f])
    g.nodes[-1].output[0] = "output"
    g.nodes.append(helper.make_node("Identity", [d], ["side"]))
    g.node("Concat", ["side", b], axis=1)
    g.nodes[-1].output[0] = "both"
    c1v = np.concatenate([av, bv], 1)
    c2v = np.concatenate([av, av, xv, kv], 1)
    outv = np.tanh(np.concatenate([c1v * 2, c2v], 1))
    sidev = av + 1
    g.save(outdir, [("input", xv)], [("output", outv), ("side", sidev), ("both", np.concatenate([sidev, bv], 1))])


def strided(outdir):
    g = Graph("strided")
    xv = rng.standard_normal((1, 3, 4, 5)).astype(np.float32)
    a, av = g.conv("input", xv, 3, 3)
    b, bv = relu(g, "input", xv)
    c = g.node("Concat", [a, b], axis=2)
    aa = g.node("Concat", [a, a], axis=2)
    d = g.node("Concat", [c, aa], axis=3)
    g.node("Neg", [d])
    g.nodes[-1].output[0] = "output"
    cv = np.concatenate([av, bv], 2)
    g.save(outdir, [("input", xv)], [("output", -np.concatenate([cv, np.concatenate([av, av], 2)], 3))])


def batch2(outdir):
    g = Graph("batch2")
    xv = rng.standard_normal((2, 4, 3, 3)).astype(np.float32)
    a, av = g.conv("input", xv, 4, 3)
    b, bv = relu(g, "input", xv)
    c = g.node("Concat", [a, b], axis=1)
    s1, s2 = g.tmp("part"), g.tmp("part")
    g.nodes.append(helper.make_node("Split", [c, g.const(np.array([3, 5], np.int64), "sp")], [s1, s2], axis=1))
    cv = np.concatenate([av, bv], 1)
    sl = g.node("Slice", [s2, g.const(np.array([1], np.int64)), g.const(np.array([4], np.int64)),
                          g.const(np.array([1], np.int64))])
    p, pv = g.conv(s1, cv[:, :3], 2, 1)
    g.node("Concat", [sl, p, s2], axis=1)
    g.nodes[-1].output[0] = "output"
    g.save(outdir, [("input", xv)], [("output", np.concatenate([cv[:, 4:7], pv, cv[:, 3:]], 1))])


def reshapes(outdir):
    g = Graph("reshapes")
    xv = rng.standard_normal((1, 6, 2, 2)).astype(np.float32)
    a, av = g.conv("input", xv, 6, 1)
    fl = g.node("Flatten", [a], axis=1)
    un = g.node("Unsqueeze", [fl, g.const(np.array([0], np.int64), "ax")])
    sq = g.node("Squeeze", [un, g.const(np.array([0], np.int64), "ax")])
    rs = g.node("Reshape", [sq, g.const(np.array([1, 3, 8], np.int64), "s")])
    s1 = g.node("Slice", [rs, g.const(np.array([1], np.int64)), g.const(np.array([3], np.int64)),
                          g.const(np.array([1], np.int64))])
    s2 = g.node("Slice", [rs, g.const(np.array([0, 1], np.int64)), g.const(np.array([3, 8], np.int64)),
                          g.const(np.array([1, 2], np.int64)), g.const(np.array([1, 3], np.int64))])
    f2 = g.node("Reshape", [s1, g.const(np.array([1, 16], np.int64), "s")])
    f3 = g.node("Reshape", [s2, g.const(np.array([1, 9], np.int64), "s")])
    g.node("Concat", [f2, f3, fl], axis=1)
    g.nodes[-1].output[0] = "output"
    rv = av.reshape(1, 3, 8)
    outv = np.concatenate([rv[:, 1:3].reshape(1, 16), rv[:, 0:3, 1:8:3].reshape(1, 9), av.reshape(1, 24)], 1)
    g.save(outdir, [("input", xv)], [("output", outv)])


def batchnorm(g, x, xv):
    c = xv.shape[1]
    w = (rng.random(c) + 0.5).astype(np.float32)
    b = (rng.standard_normal(c) * 0.1).astype(np.float32)
    mean = (rng.standard_normal(c) * 0.5).astype(np.float32)
    var = (rng.random(c) + 0.1).astype(np.float32)
    out = g.node("BatchNormalization", [x, g.const(w, "bn_w"), g.const(b, "bn_b"), g.const(mean, "bn_m"),
                                        g.const(var, "bn_v")], epsilon=1e-5)
    shape = (1, c, 1, 1)
    yv = (xv - mean.reshape(shape)) / np.sqrt(var.reshape(shape).astype(np.float64) + 1e-5) * w.reshape(shape) + \
        b.reshape(shape)
    return out, yv.astype(np.float32)


def dense_bn(outdir):
    dense(outdir, "dense_bn", 3, lambda g, x, xv: relu(g, *batchnorm(g, x, xv)))


def pools(outdir):
    g = Graph("pools")
    xv = rng.standard_normal((2, 3, 4, 5, 6)).astype(np.float32)
    r, rv = relu(g, "input", xv)
    g.nodes.append(helper.make_node("GlobalAveragePool", [r], ["avg"]))
    g.nodes.append(helper.make_node("GlobalMaxPool", [g.node("Neg", [r])], ["maxpool"]))
    flat = g.node("Reshape", [r, g.const(np.array([2, 3, 20, 6], np.int64), "s")])
    g.nodes.append(helper.make_node("GlobalAveragePool", [g.node("Sigmoid", [flat])], ["avg4"]))
    sv = 1 / (1 + np.exp(-rv.reshape(2, 3, 20, 6)))
    g.save(outdir, [("input", xv)], [("avg", rv.mean(axis=(2, 3, 4), keepdims=True)),
                                     ("maxpool", (-rv).max(axis=(2, 3, 4), keepdims=True)),
                                     ("avg4", sv.mean(axis=(2, 3), keepdims=True))])


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    for make in (dense_chain, shuffle, shared, strided, batch2, reshapes, dense_bn, pools):
        make(outdir)


if __name__ == "__main__":
    main()
