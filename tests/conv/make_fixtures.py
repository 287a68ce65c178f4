#!/usr/bin/python3
"""make_fixtures.py: the convolutions of tests/conv, as small ONNX files with
an input and PyTorch's output (torch 1.13, the independent reference):

    /usr/bin/python3 tests/conv/make_fixtures.py tests/conv [NAME...]

(with names: only those cases' files are written; cases.txt lists all)

Grouped convolutions (groups 2..8, strides 1 and 2, padding, kernels 1x1,
3x3 and 2x3, with and without bias, batch 1 and 2) for the packed grouped
path; 3x3 stride-1 convolutions at odd sizes and channel counts (padding 0,
1, 2 and asymmetric, batch 2, with a batch normalisation folded in) for the
Winograd path; dense convolutions at batch 2; dense convolutions whose
register tiles are fitted to their shapes (TILE_CASES); products with a narrow
last tile and a deepened depth block (NARROW_CASES); 1x1 convolutions whose
input the micro-kernel reads in place or packs (IN_PLACE_CASES). Each case NAME gets NAME.onnx,
NAME.input.npy and NAME.output.npy (float32), and cases.txt lists them with
the path run.sh expects them to take.
"""
import os
import sys

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import helper, numpy_helper, TensorProto

# name, N, C, K, (H, W), kernel, stride, padding, groups, bias, path
CASES = [
    ("grouped_g2_3x3", 1, 8, 8, (9, 9), 3, 1, 1, 2, True, "grouped"),
    ("grouped_g3_s2_b2", 2, 12, 18, (10, 11), 3, 2, 1, 3, True, "grouped"),
    ("grouped_g4_1x1", 1, 16, 32, (8, 8), 1, 1, 0, 4, True, "grouped"),
    ("grouped_g8_valid", 1, 32, 32, (7, 9), 3, 1, 0, 8, False, "grouped"),
    ("grouped_g2_2x3_s12", 2, 6, 4, (6, 7), (2, 3), (1, 2), (1, 0), 2, True, "grouped"),
    ("grouped_g32_resnext", 1, 128, 128, (14, 14), 3, 1, 1, 32, False, "grouped"),
    ("wino_c3_k5_7x7", 1, 3, 5, (7, 7), 3, 1, 1, 1, True, "winograd"),
    ("wino_b2_c19_k24_15x13", 2, 19, 24, (15, 13), 3, 1, 1, 1, True, "winograd"),
    ("wino_valid_6x5", 1, 8, 4, (6, 5), 3, 1, 0, 1, False, "winograd"),
    ("wino_pad2_9x11", 1, 16, 16, (9, 11), 3, 1, 2, 1, True, "winograd"),
    ("dense_b2_s2", 2, 8, 32, (16, 15), 3, 2, 1, 1, True, "dense"),
    ("dense_b2_1x1", 2, 16, 32, (12, 11), 1, 1, 0, 1, True, "dense"),
]

# Dense convolutions at odd product shapes, their register tiles checked
# (for --cpu x86-64-v4: 12x32 unless the rows are fitted): few pixels (n 49,
# 7, 1: edge tiles), output channels that 12 rows would pad (64, 32, 19, 16),
# a depth that is not a multiple of the 256 block, a 1x1 convolution (plain
# subscripts, contiguous panels) at batch 2.
# name, N, C, K, (H, W), kernel, stride, padding, groups, bias, path
TILE_CASES = [
    ("dense_n49_7x7", 1, 32, 128, (7, 7), 3, 1, 1, 1, True, "direct-12x32"),
    ("dense_n7_1x7", 1, 32, 32, (1, 7), 3, 1, 1, 1, False, "direct-8x32"),
    ("dense_n1_1x1", 1, 64, 64, (1, 1), 3, 1, 1, 1, False, "direct-8x32"),
    ("dense_m19_k297", 1, 33, 19, (15, 17), 3, 1, 1, 1, True, "direct-10x32"),
    ("pointwise_b2_m16", 2, 32, 16, (28, 28), 1, 1, 0, 1, True, "direct-8x32"),
]

