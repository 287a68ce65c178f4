#!/usr/bin/python3
"""make_fixtures.py: writes the TorchScript fixtures of tests/torchscript
with the running torch, into fixtures/torch-MAJOR.MINOR/ beside this script
(or OUTDIR):

    /usr/bin/python3 tests/torchscript/make_fixtures.py          # Debian's torch 1.13
    .venv/bin/python tests/torchscript/make_fixtures.py          # torch 2.x from PyPI
    python tests/torchscript/make_fixtures.py OUTDIR [NAME...]

For each model it saves archives with torch.jit.save and PyTorch's output
for a fixed input, as .npy files:

    NAME_traced.pt  NAME_frozen.pt  NAME.input.npy  NAME.output.npy

Models (random initialisation, fixed seed): mlp, cnn (the CNN with batch
normalisation of tests/models, random running statistics), transformer (the
pre-norm block of tests/models, smaller: dim 32, 4 heads, hidden 64), loop
(scripted: a `for` loop over a submodule, a data-dependent `if`, a `while`
loop and a free function; two inputs take the two branches:
loop.input.npy / loop.output.npy and loop.input2.npy / loop.output2.npy;
archives loop_scripted.pt and loop_frozen.pt), tensors (scripted: buffers
of every dtype the reader supports, views with strides, offsets, stride 0
and shared storages, a scalar and an empty tensor; each buffer's values are
saved as tensors.NAME.npy, half and bfloat16 as float32), reuse (traced: one
Linear called twice, so its class has forward and forward1), attrs (scripted:
typed list, dict, tuple, str, Optional and tensor-list attributes).

Beside each archive, ARCHIVE.ops.txt holds the line `aotc check` must print
for it: every operator call in its code files (torch.X, ops.ns.X and the
builtins aotc lists), counted by a regular expression here, independently
of aotc's parser.
"""
import importlib.util
import os
import re
import sys
import zipfile
from collections import Counter
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
ALL = ["mlp", "cnn", "transformer", "loop", "tensors", "reuse", "attrs"]


