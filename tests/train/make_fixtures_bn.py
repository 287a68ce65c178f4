#!/usr/bin/python3
"""make_fixtures_bn.py: PyTorch fixtures for the training-mode cases of
tests/train/run.sh (batch normalisation with batch statistics, dropout).

cnnbn.onnx: a small CNN with two BatchNorm2d layers (random running
statistics), exported in eval mode without folding; for the cases
cnnbn_sgd and cnnbn_adam, PyTorch's model.train() steps give the updated
parameters AND running statistics (<case>/<name>.npy, '.' as '_') and the
losses. drop.onnx / drop0.onnx: y = Dropout(x * w) with ratio 0.5 / 0 (the
Dropout node added by hand: an eval-mode export drops it); masks are
compared with PyTorch only statistically, since the generators differ by
design (tests/train/run.sh checks the keep fraction against binomial
bounds). Run with /usr/bin/python3 (torch 1.13) from this folder; the
results are committed, tests need no Python."""
import copy
import os
import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto
import torch
import torch.nn as nn

here = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(3)


class CNNBN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1, bias=False)  # a bias before BN has a zero gradient: Adam would amplify rounding noise
        self.bn1 = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 6, 3, stride=2, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(6)
        self.fc = nn.Linear(6 * 2 * 2, 5)
        with torch.no_grad():
            for bn in (self.bn1, self.bn2):
                bn.running_mean.uniform_(-0.5, 0.5)
                bn.running_var.uniform_(0.5, 2)
                bn.weight.uniform_(0.5, 1.5)
                bn.bias.uniform_(-0.2, 0.2)

    def forward(self, x):
        x = torch.max_pool2d(torch.relu(self.bn1(self.conv1(x))), 2)
        x = torch.tanh(self.bn2(self.conv2(x)))
        return self.fc(torch.flatten(x, 1))


CASES = [
    ("cnnbn_sgd", "sgd", dict(lr=0.05, momentum=0.9), 2),
    ("cnnbn_adam", "adam", dict(lr=1e-2), 2),
]


def run_case(model, x, target, opt, kwargs, steps, out):
    model = copy.deepcopy(model)
    model.train()
    optim = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam}[opt](model.parameters(), **kwargs)
    losses = []
    for _ in range(steps):
        optim.zero_grad()
        l = nn.functional.cross_entropy(model(torch.tensor(x)), torch.tensor(target))
        l.backward()
        optim.step()
        losses.append(l.item())
    os.makedirs(out, exist_ok=True)
    np.save(os.path.join(out, "loss.npy"), np.array(losses, np.float32))
    for name, p in model.named_parameters():
        np.save(os.path.join(out, name.replace(".", "_") + ".npy"), p.detach().numpy())
    for name, b in model.named_buffers():
        if "running" in name:
            np.save(os.path.join(out, name.replace(".", "_") + ".npy"), b.numpy())


def dropout_model(name, n, ratio):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, n])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, n])
    w = numpy_helper.from_array(np.ones((1, n), np.float32), "w")
    r = numpy_helper.from_array(np.array(ratio, np.float32), "ratio")
    nodes = [helper.make_node("Mul", ["x", "w"], ["xw"]), helper.make_node("Dropout", ["xw", "ratio"], ["y"])]
    g = helper.make_graph(nodes, "drop", [x], [y], [w, r])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(here, name + ".onnx"))


def pytorch_keep_fraction(n, ratio):
    """PyTorch's own keep fraction for the same shape (a statistic, for the docs)."""
    torch.manual_seed(0)
    return float((nn.functional.dropout(torch.ones(n), ratio, training=True) != 0).float().mean())


def main():
    rng = np.random.default_rng(11)
    model = CNNBN().eval()
    x = rng.standard_normal((4, 1, 8, 8)).astype(np.float32)
    torch.onnx.export(model, torch.tensor(x), os.path.join(here, "cnnbn.onnx"), input_names=["x"],
                      output_names=["y"], opset_version=13, do_constant_folding=False,
                      training=torch.onnx.TrainingMode.PRESERVE)
    np.save(os.path.join(here, "cnnbn.x.npy"), x)
    target = rng.integers(0, 5, size=4).astype(np.int64)
    np.save(os.path.join(here, "cnnbn.target_ce.npy"), target)
    for case, opt, kwargs, steps in CASES:
        run_case(model, x, target, opt, kwargs, steps, os.path.join(here, case))
    n = 4096
    dropout_model("drop", n, 0.5)
    dropout_model("drop0", n, 0.0)
    np.save(os.path.join(here, "drop.x.npy"), np.ones((1, n), np.float32))
    np.save(os.path.join(here, "drop.target_mse.npy"), np.zeros((1, n), np.float32))
    print("PyTorch keep fraction, n = %d, p = 0.5: %.4f" % (n, pytorch_keep_fraction(n, 0.5)))


main()
