#!/usr/bin/python3
"""make_models.py: the untrained models of the digits example, exported to
ONNX with torch 1.13 (Debian's python3-torch): an MLP 64-64-10 and a small
CNN (conv 3x3 with 8 channels, ReLU, 2x2 max-pool, conv 3x3 with 16
channels, ReLU, linear 10), PyTorch's default initialisation with seed 0.
Their initializers are the starting weights of examples/train_digits; the
files are committed, the example needs no Python."""
import os
import torch
import torch.nn as nn

here = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(0)

mlp = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
cnn = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                    nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(16 * 4 * 4, 10))
for name, model, shape in (("mlp", mlp, (1, 64)), ("cnn", cnn, (1, 1, 8, 8))):
    torch.onnx.export(model, torch.zeros(shape), os.path.join(here, name + ".onnx"), input_names=["x"],
                      output_names=["logits"], opset_version=13)
