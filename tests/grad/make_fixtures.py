#!/usr/bin/python3
"""make_fixtures.py: PyTorch autograd fixtures for tests/grad/run.sh.

For each def of corpus.tc, the same function written with torch 1.13
(Debian's python3-torch), random float32 inputs, a random adjoint d_Y of the
output, and the gradients autograd computes. Written to
fixtures/<def>/: <input>.npy, d_<output>.npy, and expect_d_<input>.npy for
every float input. Run with /usr/bin/python3 from this folder; the results
are committed, tests need no Python."""
import os
import numpy as np
import torch
import torch.nn.functional as F

here = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(1234)


def f32(*shape):
    return rng.uniform(-1, 1, size=shape).astype(np.float32)


def histogram(H0, bin, X):
    return H0.index_add(0, bin.long(), X * X)


DEFS = {
    "matmul": (lambda A, B: A @ B, {"A": f32(16, 24), "B": f32(24, 20)}, "C"),
    "tanh_bias": (lambda X, b: torch.tanh(X + b), {"X": f32(8, 12), "b": f32(12)}, "Y"),
    "softmax": (lambda X: torch.softmax(X, 1), {"X": f32(6, 10)}, "Y"),
    "conv2d": (lambda X, Wt: F.conv2d(X, Wt), {"X": f32(2, 3, 9, 8), "Wt": f32(4, 3, 3, 2)}, "Y"),
    "conv1d_s2_pad": (lambda X, Wt: F.conv1d(X, Wt, stride=2, padding=1),
                      {"X": f32(2, 3, 11), "Wt": f32(4, 3, 3)}, "Y"),
    "maxpool2": (lambda X: F.max_pool2d(X, 2), {"X": f32(2, 3, 8, 6)}, "Y"),
    "gather": (lambda LUT, I: LUT[I.long()], {"LUT": f32(7, 5), "I": np.array([3, 0, 3, 6, 1, 3], np.int32)}, "O"),
    "layernorm": (lambda X, g, beta: F.layer_norm(X, (X.shape[1],), g, beta, eps=1e-5),
                  {"X": f32(5, 16), "g": f32(16), "beta": f32(16)}, "Y"),
    "eltwise": (lambda X, Z: torch.sigmoid(X) * torch.erf(Z) + torch.sqrt(X * X + 1) / (2 + Z * Z)
                + torch.pow(1.5 + torch.sigmoid(Z), X), {"X": f32(33), "Z": f32(33)}, "Y"),
    "relu_mlp": (lambda X, W1, b1, W2: torch.relu(X @ W1.T + b1) @ W2.T,
                 {"X": f32(4, 10), "W1": f32(12, 10), "b1": f32(12), "W2": f32(3, 12)}, "Y"),
    "bias_inplace": (lambda X, b: torch.log(1 + torch.exp(X * X + b)), {"X": f32(5, 7), "b": f32(7)}, "Y"),
    "histogram": (histogram, {"H0": f32(5), "bin": np.array([0, 4, 2, 2, 4, 4, 1], np.int32), "X": f32(7)}, "H"),
    "minmax_select": (lambda X, Z: torch.where(X > Z, X * Z, torch.minimum(X, -Z) + torch.abs(Z) + 0.5 * torch.exp(-X)),
                      {"X": f32(40), "Z": f32(40)}, "Y"),
}


def make(name, fn, inputs, out):
    d = os.path.join(here, "fixtures", name)
    os.makedirs(d, exist_ok=True)
    ts = {k: torch.tensor(v, requires_grad=v.dtype == np.float32) for k, v in inputs.items()}
    y = fn(*ts.values())
    dy = f32(*y.shape)
    y.backward(torch.tensor(dy))
    for k, v in inputs.items():
        np.save(os.path.join(d, k + ".npy"), v)
        if v.dtype == np.float32:
            np.save(os.path.join(d, "expect_d_" + k + ".npy"), ts[k].grad.numpy())
    np.save(os.path.join(d, "d_" + out + ".npy"), dy)


for name, (fn, inputs, out) in DEFS.items():
    make(name, fn, inputs, out)
