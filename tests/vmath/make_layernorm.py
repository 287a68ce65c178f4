"""make_layernorm.py: tests/vmath/layernorm.onnx as torch 1.13 exports it
(opset 13: layer norm decomposed into ReduceMean .. Sqrt, Div, Mul, Add),
its input and PyTorch's output. Two layer norms over the last dimension
(one with scale and bias, one over the last two dimensions without) and a
residual add that reads the input again. Run once with /usr/bin/python3;
the files are committed."""
import os
import numpy as np
import torch

here = os.path.dirname(os.path.abspath(__file__))


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1 = torch.nn.LayerNorm(16)
        self.ln2 = torch.nn.LayerNorm([5, 16], elementwise_affine=False)
        with torch.no_grad():
            self.ln1.weight.uniform_(0.5, 1.5)
            self.ln1.bias.uniform_(-0.5, 0.5)

    def forward(self, x):
        return self.ln2(self.ln1(x) + x) * 3.0


torch.manual_seed(7)
net = Net().eval()
x = torch.randn(2, 5, 16) * 4 + 1
torch.onnx.export(net, x, os.path.join(here, "layernorm.onnx"), opset_version=13, input_names=["x"],
                  output_names=["y"])
np.save(os.path.join(here, "layernorm.input.npy"), x.numpy())
np.save(os.path.join(here, "layernorm.output.npy"), net(x).detach().numpy())