# Products whose last register tile is narrow (columns 32 + 4 and 32 + 17:
# the micro-kernel's narrow tiles, vectors down A's rows) and whose depth
# block is the whole depth (few columns: contr_shape.c deepens it), checked
# for x86-64-v4 by the tile and the depth block (path narrow-RxC-KC).
# name, N, C, K, (H, W), kernel, stride, padding, groups, bias, path
NARROW_CASES = [
    ("narrow_n36_k288", 1, 32, 120, (6, 6), 3, 1, 1, 1, True, "narrow-12x32-288"),
    ("narrow_n49_k1152", 1, 128, 24, (7, 7), 3, 1, 1, 1, False, "narrow-12x32-1152"),
]

# 1x1 convolutions whose B operand (the input's pixels) the micro-kernel
# reads where it lies, without packing (emit_ukernel.c, b_in_place_depth):
# few output channels over many pixels (path inplace-RxC); and two it packs:
# rows 4 KiB apart (32x32 pixels) over a depth of 64, and 256 output
# channels (packed-RxC). Checked for x86-64-v4.
# name, N, C, K, (H, W), kernel, stride, padding, groups, bias, path
IN_PLACE_CASES = [
    ("inplace_m24_20x30", 1, 48, 24, (20, 30), 1, 1, 0, 1, True, "inplace-12x32"),
    ("packed_m24_32x32", 1, 64, 24, (32, 32), 1, 1, 0, 1, True, "packed-12x32"),
    ("packed_m256_16x16", 1, 32, 256, (16, 16), 1, 1, 0, 1, False, "packed-12x32"),
]

# Stride-2 convolutions of few input channels (ResNet-18's conv1 at a smaller
# image, a 3x3 as MobileNetV2's first layer): the input's runs along a row are
# every other float, copied on x86-64-v4 by aotc_copy_run_s2 (even floats
# picked from two masked loads) in whole panels (41 and 35 output columns
# hold a panel of 32), runs across rows and the last, partial panel (1681 and
# 1225 pixels). Path `strided`: run.sh checks them as it checks masked runs.
# name, N, C, K, (H, W), kernel, stride, padding, groups, bias, path
STRIDED_CASES = [
    ("strided_3x3_s2_41x41", 1, 3, 16, (82, 82), 3, 2, 1, 1, True, "strided"),
    ("strided_7x7_s2_35x35", 1, 3, 8, (70, 70), 7, 2, 3, 1, False, "strided"),
]

# name, N, C, K, (H, W), kernel, stride, padding, groups, bias, path
FEW_CASES = [
    ("wino_few_14x14", 1, 32, 196, (14, 14), 3, 1, 1, 1, True, "winograd-few"),
    ("dense_b2_14x14", 2, 32, 196, (14, 14), 3, 1, 1, 1, True, "winograd-not"),
    ("wino_many_b8_7x7", 8, 32, 32, (7, 7), 3, 1, 1, 1, True, "winograd-many"),
]

# name, N, C, K, (H, W), kernel, stride, padding, groups, bias, path
STREAMED_CASES = [
    ("wino_streamed_14x14", 1, 64, 128, (14, 14), 3, 1, 1, 1, True, "winograd-streamed"),
]


ONLY = set()


def wanted(name):
    return not ONLY or name in ONLY


def save(outdir, name, x, y):
    if not wanted(name):
        return
    np.save(os.path.join(outdir, name + ".input.npy"), x.astype(np.float32))
    np.save(os.path.join(outdir, name + ".output.npy"), y.astype(np.float32))


def export(outdir, name, model, x):
    model.eval()
    with torch.no_grad():
        y = model(x)
    if not wanted(name):
        return
    torch.onnx.export(model, x, os.path.join(outdir, name + ".onnx"), opset_version=13,
                      input_names=["input"], output_names=["output"], do_constant_folding=False)
    save(outdir, name, x.numpy(), y.numpy())


def conv_case(outdir, case, gen):
    name, n, c, k, hw, ks, s, p, g, bias, _ = case
    model = nn.Conv2d(c, k, ks, stride=s, padding=p, groups=g, bias=bias)
    export(outdir, name, model, torch.randn(n, c, *hw, generator=gen))


