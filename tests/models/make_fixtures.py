#!/usr/bin/python3
"""make_fixtures.py: exports the model fixtures of tests/models to ONNX
(opset 13) with one input and PyTorch's output for it, as .npy files:

    OUTDIR/NAME.onnx  OUTDIR/NAME.input.npy  OUTDIR/NAME.output.npy

    /usr/bin/python3 tests/models/make_fixtures.py OUTDIR [NAME...]

Models (random initialisation, fixed seed; no pretrained weights): mlp, cnn
(convolutions with batch normalisation), transformer (one encoder block:
layernorm, attention from matmul and softmax, gelu), dense_block (DenseNet's
pre-activation layers: batch normalisation and ReLU over a growing
concatenation before each convolution), mbv2_blocks (MobileNetV2's first
inverted residual blocks at batch 3), resnet18, mobilenet_v2,
squeezenet1_1 (torchvision architectures). The small ones (mlp, cnn,
transformer, dense_block, mbv2_blocks) are committed next to this script; run.sh makes the large ones
when torch is present. Batch normalisation gets random running statistics
so that folding it is tested for real.
"""
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn

SMALL = ["mlp", "cnn", "transformer", "dense_block", "mbv2_blocks"]
LARGE = ["resnet18", "mobilenet_v2", "squeezenet1_1"]
# The exporter folds batch normalisation into convolutions in EVAL mode;
# PRESERVE keeps the BatchNormalization nodes (in inference mode) for aotc.
PRESERVE_BN = {"cnn": torch.onnx.TrainingMode.PRESERVE}


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
            nn.Conv2d(16, 32, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 32, 3, padding=1, groups=4), nn.BatchNorm2d(32), nn.ReLU6(),
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.features(x)), 1))


class Block(nn.Module):
    """A pre-norm transformer encoder block written out by hand."""

    def __init__(self, dim=64, heads=4, hidden=256):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.ln2 = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)
        self.gelu = nn.GELU()

    def forward(self, x):
        b, t, d = x.shape
        h = self.heads
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
        q = q.reshape(b, t, h, d // h).transpose(1, 2)
        k = k.reshape(b, t, h, d // h).transpose(1, 2)
        v = v.reshape(b, t, h, d // h).transpose(1, 2)
        att = torch.softmax(torch.matmul(q, k.transpose(2, 3)) / math.sqrt(d // h), dim=-1)
        y = torch.matmul(att, v).transpose(1, 2).reshape(b, t, d)
        x = x + self.proj(y)
        return x + self.fc2(self.gelu(self.fc1(self.ln2(x))))


class DenseLayer(nn.Module):
    """DenseNet's bottleneck layer: BN, ReLU, 1x1 conv, BN, ReLU, 3x3 conv;
    its output joins the concatenation of everything before it."""

    def __init__(self, cin, growth):
        super().__init__()
        self.body = nn.Sequential(
            nn.BatchNorm2d(cin), nn.ReLU(), nn.Conv2d(cin, 4 * growth, 1, bias=False),
            nn.BatchNorm2d(4 * growth), nn.ReLU(), nn.Conv2d(4 * growth, growth, 3, padding=1, bias=False))

    def forward(self, x):
        return torch.cat([x, self.body(x)], 1)


class DenseBlock(nn.Module):
    """A stem, three dense layers and a transition (BN, ReLU, 1x1 conv,
    average pool), then a classifier."""

    def __init__(self, stem=16, growth=8, layers=3):
        super().__init__()
        cin = stem + layers * growth
        self.stem = nn.Conv2d(3, stem, 3, padding=1, bias=False)
        self.layers = nn.Sequential(*[DenseLayer(stem + k * growth, growth) for k in range(layers)])
        self.transition = nn.Sequential(nn.BatchNorm2d(cin), nn.ReLU(), nn.Conv2d(cin, cin // 2, 1, bias=False),
                                        nn.AvgPool2d(2))
        self.fc = nn.Linear(cin // 2, 10)

    def forward(self, x):
        y = self.transition(self.layers(self.stem(x)))
        return self.fc(torch.flatten(torch.relu(y).mean((2, 3)), 1))


class InvertedResidual(nn.Module):
    """MobileNetV2's block: 1x1 expansion, 3x3 depthwise, 1x1 projection
    (batch normalisation after each, ReLU6 after the first two), the input
    added back when the shape allows."""

    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        mid = cin * expand
        self.residual = stride == 1 and cin == cout
        self.body = nn.Sequential(
            nn.Conv2d(cin, mid, 1, bias=False), nn.BatchNorm2d(mid), nn.ReLU6(),
            nn.Conv2d(mid, mid, 3, stride=stride, padding=1, groups=mid, bias=False), nn.BatchNorm2d(mid), nn.ReLU6(),
            nn.Conv2d(mid, cout, 1, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = self.body(x)
        return x + y if self.residual else y


class MBV2Blocks(nn.Module):
    """MobileNetV2's first layers at batch 3 (96x96 images): a stride-2
    stem and two inverted residual blocks, whose expanded activations (96
    channels at 48x48, 884 KB an image) make src/graph/batch_chunks.c run
    them two images at a time; then pooling and a classifier."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(16),
                                  nn.ReLU6())
        self.blocks = nn.Sequential(InvertedResidual(16, 16, 1, 6), InvertedResidual(16, 24, 2, 6))
        self.fc = nn.Linear(24, 10)

    def forward(self, x):
        return self.fc(torch.flatten(self.blocks(self.stem(x)).mean((2, 3)), 1))


def build(name):
    import torchvision.models as tvm
    if name == "mlp":
        return nn.Sequential(nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                             nn.Linear(128, 10)), (1, 256)
    if name == "cnn":
        return CNN(), (1, 3, 32, 32)
    if name == "transformer":
        return Block(), (1, 16, 64)
    if name == "dense_block":
        return DenseBlock(), (1, 3, 24, 24)
    if name == "mbv2_blocks":
        return MBV2Blocks(), (3, 3, 96, 96)
    if name in LARGE:
        return getattr(tvm, name)(), (1, 3, 224, 224)
    raise SystemExit(f"make_fixtures: unknown model '{name}'")


def randomise_batchnorm(model, gen):
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(n, generator=gen) * 0.5 + 0.75)
            m.weight.data.copy_(torch.rand(n, generator=gen) * 0.5 + 0.75)
            m.bias.data.copy_(torch.randn(n, generator=gen) * 0.1)


def export(name, outdir):
    torch.manual_seed(1234)
    gen = torch.Generator().manual_seed(4321)
    model, shape = build(name)
    randomise_batchnorm(model, gen)
    model.eval()
    x = torch.randn(*shape, generator=gen)
    with torch.no_grad():
        y = model(x)
        torch.onnx.export(model, x, os.path.join(outdir, name + ".onnx"), opset_version=13,
                          input_names=["input"], output_names=["output"], do_constant_folding=True,
                          training=PRESERVE_BN.get(name, torch.onnx.TrainingMode.EVAL))
    np.save(os.path.join(outdir, name + ".input.npy"), x.numpy().astype(np.float32))
    np.save(os.path.join(outdir, name + ".output.npy"), y.numpy().astype(np.float32))


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    torch.set_num_threads(2)
    for name in sys.argv[2:] or SMALL + LARGE:
        export(name, outdir)
        print(f"{name}: {os.path.getsize(os.path.join(outdir, name + '.onnx'))} bytes")


if __name__ == "__main__":
    main()
