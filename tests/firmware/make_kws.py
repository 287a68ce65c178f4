#!/usr/bin/python3
"""make_kws.py: makes the keyword-spotting-sized CNN fixture of the firmware
test: an MFCC-shaped input (1 x 1 x 49 frames x 10 coefficients), three
convolutions with batch normalisation and ReLU, global average pooling and a
12-way classifier (about 58 KB of float32 weights). Random initialisation
with a fixed seed and random running statistics; no pretrained weights.

    /usr/bin/python3 tests/firmware/make_kws.py OUTDIR

writes OUTDIR/kws.onnx, OUTDIR/kws.input.npy and OUTDIR/kws.output.npy
(PyTorch's output for that input). The committed files were made with
torch 1.13 (opset 13)."""
import os
import sys

import numpy as np
import torch
import torch.nn as nn


class KWS(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, (5, 3), padding=(2, 1)), nn.BatchNorm2d(16), nn.ReLU(),
            nn.Conv2d(16, 32, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
            nn.Conv2d(32, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(32, 12)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.features(x)), 1))


def randomise_bn(model, gen):
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
            m.weight.data.copy_(torch.rand(n, generator=gen) + 0.5)
            m.bias.data.copy_(torch.randn(n, generator=gen) * 0.1)


def main(outdir):
    gen = torch.Generator().manual_seed(20261202)
    torch.manual_seed(20261202)
    model = KWS().eval()
    with torch.no_grad():
        randomise_bn(model, gen)
        x = torch.randn(1, 1, 49, 10, generator=gen)
        y = model(x)
    os.makedirs(outdir, exist_ok=True)
    torch.onnx.export(model, x, os.path.join(outdir, "kws.onnx"), opset_version=13,
                      input_names=["input"], output_names=["output"],
                      training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)
    np.save(os.path.join(outdir, "kws.input.npy"), x.numpy().astype(np.float32))
    np.save(os.path.join(outdir, "kws.output.npy"), y.numpy().astype(np.float32))
    nparams = sum(p.numel() for p in model.parameters())
    print("kws: %d parameters (%d bytes as float32)" % (nparams, 4 * nparams))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__)))
