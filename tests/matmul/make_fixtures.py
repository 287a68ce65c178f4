#!/usr/bin/python3
"""make_fixtures.py: ONNX models of matrix products on rank-3 and rank-4
tensors (broadcast batch dimensions, transposed operands through Transpose
and Gemm's transA/transB, attention's Q.K^T and P.V, Linear on
[batch, tokens, features]) at odd sizes (not multiples of any register
tile; every output at least 4,096 elements, the size from which a product
is packed rather than fused with its bias), with random inputs and numpy's results, for tests/matmul/run.sh.

    /usr/bin/python3 tests/matmul/make_fixtures.py tests/matmul

Writes NAME.onnx, NAME.<input>.npy and NAME.expected.npy per case, and
cases.txt: one line per case, its name and its number of packed products
(Gemm with alpha != 1 is not packed yet: 0, and a warning; the depth_split
cases split their product's depth over the threads). Also the inputs
and numpy's result of the TC case tc_dense_relu: examples/mlp.tc's
dense_relu (product, bias, ReLU in one def) at B=37, K=70, N=130.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

RNG = np.random.default_rng(20261202)


def rand(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def model(name, nodes, inputs, inits, out_shape):
    g = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, list(v.shape)) for n, v in inputs.items()],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, list(out_shape))],
        [numpy_helper.from_array(v, n) for n, v in inits.items()])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])


def case(outdir, name, nodes, inputs, inits, expected):
    m = model(name, nodes, inputs, inits, expected.shape)
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(outdir, name + ".onnx"))
    for n, v in inputs.items():
        np.save(os.path.join(outdir, "%s.%s.npy" % (name, n)), v)
    np.save(os.path.join(outdir, name + ".expected.npy"), expected.astype(np.float32))


def cases():
    a, b = rand(2, 3, 29, 37), rand(2, 3, 37, 37)
    yield "bmm4", [helper.make_node("MatMul", ["a", "b"], ["y"])], {"a": a, "b": b}, {}, a @ b
    a, b = rand(3, 1, 17, 37), rand(1, 5, 37, 21)
    yield "bcast4", [helper.make_node("MatMul", ["a", "b"], ["y"])], {"a": a, "b": b}, {}, a @ b
    a, w = rand(2, 37, 45), rand(45, 61)
    yield "linear3_const", [helper.make_node("MatMul", ["a", "w"], ["y"])], {"a": a}, {"w": w}, a @ w
    a, w = rand(2, 37, 45), rand(45, 61)
    yield "linear3_input", [helper.make_node("MatMul", ["a", "w"], ["y"])], {"a": a, "w": w}, {}, a @ w
    w, b = rand(43, 45), rand(3, 45, 47)
    yield "bcast_left3", [helper.make_node("MatMul", ["w", "b"], ["y"])], {"b": b}, {"w": w}, w @ b
    q, k = rand(1, 9, 33, 17), rand(1, 9, 33, 17)
    yield "qkt", [helper.make_node("Transpose", ["k"], ["kt"], perm=[0, 1, 3, 2]),
                  helper.make_node("MatMul", ["q", "kt"], ["y"])], {"q": q, "k": k}, {}, q @ k.transpose(0, 1, 3, 2)
    p, v = rand(1, 9, 33, 33), rand(1, 9, 33, 17)
    yield "pv", [helper.make_node("MatMul", ["p", "v"], ["y"])], {"p": p, "v": v}, {}, p @ v
    x = rand(2, 11, 33, 13)
    yield "tt4", [helper.make_node("Transpose", ["x"], ["xt"], perm=[0, 2, 1, 3]),
                  helper.make_node("Transpose", ["x"], ["xu"], perm=[0, 2, 3, 1]),
                  helper.make_node("MatMul", ["xt", "xu"], ["y"])], {"x": x}, {}, \
        x.transpose(0, 2, 1, 3) @ x.transpose(0, 2, 3, 1)
    for ta in (0, 1):
        for tb in (0, 1):
            a = rand(37, 67) if ta else rand(67, 37)
            bm = rand(71, 37) if tb else rand(37, 71)
            c = rand(71)
            ref = (a.T if ta else a) @ (bm.T if tb else bm) + c
            yield "gemm_t%d%d" % (ta, tb), [helper.make_node("Gemm", ["a", "b", "c"], ["y"], transA=ta, transB=tb)], \
                {"a": a}, {"b": bm, "c": c}, ref
    a, bm, c = rand(67, 37), rand(71, 37), rand(71)
    yield "gemm_alpha", [helper.make_node("Gemm", ["a", "b", "c"], ["y"], transB=1, alpha=0.5, beta=2.0)], \
        {"a": a}, {"b": bm, "c": c}, 0.5 * a @ bm.T + 2.0 * c
    a, b = rand(67, 29), rand(71, 29)
    yield "gemm_inputs_tb", [helper.make_node("Gemm", ["a", "b"], ["y"], transB=1)], {"a": a, "b": b}, {}, a @ b.T
    x, w1, w2 = rand(1, 57, 40), rand(40, 75), rand(75, 83)
    yield "mlp3", [helper.make_node("MatMul", ["x", "w1"], ["h"]), helper.make_node("Relu", ["h"], ["r"]),
                   helper.make_node("MatMul", ["r", "w2"], ["y"])], {"x": x}, {"w1": w1, "w2": w2}, \
        np.maximum(x @ w1, 0) @ w2
    # A transformer block's token products: 16x192 and 16x64 outputs (under
    # 4096 elements: plain loops over a column of the weights until the
    # threshold came down to 1024), with their biases.
    x, w1, b1, w2, b2 = rand(1, 16, 64), rand(64, 192), rand(192), rand(192, 64), rand(64)
    h = x @ w1 + b1
    yield "tokens", [helper.make_node("MatMul", ["x", "w1"], ["p"]), helper.make_node("Add", ["p", "b1"], ["h"]),
                     helper.make_node("MatMul", ["h", "w2"], ["q"]), helper.make_node("Add", ["q", "b2"], ["y"])], \
        {"x": x}, {"w1": w1, "b1": b1, "w2": w2, "b2": b2}, h @ w2 + b2
    # Fewer columns than rows and fewer batches than threads: the threads
    # split the rows (101 and 67: no multiple of any split into register
    # tiles) and share one packed panel of B (depth 300: two depth blocks,
    # the panel packed again after a barrier); with A an input, a constant
    # (packed in advance, as a convolution's weights) and two batches.
    a, b = rand(101, 300), rand(300, 45)
    yield "rows_shared_b", [helper.make_node("MatMul", ["a", "b"], ["y"])], {"a": a, "b": b}, {}, a @ b
    w, b = rand(101, 300), rand(300, 45)
    yield "rows_shared_b_const", [helper.make_node("MatMul", ["w", "b"], ["y"])], {"b": b}, {"w": w}, w @ b
    a, b = rand(2, 67, 70), rand(2, 70, 31)
    yield "rows_shared_b_batch2", [helper.make_node("MatMul", ["a", "b"], ["y"])], {"a": a, "b": b}, {}, a @ b
    # Weights larger than L2 (256 x 1100 floats, 1.1 MB: read from memory at
    # every call): column tiles outer and the next panel of B prefetched, 46
    # rows (3 row tiles and a partial one) and 1100 columns (a partial panel).
    a, w = rand(2, 23, 256), rand(256, 1100)
    yield "linear_streamed", [helper.make_node("MatMul", ["a", "w"], ["y"])], {"a": a}, {"w": w}, a @ w
    # Few rows and columns for the depth (at least twice as deep as it has
    # rows): the threads split the depth and sum their partial products
    # (emit_ukernel.c, splits_depth), then apply the fused epilogue (a bias
    # per row, a residual, ReLU) on the sum; with the weights a constant
    # (packed in advance) and, without an epilogue, an input (packed here).
    # Rows, columns and depth odd: 37 x 131 x 301 and 29 x 150 x 203.
    w, b, bias, r = rand(37, 301), rand(301, 131), rand(37, 1), rand(37, 131)
    yield "depth_split", [helper.make_node("MatMul", ["w", "b"], ["p"]), helper.make_node("Add", ["p", "bias"], ["q"]),
                          helper.make_node("Add", ["q", "r"], ["s"]), helper.make_node("Relu", ["s"], ["y"])], \
        {"b": b, "r": r}, {"w": w, "bias": bias}, np.maximum(w.astype(np.float64) @ b + bias + r, 0)
    a, b = rand(29, 203), rand(203, 150)
    yield "depth_split_input", [helper.make_node("MatMul", ["a", "b"], ["y"])], {"a": a, "b": b}, {}, a @ b
    # Fewer than 64 columns and four times as many rows (schedule.c's
    # SWAP_MAX_COLS): the operands trade places and C is stored across (row
    # stride 1), tiles of all their rows column by column (the LLVM backend's
    # llvm_ukernel.c edge_col), stored at the first depth block of 256 and
    # added at the next two: 92 x 18 x 569.
    a, b = rand(92, 569), rand(569, 18)
    yield "swapped_across", [helper.make_node("MatMul", ["a", "b"], ["y"])], {"a": a, "b": b}, {}, a @ b


def main():
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    names = []
    for name, nodes, inputs, inits, expected in cases():
        case(outdir, name, nodes, inputs, inits, expected)
        packed = sum(n.op_type in ("MatMul", "Gemm") for n in nodes)
        names.append("%s %d" % (name, 0 if name == "gemm_alpha" else packed))
    with open(os.path.join(outdir, "cases.txt"), "w") as f:
        f.write("\n".join(names) + "\n")
    tc = np.random.default_rng(20261203)
    x, w, b = (tc.standard_normal(s).astype(np.float32) for s in ((37, 70), (70, 130), (130,)))
    for n, v in (("X", x), ("W", w), ("bias", b)):
        np.save(os.path.join(outdir, "tc_dense_relu.%s.npy" % n), v)
    np.save(os.path.join(outdir, "tc_dense_relu.expected.npy"),
            np.maximum(x.astype(np.float64) @ w + b, 0).astype(np.float32))


if __name__ == "__main__":
    main()
