#!/usr/bin/python3
"""make_fixtures.py: the window kernels of tests/pooldw (pooling, depthwise
convolution, squeeze-and-excitation, a classifier's matrix-vector product)
as small ONNX files with an input and PyTorch's output (torch 1.13, the
independent reference):

    /usr/bin/python3 tests/pooldw/make_fixtures.py tests/pooldw [NAME...]

With names, only those cases' files are written (the random draws of every
case are made all the same, so the others' would come out unchanged).

Max and average pooling with pads 0, 1 and 2, strides 1 and 2, ceil mode,
odd sizes, count_include_pad both ways; depthwise 3x3 and 5x5 at strides 1
and 2 with a batch normalisation and ReLU6, SiLU or hard-swish, on narrow
and wide (`_wide`) outputs; an SE block;
a Linear classifier; batch 2 throughout. Then the window row kernel's
cases (src/emit_c/emit_window.c): a 7x7 depthwise window with a bias
(ConvNeXt), stride 2 on an even input at batch 3 (MobileNetV2's
features.2), dilation 2, no bias, a residual add after the activation;
max pooling at batch 4 (ResNet-18's) and stride 3, a 7x7 average pool. Then
the plane kernel's (emit_window.c): planes wide enough that a strip holds
fewer rows than the output (3x3 at strides 1 and 2, 7x7, a max pool), the
last strip not a multiple of the four rows of a pass, and ConvNeXt's and
MobileNetV2's small planes (7x7 windows on 7x7, stride 2 on 7x7). Then the
flat pointwise pass on narrow outputs (SiLU on 7x7 and 14x14, then before
an SE block). Then grouped 3x3 convolutions with 2, 4 and 8 groups of 6 to 32
channels (stride 1, dilation 2, stride 2). Each case NAME gets NAME.onnx,
NAME.input.npy and NAME.output.npy (float32); cases.txt lists them with the
path run.sh expects them to take. Last, a 64-column output (64-byte vectors),
32-column ones whose passes end in registers (a residual, stride 2), a
3x3 over 28 columns and a 5x5 over 14 (64-byte vectors); then the masked
sums of small stride-1 planes (28x28, 14x14 without a bias, 7x7 on 9x11);
then strided windows whose plane rows fill from registers (stride 2 on 14
and 27 columns, stride 3 on 32).
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn


def pool(kind, k, s, p, ceil=False, include_pad=True):
    if kind == "max":
        return nn.MaxPool2d(k, s, p, ceil_mode=ceil)
    return nn.AvgPool2d(k, s, p, ceil_mode=ceil, count_include_pad=include_pad)


def bn(c, gen):
    b = nn.BatchNorm2d(c)
    b.running_mean.copy_(torch.randn(c, generator=gen) * 0.1)
    b.running_var.copy_(torch.rand(c, generator=gen) + 0.5)
    b.weight.data.copy_(torch.rand(c, generator=gen) + 0.5)
    b.bias.data.copy_(torch.randn(c, generator=gen) * 0.1)
    return b


def depthwise(c, k, s, act, gen):
    return nn.Sequential(nn.Conv2d(c, c, k, s, k // 2, groups=c, bias=False), bn(c, gen), act)


class Residual(nn.Module):
    """x + f(x)."""

    def __init__(self, f):
        super().__init__()
        self.f = f

    def forward(self, x):
        return x + self.f(x)


class SE(nn.Module):
    """Squeeze-and-excitation as torchvision writes it: global average pool,
    1x1 convolution, ReLU, 1x1 convolution, sigmoid (or hard sigmoid), scale."""

    def __init__(self, c, r, gate):
        super().__init__()
        self.fc1 = nn.Conv2d(c, r, 1)
        self.fc2 = nn.Conv2d(r, c, 1)
        self.gate = gate

    def forward(self, x):
        s = nn.functional.adaptive_avg_pool2d(x, 1)
        return x * self.gate(self.fc2(torch.relu(self.fc1(s))))


class Classifier(nn.Module):
    def __init__(self, c, k):
        super().__init__()
        self.fc = nn.Linear(c, k)

    def forward(self, x):
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


def cases(gen):
    """name, model, input shape, path."""
    return [
        ("max_k3_s2_p1", pool("max", 3, 2, 1), (2, 5, 13, 15), "pool"),
        ("max_k3_s1_p1", pool("max", 3, 1, 1), (2, 4, 9, 11), "pool"),
        ("max_k2_s2_p0", pool("max", 2, 2, 0), (2, 3, 10, 12), "pool"),
        ("max_k3_s2_p0_ceil", pool("max", 3, 2, 0, ceil=True), (2, 3, 12, 13), "pool"),
        ("max_k5_s1_p2", pool("max", 5, 1, 2), (2, 3, 9, 8), "pool"),
        ("max_k3_s2_p1_ceil", pool("max", 3, 2, 1, ceil=True), (2, 3, 14, 11), "pool"),
        ("avg_k3_s1_p1_incl", pool("avg", 3, 1, 1), (2, 4, 9, 11), "pool"),
        ("avg_k3_s1_p1_excl", pool("avg", 3, 1, 1, include_pad=False), (2, 4, 9, 11), "pool"),
        ("avg_k2_s2_p0_ceil", pool("avg", 2, 2, 0, ceil=True), (2, 3, 11, 13), "pool-taps"),
        ("avg_k3_s2_p1_ceil_excl", pool("avg", 3, 2, 1, ceil=True, include_pad=False), (2, 3, 14, 11), "pool"),
        ("avg_k5_s2_p2_incl", pool("avg", 5, 2, 2), (2, 3, 13, 12), "pool"),
        ("avg_k2_s2_p0", pool("avg", 2, 2, 0), (2, 6, 16, 16), "pool"),
        ("max_k3_s2_p1_wide", pool("max", 3, 2, 1), (2, 3, 12, 61), "pool"),
        ("avg_k3_s1_p1_excl_wide", pool("avg", 3, 1, 1, include_pad=False), (1, 2, 6, 40), "pool"),
        ("dw3_s1_relu6", depthwise(16, 3, 1, nn.ReLU6(), gen), (2, 16, 20, 19), "depthwise"),
        ("dw3_s2_silu", depthwise(12, 3, 2, nn.SiLU(), gen), (2, 12, 21, 18), "depthwise"),
        ("dw5_s1_silu", depthwise(8, 5, 1, nn.SiLU(), gen), (2, 8, 14, 14), "depthwise"),
        ("dw5_s2_hswish", depthwise(8, 5, 2, nn.Hardswish(), gen), (2, 8, 17, 15), "depthwise"),
        ("dw3_s1_relu6_wide", depthwise(8, 3, 1, nn.ReLU6(), gen), (2, 8, 10, 37), "depthwise"),
        ("dw5_s2_silu_wide", depthwise(8, 5, 2, nn.SiLU(), gen), (1, 8, 9, 60), "depthwise"),
        ("se_sigmoid", SE(24, 8, nn.Sigmoid()), (2, 24, 7, 9), "se"),
        ("se_hsigmoid", SE(16, 8, nn.Hardsigmoid()), (2, 16, 5, 5), "se"),
        ("classifier", Classifier(320, 100), (2, 320, 3, 3), "matvec"),
    ]


def window_cases(gen):
    """The row kernel's cases, drawn after the others (whose draws stay as
    they were)."""
    return [
        ("dw7_s1_bias", nn.Conv2d(8, 8, 7, 1, 3, groups=8), (2, 8, 13, 15), "depthwise"),
        ("dw3_s2_relu6_even", depthwise(16, 3, 2, nn.ReLU6(), gen), (3, 16, 24, 24), "depthwise"),
        ("dw3_dil2_relu", nn.Sequential(nn.Conv2d(6, 6, 3, 1, 2, dilation=2, groups=6), nn.ReLU()), (2, 6, 11, 12),
         "depthwise"),
        ("dw3_s2_nobias", nn.Conv2d(6, 6, 3, 2, 1, groups=6, bias=False), (3, 6, 11, 10), "depthwise"),
        ("dw3_s1_residual", Residual(depthwise(8, 3, 1, nn.ReLU6(), gen)), (2, 8, 10, 12), "depthwise"),
        ("max_k3_s2_p1_b4", pool("max", 3, 2, 1), (4, 8, 16, 16), "pool"),
        ("max_k3_s3_p1", pool("max", 3, 3, 1), (2, 3, 14, 16), "pool"),
        ("avg_k7_s1_p0", pool("avg", 7, 1, 0), (2, 4, 7, 9), "pool"),
    ]


def plane_cases(gen):
    """The plane kernel's cases, drawn after the others."""
    return [
        ("dw3_s1_strips", depthwise(2, 3, 1, nn.ReLU6(), gen), (1, 2, 30, 300), "depthwise"),
        ("dw3_s2_strips", depthwise(2, 3, 2, nn.SiLU(), gen), (1, 2, 33, 399), "depthwise"),
        ("dw7_s1_strips", nn.Conv2d(2, 2, 7, 1, 3, groups=2), (1, 2, 30, 250), "depthwise"),
        ("max_k3_s2_p1_strips", pool("max", 3, 2, 1), (1, 2, 33, 399), "pool"),
        ("dw7_s1_small", nn.Conv2d(16, 16, 7, 1, 3, groups=16), (1, 16, 7, 7), "depthwise"),
        ("dw3_s2_small", depthwise(8, 3, 2, nn.ReLU6(), gen), (2, 8, 7, 7), "depthwise"),
    ]


