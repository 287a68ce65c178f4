#!/usr/bin/python3
"""make_fixtures.py: PyTorch fixtures for tests/train/run.sh.

Two small models (an MLP and a CNN) exported to ONNX with torch 1.13
(Debian's python3-torch), a batch x and a target, and for each case the
losses and the parameters after a few steps of torch.optim, written to
<case>/loss.npy and <case>/<parameter>.npy (the parameter's name with '.'
as '_', as aotc names it). Run with /usr/bin/python3 from this folder; the
results are committed, tests need no Python."""
import copy
import os
import numpy as np
import torch
import torch.nn as nn

here = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(0)


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(20, 16)
        self.fc2 = nn.Linear(16, 5)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(4, 6, 3, stride=2, padding=1)
        self.fc = nn.Linear(6 * 2 * 2, 5)

    def forward(self, x):
        x = torch.max_pool2d(torch.relu(self.conv1(x)), 2)
        x = torch.tanh(self.conv2(x))
        return self.fc(torch.flatten(x, 1))


class MLPBN(nn.Module):
    """Batch normalisation in eval mode (running statistics, not trained)."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(20, 16)
        self.bn = nn.BatchNorm1d(16)
        self.fc2 = nn.Linear(16, 5)
        with torch.no_grad():
            self.bn.running_mean.uniform_(-0.5, 0.5)
            self.bn.running_var.uniform_(0.5, 2)

    def forward(self, x):
        return self.fc2(torch.relu(self.bn(self.fc1(x))))


CASES = [
    # name, model, loss, optimizer, kwargs, steps
    ("mlp_sgd", "mlp", "cross_entropy", "sgd", dict(lr=0.1, momentum=0.9, weight_decay=1e-3), 3),
    ("mlp_adam", "mlp", "cross_entropy", "adam", dict(lr=1e-2), 3),
    ("mlp_adamw_mse", "mlp", "mse", "adamw", dict(lr=1e-2, weight_decay=0.1), 3),
    ("cnn_sgd", "cnn", "cross_entropy", "sgd", dict(lr=0.05), 1),
    ("cnn_adam", "cnn", "cross_entropy", "adam", dict(lr=1e-3, weight_decay=1e-2), 2),
    ("mlpbn_eval_sgd", "mlpbn", "cross_entropy", "sgd", dict(lr=0.1, momentum=0.5), 2),
]


def export(model, x, name):
    torch.onnx.export(model, x, os.path.join(here, name + ".onnx"), input_names=["x"], output_names=["y"],
                      opset_version=13)


def run_case(model, x, target, loss, opt, kwargs, steps, out):
    model = copy.deepcopy(model)
    model.eval()
    optim = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[opt](
        model.parameters(), **kwargs)
    losses = []
    for _ in range(steps):
        optim.zero_grad()
        y = model(torch.tensor(x))
        if loss == "cross_entropy":
            l = nn.functional.cross_entropy(y, torch.tensor(target))
        else:
            l = nn.functional.mse_loss(y, torch.tensor(target))
        l.backward()
        optim.step()
        losses.append(l.item())
    os.makedirs(out, exist_ok=True)
    np.save(os.path.join(out, "loss.npy"), np.array(losses, np.float32))
    for name, p in model.named_parameters():  # trained ones only: running statistics are buffers
        np.save(os.path.join(out, name.replace(".", "_") + ".npy"), p.detach().numpy())


def main():
    rng = np.random.default_rng(7)
    models = {"mlp": (MLP(), rng.standard_normal((8, 20)).astype(np.float32)),
              "cnn": (CNN(), rng.standard_normal((4, 1, 8, 8)).astype(np.float32)),
              "mlpbn": (MLPBN().eval(), rng.standard_normal((8, 20)).astype(np.float32))}
    for name, (model, x) in models.items():
        export(model, torch.tensor(x), name)
        np.save(os.path.join(here, name + ".x.npy"), x)
        np.save(os.path.join(here, name + ".target_ce.npy"), rng.integers(0, 5, size=x.shape[0]).astype(np.int64))
        np.save(os.path.join(here, name + ".target_mse.npy"), rng.standard_normal((x.shape[0], 5)).astype(np.float32))
    for case, mname, loss, opt, kwargs, steps in CASES:
        model, x = models[mname]
        target = np.load(os.path.join(here, mname + (".target_ce.npy" if loss == "cross_entropy" else ".target_mse.npy")))
        run_case(model, x, target, loss, opt, kwargs, steps, os.path.join(here, case))


main()
