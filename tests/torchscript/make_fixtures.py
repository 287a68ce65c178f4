#!/usr/bin/python3
"""make_fixtures.py: writes the TorchScript fixtures of tests/torchscript
with the running torch, into fixtures/torch-MAJOR.MINOR/ beside this script
(or OUTDIR):

    /usr/bin/python3 tests/torchscript/make_fixtures.py          # Debian's torch 1.13
    .venv/bin/python tests/torchscript/make_fixtures.py          # torch 2.x from PyPI
    python tests/torchscript/make_fixtures.py OUTDIR [NAME[:KIND,...]...]

(NAME:traced,frozen,scripted saves only those archives of NAME, without
their .ops.txt.)

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

Models that `aotc run` compiles get NAME.run (their inputs and outputs, for
run_models.sh); mlp, cnn and attn also NAME.batch3.input.npy and
NAME.batch3.output.npy (`make_fixtures.py --batch [NAME...]` writes only
those, from the saved traced archive). torchvision's resnet18, mobilenet_v2
and squeezenet1_1 (random weights; traced, frozen and scripted) are made only
when named, into OUTDIR.

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
ALL = ["mlp", "cnn", "transformer", "loop", "tensors", "reuse", "attrs", "attn", "zoo", "scripted", "encoder",
       "unsupported", "branch", "dloop", "control", "refused"]
LARGE = ["resnet18", "mobilenet_v2", "squeezenet1_1"]
# forward's argument names, in order (NAME.run lists them with their files)
ARGS = {"mlp": ["input"], "zoo": ["x", "ids"], "encoder": ["src"], "dloop": ["x", "n"]}
# models also run at batch 3 by one size-generic object (--shape x=N,...)
DYNAMIC = ["mlp", "cnn", "attn"]
# models `aotc run` compiles and compares (tests/torchscript/run_models.sh)
RUN = ["mlp", "cnn", "transformer", "reuse", "attn", "zoo", "scripted", "encoder", "tensors", "loop", "branch", "dloop",
       "control"]
# scripted (and frozen) models with data-dependent control flow: every
# input set is written to NAME.run, so that every side of every `if` and
# loops run 0, 1 and several times are tested
CONTROL = ["loop", "branch", "dloop", "control"]


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


class Attn(nn.Module):
    """A transformer block as tracing writes it: sizes through NumToTensor
    and int, div with rounding_mode="trunc", chunk, view with -1,
    contiguous, bmm, softmax, dropout (inference), layer_norm, mul."""

    def __init__(self, dim=32, heads=4, hidden=64):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.drop = nn.Dropout(0.1)
        self.ln2 = nn.LayerNorm(dim)
        self.ff = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(0.1), nn.Linear(hidden, dim))

    def forward(self, x):
        b, t, d = x.size()
        h = self.heads
        hd = torch.div(d, h, rounding_mode="trunc")
        q, k, v = self.qkv(self.ln1(x)).chunk(3, dim=-1)
        q = q.view(b, t, h, -1).transpose(1, 2).contiguous().view(b * h, t, -1)
        k = k.view(b, t, h, -1).transpose(1, 2).contiguous().view(b * h, t, -1)
        v = v.view(b, t, h, -1).transpose(1, 2).contiguous().view(b * h, t, -1)
        att = torch.bmm(q, k.transpose(1, 2)) * (1.0 / float(hd) ** 0.5)
        att = self.drop(torch.softmax(att, dim=-1))
        y = torch.bmm(att, v).view(b, h, t, -1).transpose(1, 2).contiguous().view(b, t, -1)
        x = x + self.drop(self.proj(y))
        return x + self.ff(self.ln2(x))


class Zoo(nn.Module):
    """Many operators in one traced module with two inputs and two outputs."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 8, 3, padding=1)
        self.emb = nn.Embedding(10, 6)
        self.fc = nn.Linear(6, 6)
        self.w = nn.Parameter(torch.randn(6, 5) * 0.3)
        self.b = nn.Parameter(torch.randn(5) * 0.1)

    def forward(self, x, ids):
        y = torch.relu_(self.conv(x))
        y += nn.functional.hardtanh(y, -0.5, 0.5)
        a = nn.functional.max_pool2d(y, 3, 2, ceil_mode=True)
        p = nn.functional.avg_pool2d(y, 2)
        q = nn.functional.adaptive_avg_pool2d(y, (2, 2))
        z = torch.cat([a.flatten(2), p.flatten(2)], dim=2).permute(0, 2, 1).unsqueeze(1).squeeze(1)
        s0, s1 = torch.split(z, [3, 5], dim=2)
        z = torch.stack([s0.sum(dim=2), s1.mean(dim=2)], dim=1).select(1, 0)[:, 2:10]
        e = self.emb(ids)
        e = (nn.functional.gelu(self.fc(e), approximate="tanh") + nn.functional.silu(e) + nn.functional.hardswish(e)
             + torch.sigmoid(e) * torch.tanh(e) + nn.functional.relu6(e) - nn.functional.leaky_relu(e, 0.2))
        m = torch.addmm(self.b, e.reshape(-1, 6), self.w)
        m = torch.mm(m.t(), m)
        m = torch.log_softmax(m, dim=1) + torch.amax(m, dim=0, keepdim=True)
        r = m.sum() + z.max() + q.mean() + e.view(2, -1).max(dim=1)[0].sum()
        return m * r, torch.matmul(z, z.t()).unbind(0)[0]


