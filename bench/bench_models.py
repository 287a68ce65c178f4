#!/usr/bin/python3
"""bench_models.py: the models bench/models.sh times that tests/models does
not hold as fixtures, exported on demand with Debian's torch and torchvision
(random initialisation, fixed seed), and a uniform build(name) for both:

    /usr/bin/python3 bench/bench_models.py OUTDIR NAME...

Extra models: vit_b_16 (torchvision, 224x224), encoder (nn.TransformerEncoder,
2 layers, d=128, 4 heads, 64 tokens), attention (ViT-B/16's attention core:
softmax(X.X^T).X on 12 heads x 197 tokens x 64, X standing for Q, K and V),
and any other torchvision classifier by its constructor name (densenet121,
resnext50_32x4d, efficientnet_b0, ...). NAME_bN is NAME at batch N.
Writes OUTDIR/NAME.onnx and OUTDIR/NAME.input.npy like make_fixtures.py.
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "models"))
import make_fixtures  # noqa: E402

KNOWN = make_fixtures.SMALL + make_fixtures.LARGE


class Attention(nn.Module):
    def forward(self, x):
        return torch.matmul(torch.softmax(torch.matmul(x, x.transpose(2, 3)), dim=-1), x)


def build(name):
    if name in KNOWN:
        return make_fixtures.build(name)
    if name == "attention":
        return Attention(), (1, 12, 197, 64)
    if name == "encoder":
        layer = nn.TransformerEncoderLayer(128, 4, 512, dropout=0.0, batch_first=True)
        return nn.TransformerEncoder(layer, 2, enable_nested_tensor=False), (1, 64, 128)
    import torchvision.models as tvm
    return getattr(tvm, name)(), (1, 3, 224, 224)


def split_batch(name):
    """"resnet18_b8" -> ("resnet18", 8); "resnet18" -> ("resnet18", None);
    "efficientnet_b0" -> ("efficientnet_b0", None): a torchvision name wins."""
    import torchvision.models as tvm
    if callable(getattr(tvm, name, None)):
        return name, None
    base, _, batch = name.rpartition("_b")
    if base and batch.isdigit():
        return base, int(batch)
    return name, None


def export(name, outdir):
    base, batch = split_batch(name)
    if name in KNOWN:
        make_fixtures.export(name, outdir)
        return
    torch.manual_seed(1234)
    gen = torch.Generator().manual_seed(4321)
    model, shape = build(base)
    if batch is not None:
        shape = (batch,) + tuple(shape[1:])
    make_fixtures.randomise_batchnorm(model, gen)
    model.eval()
    x = torch.randn(*shape, generator=gen)
    with torch.no_grad():
        y = model(x)
    export_outside_no_grad(model, x, name, outdir, y)


def export_outside_no_grad(model, x, name, outdir, y):
    """Exports with gradients enabled: under no_grad PyTorch's encoder layers
    take a fused fast path that the ONNX exporter cannot write."""
    torch.onnx.export(model, x, os.path.join(outdir, name + ".onnx"), opset_version=13,
                      input_names=["input"], output_names=["output"], do_constant_folding=True)
    np.save(os.path.join(outdir, name + ".input.npy"), x.numpy().astype(np.float32))
    np.save(os.path.join(outdir, name + ".output.npy"), y.numpy().astype(np.float32))


def main():
    os.makedirs(sys.argv[1], exist_ok=True)
    torch.set_num_threads(2)
    for name in sys.argv[2:]:
        export(name, sys.argv[1])


if __name__ == "__main__":
    main()
