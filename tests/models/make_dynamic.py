#!/usr/bin/python3
"""make_dynamic.py: exports the models of make_fixtures.py with dynamic
axes (torch.onnx.export's dynamic_axes) and PyTorch's outputs for several
sizes of those axes, as .npy files:

    OUTDIR/NAME_dyn.onnx
    OUTDIR/NAME_dyn.SIZES.input.npy  OUTDIR/NAME_dyn.SIZES.output.npy

    /usr/bin/python3 tests/models/make_dynamic.py OUTDIR [NAME...]

cnn gets a dynamic batch (dimension 'N'), the transformer block a
dynamic batch and sequence length ('B', 'T'), so the exporter writes the
Shape/Gather/Concat/Reshape chains of `b, t, d = x.shape`. SIZES names the
sizes, e.g. N3 or B3_T5. The weights are those of make_fixtures.py (same
seeds). The fixtures are committed next to this script.
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_fixtures as mf  # noqa: E402

AXES = {
    "cnn": ({0: "N"}, [{"N": n} for n in (1, 3, 8)]),
    "transformer": ({0: "B", 1: "T"}, [{"B": 1, "T": 16}, {"B": 3, "T": 5}, {"B": 8, "T": 9}, {"B": 2, "T": 1}]),
}


def shape_for(base, axes, sizes):
    return tuple(sizes[axes[d]] if d in axes else s for d, s in enumerate(base))


def tag(sizes):
    return "_".join(f"{k}{v}" for k, v in sizes.items())


def export(name, outdir):
    torch.manual_seed(1234)
    gen = torch.Generator().manual_seed(4321)
    model, base = mf.build(name)
    mf.randomise_batchnorm(model, gen)
    model.eval()
    axes, cases = AXES[name]
    x0 = torch.randn(*shape_for(base, axes, cases[0]), generator=gen)
    path = os.path.join(outdir, name + "_dyn.onnx")
    with torch.no_grad():
        torch.onnx.export(model, x0, path, opset_version=13, input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": axes, "output": {d: a for d, a in axes.items() if d < 2}},
                          do_constant_folding=True,
                          training=mf.PRESERVE_BN.get(name, torch.onnx.TrainingMode.EVAL))
        for sizes in cases:
            x = torch.randn(*shape_for(base, axes, sizes), generator=gen)
            y = model(x)
            stem = os.path.join(outdir, f"{name}_dyn.{tag(sizes)}")
            np.save(stem + ".input.npy", x.numpy().astype(np.float32))
            np.save(stem + ".output.npy", y.numpy().astype(np.float32))


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    torch.set_num_threads(2)
    for name in sys.argv[2:] or list(AXES):
        export(name, outdir)
        print(f"{name}_dyn: {os.path.getsize(os.path.join(outdir, name + '_dyn.onnx'))} bytes")


if __name__ == "__main__":
    main()