class Scripted(nn.Module):
    """Scripted: loops with trip counts and conditions known at compile time."""

    use_norm: bool

    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(8, 8) for _ in range(3)])
        self.norm = nn.LayerNorm(8)
        self.use_norm = True
        self.repeats = 2

    def forward(self, x):
        for layer in self.layers:
            x = torch.relu(layer(x))
        for i in range(self.repeats):
            x = x + 0.5 * x * float(i)
        if self.use_norm:
            x = self.norm(x)
        if x.dim() == 2:
            x = x * 2.0
        else:
            x = x - 1.0
        n = x.size(0)
        k = 0
        while k < n:
            x = x + 1.0
            k += 1
        return shift(x, 0.5)


class Branch(nn.Module):
    """Data-dependent branches: a submodule call in one, a number that
    differs between them, an in-place update and a nested branch."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x):
        if x.sum() > 0:
            y = self.fc(x)
            k = 2
        else:
            y = torch.relu(x) - 1.0
            k = 3
        z = x.clone()
        if bool(x.max() < 1.0):
            z.add_(1.0)
            if bool(y.max() > 0.2):
                y = y * k
        return y + z

    @staticmethod
    def paths(model, x):
        """Which side each `if` takes (then, else) for input x, as PyTorch runs it."""
        pos = bool(x.sum() > 0)
        y = model.fc(x) if pos else torch.relu(x) - 1.0
        low = bool(x.max() < 1.0)
        return {"if1": pos, "if2": low, "if3": low and bool(y.max() > 0.2)}


class DLoop(nn.Module):
    """Data-dependent loops: `for i in range(int(n))` over a submodule call
    and a `while` on a tensor's value counting in a number."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x, n):
        acc = x * 0.0
        for i in range(int(n)):
            acc = acc + torch.tanh(self.fc(x + acc)) * (i + 1)
        halvings = 0
        while bool(acc.abs().sum() > 4.0):
            acc = acc * 0.5
            halvings += 1
        return acc + halvings

    @staticmethod
    def paths(model, args):
        """The trip count of each loop for inputs (x, n)."""
        x, n = args
        acc = x * 0.0
        for i in range(int(n)):
            acc = acc + torch.tanh(model.fc(x + acc)) * (i + 1)
        halvings = 0
        while bool(acc.abs().sum() > 4.0):
            acc = acc * 0.5
            halvings += 1
        return {"for": int(n), "while": halvings}