def flat_cases(gen):
    """The plane kernel's flat pointwise pass on narrow outputs (SiLU over
    the strip's sums in one loop: EfficientNet-B0's 7x7, 14x14 and 28x28
    depthwise windows), and a depthwise window with SiLU feeding an SE
    block; drawn after the others."""
    return [
        ("dw5_s1_silu_flat", depthwise(16, 5, 1, nn.SiLU(), gen), (2, 16, 7, 7), "flat"),
        ("dw3_s2_silu_flat", depthwise(12, 3, 2, nn.SiLU(), gen), (1, 12, 28, 28), "flat"),
        ("dw3_silu_se", nn.Sequential(depthwise(16, 3, 1, nn.SiLU(), gen), SE(16, 4, nn.Sigmoid())), (2, 16, 14, 14),
         "flat-se"),
    ]


def grouped_cases(gen):
    """Grouped 3x3 convolutions (ResNeXt's) at a few group counts, with a
    bias and ReLU after: stride 1 takes the direct kernel
    (src/emit_c/emit_grouped.c), stride 2 and channel counts that are no
    multiple of four output channels a group keep the packed path; drawn
    after the others."""
    def grouped(c, groups, stride=1, dilation=1):
        return nn.Sequential(nn.Conv2d(c, c, 3, stride, dilation, dilation=dilation, groups=groups), nn.ReLU())
    return [
        ("grp_g4_c16_14", grouped(64, 4), (2, 64, 14, 14), "grouped"),
        ("grp_g8_c8_9x11", grouped(64, 8), (1, 64, 9, 11), "grouped"),
        ("grp_g2_c32_7", grouped(64, 2), (1, 64, 7, 7), "grouped"),
        ("grp_g4_c8_dil2", grouped(32, 4, dilation=2), (1, 32, 12, 10), "grouped"),
        ("grp_g4_c16_s2", grouped(64, 4, stride=2), (1, 64, 14, 14), "grouped-packed"),
        ("grp_g8_c6_14", grouped(48, 8), (1, 48, 14, 14), "grouped-packed"),
    ]