def load_models_module():
    """tests/models/make_fixtures.py, imported as `models` (its classes' code
    files become code/__torch__/models.py)."""
    path = os.path.join(HERE, "..", "models", "make_fixtures.py")
    spec = importlib.util.spec_from_file_location("models", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["models"] = mod
    spec.loader.exec_module(mod)
    return mod


class Loop(nn.Module):
    """A loop over a submodule, a data-dependent branch and a while loop."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)
        self.steps = 3

    def forward(self, x):
        for _ in range(self.steps):
            x = torch.tanh(self.fc(x)) * 0.5 + x
        if bool(torch.sum(x) > 0):
            y = x * 2.0
        else:
            y = shift(-x, 0.25)
        i = 0
        while i < 2:
            y = y + 1.0
            i += 1
        return y


def shift(x: torch.Tensor, by: float) -> torch.Tensor:
    return x - by


class Reuse(nn.Module):
    """One submodule called twice: tracing gives its class forward and forward1."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x):
        return self.fc(torch.relu(self.fc(x)))


class Attrs(nn.Module):
    """Typed attributes: torch pickles them with torch.jit._pickle helpers."""

    def __init__(self):
        super().__init__()
        self.sizes: List[int] = [1, 2]
        self.table: Dict[str, int] = {"a": 1}
        self.pair: Tuple[int, float] = (3, 2.5)
        self.name = "hello"
        self.maybe: Optional[int] = None
        self.tensors = [torch.ones(2)]

    def forward(self, x):
        return x + self.sizes[1] + self.table["a"] + self.tensors[0]


class Tensors(nn.Module):
    """Buffers that exercise the tensor reader; forward returns one."""

    def __init__(self, gen):
        super().__init__()
        base = torch.randn(4, 6, generator=gen)
        self.register_buffer("base", base)
        self.register_buffer("transposed", base.t())
        self.register_buffer("window", base[1:3, 2:5])
        self.register_buffer("column", base[:, 3])
        self.register_buffer("expanded", torch.randn(1, 6, generator=gen).expand(3, 6))
        self.register_buffer("f64", torch.randn(2, 3, generator=gen, dtype=torch.float64))
        self.register_buffer("f16", torch.randn(3, 2, generator=gen).half().t())
        self.register_buffer("bf16", torch.randn(5, generator=gen).bfloat16())
        self.register_buffer("i8", torch.randint(-128, 128, (2, 4), generator=gen, dtype=torch.int8))
        self.register_buffer("i16", torch.randint(-30000, 30000, (3,), generator=gen, dtype=torch.int16))
        self.register_buffer("i32", torch.randint(-2**31, 2**31 - 1, (2, 2), generator=gen, dtype=torch.int32)[:, 1])
        self.register_buffer("i64", torch.tensor([-(2**40), 7, 2**50], dtype=torch.int64))
        self.register_buffer("u8", torch.randint(0, 256, (6,), generator=gen, dtype=torch.uint8)[1::2])
        self.register_buffer("flags", torch.tensor([[True, False], [False, True]]))
        self.register_buffer("scalar", torch.tensor(3.5))
        self.register_buffer("empty", torch.zeros(0, 3))

    def forward(self, x):
        return x + self.base


BUILTINS = ["int", "float", "bool", "len", "str", "range", "annotate", "uninitialized", "isinstance",
            "unchecked_cast", "min", "max", "abs", "print", "list", "tuple", "dict"]
CALL = re.compile(r"(?<![\w.])(torch\.[A-Za-z_][\w.]*|ops\.\w+\.\w+|" + "|".join(BUILTINS) + r")\(")


def operator_line(archive):
    """`operators: a xN, b xM` over the archive's code files, sorted by name."""
    counts = Counter()
    with zipfile.ZipFile(archive) as z:
        for name in z.namelist():
            if "/code/" in name and name.endswith(".py"):
                counts.update(CALL.findall(z.read(name).decode()))
    return "operators: " + ", ".join(f"{op} x{n}" for op, n in sorted(counts.items()))


def randomise(models, model, gen):
    models.randomise_batchnorm(model, gen)
    return model


def build(name, models, gen):
    """The module, its example input and (for loop) a second input."""
    if name == "mlp":
        m = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
        return m, [torch.randn(2, 32, generator=gen)]
    if name == "cnn":
        return randomise(models, models.CNN(), gen), [torch.randn(1, 3, 32, 32, generator=gen)]
    if name == "transformer":
        return models.Block(dim=32, heads=4, hidden=64), [torch.randn(1, 8, 32, generator=gen)]
    if name == "loop":
        x = torch.randn(2, 8, generator=gen)
        return Loop(), [x.abs() + 0.5, -x.abs() - 2.0]
    if name == "tensors":
        return Tensors(gen), [torch.randn(4, 6, generator=gen)]
    if name == "reuse":
        return Reuse(), [torch.randn(2, 8, generator=gen)]
    if name == "attrs":
        return Attrs(), [torch.randn(2, generator=gen)]
    raise SystemExit(f"make_fixtures: unknown model '{name}'")


def save_npy(outdir, name, t):
    t = t.detach()
    if t.dtype in (torch.float16, torch.bfloat16):
        t = t.float()
    np.save(os.path.join(outdir, name), t.contiguous().numpy())


def save_archives(name, model, x, outdir):
    if name in ("loop", "tensors", "attrs"):
        scripted = torch.jit.script(model)
        archives = {"scripted": scripted}
        if name == "loop":
            archives["frozen"] = torch.jit.freeze(torch.jit.script(model))
    else:
        traced = torch.jit.trace(model, x)
        archives = {"traced": traced, "frozen": torch.jit.freeze(torch.jit.trace(model, x))}
    for kind, module in archives.items():
        path = os.path.join(outdir, f"{name}_{kind}.pt")
        torch.jit.save(module, path)
        with open(path[:-3] + ".ops.txt", "w") as f:
            f.write(operator_line(path) + "\n")


def make(name, models, outdir):
    torch.manual_seed(1234)
    gen = torch.Generator().manual_seed(4321)
    model, inputs = build(name, models, gen)
    model.eval()
    with torch.no_grad():
        save_archives(name, model, inputs[0], outdir)
        for k, x in enumerate(inputs):
            suffix = "" if k == 0 else str(k + 1)
            save_npy(outdir, f"{name}.input{suffix}.npy", x)
            save_npy(outdir, f"{name}.output{suffix}.npy", model(x))
    if name == "tensors":
        for buf_name, buf in model.named_buffers():
            save_npy(outdir, f"tensors.{buf_name}.npy", buf)


def main():
    args = sys.argv[1:]
    version = ".".join(torch.__version__.split("+")[0].split(".")[:2])
    outdir = args.pop(0) if args and not args[0] in ALL else os.path.join(HERE, "fixtures", f"torch-{version}")
    os.makedirs(outdir, exist_ok=True)
    torch.set_num_threads(2)
    models = load_models_module()
    for name in args or ALL:
        make(name, models, outdir)
    with open(os.path.join(outdir, "VERSION"), "w") as f:
        f.write(f"torch {torch.__version__}, numpy {np.__version__}, python {sys.version.split()[0]}\n")
    print(f"{outdir}: torch {torch.__version__}")


if __name__ == "__main__":
    main()