class Control(nn.Module):
    """A data-dependent `while` holding a data-dependent `if` with a
    submodule call in one branch and a free function in the other."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x):
        y = x
        steps = 0
        while bool(y.abs().sum() < 40.0):
            if bool(y.sum() > 0):
                y = y * 2.0 + torch.tanh(self.fc(y))
            else:
                y = shift(y, -1.5)
            steps += 1
        return y * steps

    @staticmethod
    def paths(model, x):
        y, steps, sides = x, 0, set()
        while bool(y.abs().sum() < 40.0):
            sides.add(bool(y.sum() > 0))
            y = y * 2.0 + torch.tanh(model.fc(y)) if bool(y.sum() > 0) else y + 1.5
            steps += 1
        return {"while": steps, "then": True in sides, "else": False in sides}


class Halve(nn.Module):
    """A `break` in a data-dependent loop: TorchScript writes it as a
    condition; refused_break.pt has the code edited to a real `break`."""

    def forward(self, x):
        y = x
        while bool(y.sum() < 10.0):
            y = y * 2.0
            if bool(y.max() > 5.0):
                break
        return y


class Optional_(nn.Module):
    """A variable that is a tensor in one branch and None in the other."""

    def forward(self, x):
        z: Optional[torch.Tensor] = None
        if bool(x.sum() > 0):
            z = x * 2.0
        if z is None:
            return x
        return z


class Unsupported(nn.Module):
    """An operator aotc does not have (the error names it and its line)."""

    def forward(self, x):
        return torch.erfinv(torch.tanh(x) * 0.5)


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
    if name == "attn":
        return Attn(), [torch.randn(2, 8, 32, generator=gen)]
    if name == "zoo":
        return Zoo(), [(torch.randn(1, 4, 8, 8, generator=gen), torch.randint(0, 10, (2, 5), generator=gen))]
    if name == "scripted":
        return Scripted(), [torch.randn(3, 8, generator=gen)]
    if name == "encoder":
        layer = nn.TransformerEncoderLayer(32, 4, dim_feedforward=64, dropout=0.0, batch_first=True)
        return layer, [torch.randn(2, 8, 32, generator=gen)]
    if name == "unsupported":
        return Unsupported(), [torch.randn(2, 3, generator=gen)]
    if name == "branch":
        x = torch.randn(2, 8, generator=gen)
        return Branch(), [x.abs() + 0.5, -x.abs() - 0.5, x.abs() * 0.01 + 0.01, x.abs() * 4.0 + 3.0]
    if name == "dloop":
        x = torch.randn(2, 8, generator=gen)
        return DLoop(), [(x, torch.tensor(n)) for n in (0, 1, 4)]
    if name == "control":
        x = torch.randn(2, 8, generator=gen)
        return Control(), [x.abs() * 5.0 + 5.0, -x.abs() * 0.5, x.abs() * 0.3]
    if name == "refused":
        return Halve(), [torch.randn(2, 3, generator=gen)]
    if name in LARGE:
        import torchvision.models as tvm
        return randomise(models, getattr(tvm, name)(), gen), [torch.randn(1, 3, 224, 224, generator=gen)]
    raise SystemExit(f"make_fixtures: unknown model '{name}'")


def save_npy(outdir, name, t):
    t = t.detach()
    if t.dtype in (torch.float16, torch.bfloat16):
        t = t.float()
    np.save(os.path.join(outdir, name), t.contiguous().numpy())


def save_archives(name, model, x, outdir, kinds=None):
    args = x if isinstance(x, tuple) else (x,)
    if kinds:
        for kind in kinds:
            module = {"traced": lambda: torch.jit.trace(model, args),
                      "frozen": lambda: torch.jit.freeze(torch.jit.trace(model, args)),
                      "scripted": lambda: torch.jit.script(model)}[kind]()
            torch.jit.save(module, os.path.join(outdir, f"{name}_{kind}.pt"))
        return
    if name in ("loop", "tensors", "attrs", "scripted") or name in CONTROL:
        scripted = torch.jit.script(model)
        archives = {"scripted": scripted}
        if name in ("loop", "scripted") or name in CONTROL:
            archives["frozen"] = torch.jit.freeze(torch.jit.script(model))
    elif name == "refused":
        archives = {"optional": torch.jit.script(Optional_()), "break": torch.jit.script(model)}
    elif name == "encoder":
        archives = {"traced": torch.jit.trace(model, args)}
        model.train()
        archives["train"] = torch.jit.trace(model, args)
        model.eval()
    else:
        traced = torch.jit.trace(model, args)
        archives = {"traced": traced, "frozen": torch.jit.freeze(torch.jit.trace(model, args))}
        if name in LARGE:
            archives["scripted"] = torch.jit.script(model)
    for kind, module in archives.items():
        path = os.path.join(outdir, f"{name}_{kind}.pt")
        torch.jit.save(module, path)
        if name == "refused" and kind == "break":
            with_real_break(path)
        with open(path[:-3] + ".ops.txt", "w") as f:
            f.write(operator_line(path) + "\n")


def with_real_break(path):
    """The archive at path with its code's `_1 = False` (how TorchScript
    writes a `break`) turned back into a `break` statement."""
    with zipfile.ZipFile(path) as z:
        items = [(info, z.read(info.filename)) for info in z.infolist()]
    with zipfile.ZipFile(path, "w") as z:
        for info, data in items:
            if info.filename.endswith("code/__torch__.py"):
                assert b"_1 = False" in data, data
                data = data.replace(b"_1 = False", b"break")
            z.writestr(info, data, compress_type=info.compress_type)


def run_lines(outdir, name, x, y, suffix):
    """The two lines of NAME.run for one input set: the inputs (ARG=FILE)
    and the outputs (NAME=FILE), their files written."""
    args = x if isinstance(x, tuple) else (x,)
    names = ARGS.get(name, ["x"])
    ins = []
    for k, (arg, t) in enumerate(zip(names, args)):
        file = f"{name}.input{suffix}.npy" if k == 0 else f"{name}.{arg}{suffix}.npy"
        save_npy(outdir, file, t)
        ins.append(f"{arg}={file}")
    ys = y if isinstance(y, tuple) else (y,)
    outs = []
    for k, t in enumerate(ys):
        out = "output" if len(ys) == 1 else f"output{k}"
        save_npy(outdir, f"{name}.{out}{suffix}.npy", t)
        outs.append(f"{out}={name}.{out}{suffix}.npy")
    return " ".join(ins) + "\n" + " ".join(outs) + "\n"


def write_run(outdir, name, sets):
    """NAME.run: per input set (x, PyTorch's y), a line of inputs (ARG=FILE)
    and a line of outputs (NAME=FILE) of `aotc run` on the archives of NAME,
    for tests/torchscript/run_models.sh."""
    with open(os.path.join(outdir, f"{name}.run"), "w") as f:
        for k, (x, y) in enumerate(sets):
            f.write(run_lines(outdir, name, x, y, "" if k == 0 else str(k + 1)))


def check_paths(name, model, inputs):
    """Every side of every data-dependent `if` is taken and loops run 0, 1
    and several times over the input sets (PyTorch's own run decides)."""
    paths = [type(model).paths(model, x) for x in inputs]
    print(f"{name}: {paths}")
    if name == "branch":
        assert all(any(p[k] == side for p in paths) for k in paths[0] for side in (True, False)), paths
    if name == "dloop":
        assert {p["for"] for p in paths} >= {0, 1, 4} and {p["while"] for p in paths} >= {0}, paths
        assert any(p["while"] == 1 for p in paths) or any(p["while"] > 1 for p in paths), paths
    if name == "control":
        assert any(p["while"] == 0 for p in paths) and any(p["while"] > 1 for p in paths), paths
        assert any(p["then"] for p in paths) and any(p["else"] for p in paths), paths


def make(name, models, outdir, kinds=None):
    torch.manual_seed(1234)
    gen = torch.Generator().manual_seed(4321)
    model, inputs = build(name, models, gen)
    model.eval()
    with torch.no_grad():
        save_archives(name, model, inputs[0], outdir, kinds)
        if name in RUN or name in LARGE:
            sets = inputs if name in CONTROL else inputs[:1]
            write_run(outdir, name, [(x, model(*x) if isinstance(x, tuple) else model(x)) for x in sets])
        if name in CONTROL and name != "loop":
            check_paths(name, model, inputs)
        for k, x in enumerate(inputs):
            if isinstance(x, tuple):
                continue
            suffix = "" if k == 0 else str(k + 1)
            save_npy(outdir, f"{name}.input{suffix}.npy", x)
            save_npy(outdir, f"{name}.output{suffix}.npy", model(x))
    if name == "tensors":
        for buf_name, buf in model.named_buffers():
            save_npy(outdir, f"tensors.{buf_name}.npy", buf)


def write_batch(outdir, name):
    """NAME.batch3.input.npy / .output.npy: the traced archive run by torch on
    a batch of 3, for the size-generic (--shape x=N,...) test."""
    module = torch.jit.load(os.path.join(outdir, f"{name}_traced.pt"))
    first = np.load(os.path.join(outdir, f"{name}.input.npy"))
    gen = torch.Generator().manual_seed(99)
    x = torch.randn(3, *first.shape[1:], generator=gen)
    with torch.no_grad():
        save_npy(outdir, f"{name}.batch3.input.npy", x)
        save_npy(outdir, f"{name}.batch3.output.npy", module(x))


def main():
    args = sys.argv[1:]
    if args and args[0] == "--batch":
        outdir = os.path.join(HERE, "fixtures", "torch-" + ".".join(torch.__version__.split("+")[0].split(".")[:2]))
        for name in args[1:] or DYNAMIC:
            write_batch(outdir, name)
        return
    version = ".".join(torch.__version__.split("+")[0].split(".")[:2])
    outdir = args.pop(0) if args and args[0].split(":")[0] not in ALL + LARGE else os.path.join(HERE, "fixtures", f"torch-{version}")
    os.makedirs(outdir, exist_ok=True)
    torch.set_num_threads(2)
    models = load_models_module()
    for arg in args or ALL:
        name, _, kinds = arg.partition(":")
        make(name, models, outdir, kinds.split(",") if kinds else None)
        if name in DYNAMIC and not kinds:
            write_batch(outdir, name)
    with open(os.path.join(outdir, "VERSION"), "w") as f:
        f.write(f"torch {torch.__version__}, numpy {np.__version__}, python {sys.version.split()[0]}\n")
    print(f"{outdir}: torch {torch.__version__}")


if __name__ == "__main__":
    main()