def wide_cases(gen):
    """A 3x3 depthwise window over 64 output columns (a multiple of 16, at
    least 64): the plane kernel's 64-byte vectors (WIN_WIDE_MIN)."""
    return [
        ("dw3_s1_w64", depthwise(8, 3, 1, nn.ReLU6(), gen), (2, 8, 9, 64), "wide"),
    ]


def fused_cases(gen):
    """Outputs whose rows are whole vectors (32 columns of 8-float vectors):
    the plane kernel ends each pass's rows from its sums (emit_window.c,
    print_pass_ends), a residual read at the right column, 10 rows (the
    last pass past the output), and stride 2."""
    return [
        ("dw3_s1_residual_w32", Residual(depthwise(8, 3, 1, nn.ReLU6(), gen)), (2, 8, 10, 32), "fused"),
        ("dw3_s2_relu6_w32", depthwise(16, 3, 2, nn.ReLU6(), gen), (2, 16, 16, 64), "fused"),
    ]


def wide28_cases(gen):
    """A 3x3 window over 28 columns and a 5x5 over 14, no multiple of 8:
    64-byte vectors (emit_window.c, wide_rows)."""
    return [
        ("dw3_s1_relu6_w28", depthwise(8, 3, 1, nn.ReLU6(), gen), (2, 8, 12, 28), "wide"),
        ("dw5_s1_silu_w14", depthwise(8, 5, 1, nn.SiLU(), gen), (2, 8, 14, 14), "wide"),
    ]