def bn_case(outdir, gen):
    """conv 3x3 (no bias) + batch norm + relu at 28x28, 32 channels: the
    batch norm folds into the weights that the Winograd pass transforms, and
    the default cost rule takes Winograd there."""
    model = nn.Sequential(nn.Conv2d(32, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU())
    bn = model[1]
    bn.running_mean.copy_(torch.randn(32, generator=gen) * 0.1)
    bn.running_var.copy_(torch.rand(32, generator=gen) + 0.5)
    bn.weight.data.copy_(torch.rand(32, generator=gen) + 0.5)
    bn.bias.data.copy_(torch.randn(32, generator=gen) * 0.1)
    export(outdir, "wino_bn_relu_28x28", model, torch.randn(1, 32, 28, 28, generator=gen))


def asym_case(outdir, gen):
    """A Conv node with asymmetric pads (top 1, left 0, bottom 0, right 2),
    which torch cannot export: written with onnx.helper, the reference is
    F.pad then conv2d."""
    x = torch.randn(1, 7, 8, 9, generator=gen)
    w = torch.randn(6, 7, 3, 3, generator=gen) * 0.2
    b = torch.randn(6, generator=gen) * 0.1
    y = F.conv2d(F.pad(x, (0, 2, 1, 0)), w, b)
    node = helper.make_node("Conv", ["input", "w", "b"], ["output"], kernel_shape=[3, 3], pads=[1, 0, 0, 2])
    graph = helper.make_graph([node], "asym", [helper.make_tensor_value_info("input", TensorProto.FLOAT, list(x.shape))],
                              [helper.make_tensor_value_info("output", TensorProto.FLOAT, list(y.shape))],
                              [numpy_helper.from_array(w.numpy(), "w"), numpy_helper.from_array(b.numpy(), "b")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(model)
    if wanted("wino_asym_pads"):
        onnx.save(model, os.path.join(outdir, "wino_asym_pads.onnx"))
    save(outdir, "wino_asym_pads", x.numpy(), y.numpy())


def main():
    outdir = sys.argv[1]
    ONLY.update(sys.argv[2:])
    torch.manual_seed(1234)
    gen = torch.Generator().manual_seed(4321)
    lines = []
    for case in CASES:
        conv_case(outdir, case, gen)
        lines.append("%s %s" % (case[0], case[-1]))
    bn_case(outdir, gen)
    lines.append("wino_bn_relu_28x28 winograd-default")
    asym_case(outdir, gen)
    lines.append("wino_asym_pads winograd")
    tile_gen = torch.Generator().manual_seed(2468)
    for case in TILE_CASES:
        conv_case(outdir, case, tile_gen)
        lines.append("%s %s" % (case[0], case[-1]))
    narrow_gen = torch.Generator().manual_seed(1357)
    for case in NARROW_CASES:
        conv_case(outdir, case, narrow_gen)
        lines.append("%s %s" % (case[0], case[-1]))
    # 14x14 at batch 1 (49 F(2x2) tiles; ResNet-18's layer3 at fewer input
    # channels): the cost rule takes Winograd (winograd.c, WINO_FEW_TILES) and
    # the product's 49 tiles become its rows, the 196 output channels (4 x 49)
    # its columns (schedule.c, SWAP_MAX_COLS); at batch 2 (98 tiles) no Winograd;
    # at 7x7 and batch 8 (128 tiles: WINO_MANY_TILES) Winograd again.
    few_gen = torch.Generator().manual_seed(9753)
    for case in FEW_CASES:
        conv_case(outdir, case, few_gen)
        lines.append("%s %s" % (case[0], case[-1]))
    in_place_gen = torch.Generator().manual_seed(8642)
    for case in IN_PLACE_CASES:
        conv_case(outdir, case, in_place_gen)
        lines.append("%s %s" % (case[0], case[-1]))
    strided_gen = torch.Generator().manual_seed(3141)
    for case in STRIDED_CASES:
        conv_case(outdir, case, strided_gen)
        lines.append("%s %s" % (case[0], case[-1]))
    # F(4x4): 16 tiles as rows, 36 tile positions of 64 x 128 transformed
    # weights (1.2 MB in all, past the streamed-B bound of emit_ukernel.c):
    # the column tiles go outer and the next panel is prefetched; F(2x2)'s
    # 16 positions (0.5 MB) keep the rows outer.
    streamed_gen = torch.Generator().manual_seed(8531)
    for case in STREAMED_CASES:
        conv_case(outdir, case, streamed_gen)
        lines.append("%s %s" % (case[0], case[-1]))
    with open(os.path.join(outdir, "cases.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
