#!/usr/bin/python3
"""make_fixtures.py: small ONNX models whose contractions have elementwise
epilogues (bias, folded batch normalisation, activations, residual adds),
exported by torch 1.13 with PyTorch's outputs as the independent reference:

    /usr/bin/python3 tests/epilogue/make_fixtures.py tests/epilogue

Each case NAME gets NAME.onnx, NAME.input.npy and NAME.<output>.npy
(float32). Sizes are odd on purpose: channel counts and columns that are no
multiple of the vector width, so that every register tile has edges.
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(20261202)
OPSET = 14


def bn(c):
    b = nn.BatchNorm2d(c)
    with torch.no_grad():
        b.weight.uniform_(0.5, 1.5)
        b.bias.uniform_(-0.5, 0.5)
        b.running_mean.uniform_(-0.3, 0.3)
        b.running_var.uniform_(0.5, 2.0)
    return b


class ConvRelu(nn.Module):
    """conv_relu: Conv (bias) + ReLU, 20 output channels."""
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(5, 20, 3, padding=1)

    def forward(self, x):
        return F.relu(self.conv(x))


class ConvBnRelu6(nn.Module):
    """conv_bn_relu6: 3x3 stride 2 and 1x1 convolutions, batch norm folded, ReLU6 (Clip)."""
    def __init__(self):
        super().__init__()
        self.c1, self.b1 = nn.Conv2d(12, 36, 3, stride=2, padding=1, bias=False), bn(36)
        self.c2, self.b2 = nn.Conv2d(36, 23, 1, bias=False), bn(23)

    def forward(self, x):
        y = F.relu6(self.b1(self.c1(x)))
        return F.relu6(self.b2(self.c2(y)))


class Residual(nn.Module):
    """residual: two ResNet basic blocks, one with identity, one with a 1x1 stride-2 downsample."""
    def __init__(self):
        super().__init__()
        self.a1, self.n1 = nn.Conv2d(24, 24, 3, padding=1, bias=False), bn(24)
        self.a2, self.n2 = nn.Conv2d(24, 24, 3, padding=1, bias=False), bn(24)
        self.d1, self.m1 = nn.Conv2d(24, 40, 3, stride=2, padding=1, bias=False), bn(40)
        self.d2, self.m2 = nn.Conv2d(40, 40, 3, padding=1, bias=False), bn(40)
        self.ds, self.ms = nn.Conv2d(24, 40, 1, stride=2, bias=False), bn(40)

    def forward(self, x):
        y = F.relu(self.n2(self.a2(F.relu(self.n1(self.a1(x))))) + x)
        z = self.m2(self.d2(F.relu(self.m1(self.d1(y)))))
        return F.relu(z + self.ms(self.ds(y)))


class GemmRelu(nn.Module):
    """gemm_relu: Linear (Gemm with bias per column) + ReLU, then Linear + Sigmoid."""
    def __init__(self):
        super().__init__()
        self.l1, self.l2 = nn.Linear(37, 70), nn.Linear(70, 67)

    def forward(self, x):
        return torch.sigmoid(self.l2(F.relu(self.l1(x))))


class MatmulGelu(nn.Module):
    """matmul_gelu: Linear on [batch, tokens, features] (MatMul + Add) + GELU (erf form)."""
    def __init__(self):
        super().__init__()
        self.l = nn.Linear(24, 52)

    def forward(self, x):
        return F.gelu(self.l(x))


class MatmulSilu(nn.Module):
    """matmul_silu: MatMul + Add + SiLU (x * sigmoid(x)), then MatMul + Add + hard-swish."""
    def __init__(self):
        super().__init__()
        self.l1, self.l2 = nn.Linear(20, 45), nn.Linear(45, 33)

    def forward(self, x):
        return F.hardswish(self.l2(F.silu(self.l1(x))))


class SecondConsumer(nn.Module):
    """second_consumer: the convolution's result is read by ReLU and by a Mul (two outputs):
    the ReLU must not be fused (only the bias is)."""
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(6, 19, 3, padding=1)

    def forward(self, x):
        c = self.conv(x)
        return F.relu(c), c * 2.0


CASES = [
    ("conv_relu", ConvRelu, (1, 5, 17, 13), ["output"]),
    ("conv_bn_relu6", ConvBnRelu6, (1, 12, 37, 41), ["output"]),
    ("residual", Residual, (1, 24, 25, 23), ["output"]),
    ("gemm_relu", GemmRelu, (65, 37), ["output"]),
    ("matmul_gelu", MatmulGelu, (2, 41, 24), ["output"]),
    ("matmul_silu", MatmulSilu, (3, 47, 20), ["output"]),
    ("second_consumer", SecondConsumer, (1, 6, 23, 21), ["relu", "twice"]),
]


def make(outdir, name, cls, shape, outputs):
    model = cls().eval()
    x = torch.randn(*shape)
    with torch.no_grad():
        ys = model(x)
    ys = ys if isinstance(ys, tuple) else (ys,)
    torch.onnx.export(model, x, os.path.join(outdir, name + ".onnx"), opset_version=OPSET,
                      input_names=["input"], output_names=outputs, do_constant_folding=False)
    np.save(os.path.join(outdir, name + ".input.npy"), x.numpy().astype(np.float32))
    for o, y in zip(outputs, ys):
        np.save(os.path.join(outdir, "%s.%s.npy" % (name, o)), y.numpy().astype(np.float32))


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    for name, cls, shape, outputs in CASES:
        make(outdir, name, cls, shape, outputs)
        print(name)


if __name__ == "__main__":
    main()