def masked_cases(gen):
    """Stride-1 windows on planes of at most 1024 floats whose rows are no
    whole number of 16-float vectors: summed by AVX-512 masked loads of the
    input where the C is built with them (emit_window.c, masked_plan). A 3x3
    on 28x28 (49 vectors, four groups of accumulators), a 5x5 without a bias
    on 14x14, a 7x7 on 9x11 (taps whose box misses whole vectors)."""
    return [
        ("dw3_s1_masked_28", depthwise(8, 3, 1, nn.ReLU6(), gen), (2, 8, 28, 28), "masked"),
        ("dw5_s1_masked_nobias", nn.Conv2d(8, 8, 5, 1, 2, groups=8, bias=False), (1, 8, 14, 14), "masked"),
        ("dw7_s1_masked_9x11", nn.Conv2d(4, 4, 7, 1, 3, groups=4), (2, 4, 9, 11), "masked"),
    ]


def phases_cases(gen):
    """Strided windows on input rows of at most 32 floats: each row of the
    planes filled from AVX-512 registers (a masked permutation of the input
    row) where the C is built with them (emit_window.c, plane_row_vec). A
    3x3 at stride 2 on 14x14 (MobileNetV2's features.14), a 5x5 at stride 2
    on an odd width (27 columns, pad 2), a 3x3 at stride 3."""
    return [
        ("dw3_s2_phases_14", depthwise(8, 3, 2, nn.ReLU6(), gen), (2, 8, 14, 14), "phases"),
        ("dw5_s2_phases_27", nn.Conv2d(4, 4, 5, 2, 2, groups=4), (1, 4, 13, 27), "phases"),
        ("dw3_s3_phases_32", nn.Conv2d(4, 4, 3, 3, 1, groups=4), (1, 4, 11, 32), "phases"),
    ]


def phases_wide_cases(gen):
    """Stride-2 windows on wider rows (plane rows of up to 64 columns): each
    16 columns of a plane row one masked permutation of two masked loads
    (emit_window.c, print_plane_row_part). A 3x3 on 56 columns (MobileNetV2's
    features.4: 29-column planes, two parts), a 3x3 on 112 (features.2: 57
    columns, four parts, the last of one column), a 5x5 with pad 2 on 63."""
    return [
        ("dw3_s2_wide_56", depthwise(8, 3, 2, nn.ReLU6(), gen), (1, 8, 12, 56), "phases-wide"),
        ("dw3_s2_wide_112", nn.Conv2d(4, 4, 3, 2, 1, groups=4), (2, 4, 7, 112), "phases-wide"),
        ("dw5_s2_wide_63", nn.Conv2d(4, 4, 5, 2, 2, groups=4, bias=False), (1, 4, 9, 63), "phases-wide"),
    ]


def export(outdir, name, model, x):
    model.eval()
    with torch.no_grad():
        y = model(x)
    torch.onnx.export(model, x, os.path.join(outdir, name + ".onnx"), opset_version=13,
                      input_names=["input"], output_names=["output"], do_constant_folding=True)
    np.save(os.path.join(outdir, name + ".input.npy"), x.numpy().astype(np.float32))
    np.save(os.path.join(outdir, name + ".output.npy"), y.numpy().astype(np.float32))


def main():
    outdir, only = sys.argv[1], sys.argv[2:]
    torch.manual_seed(1234)
    gen = torch.Generator().manual_seed(4321)
    lines = []
    for group in (cases, window_cases, plane_cases, flat_cases, grouped_cases, wide_cases, fused_cases,
                  wide28_cases, masked_cases, phases_cases, phases_wide_cases):
        lines += make(outdir, only, group(gen), gen)
    with open(os.path.join(outdir, "cases.txt"), "w") as f:
        f.writelines(lines)


def make(outdir, only, group, gen):
    lines = []
    for name, model, shape, path in group:
        for prm in model.parameters():
            prm.data.copy_(torch.randn(prm.shape, generator=gen) * 0.3)
        x = torch.randn(*shape, generator=gen)
        if not only or name in only:
            export(outdir, name, model, x)
        lines.append("%s %s\n" % (name, path))
    return lines


if __name__ == "__main__":
    main()
