#!/usr/bin/python3
"""Golden values for conv2d and conv_transpose2d from PyTorch.

Writes tests/data/conv_golden.bin (safetensors layout). For every case
<name> it stores the inputs x and w, a fixed upstream gradient gy, and
PyTorch's outputs y, dx = dL/dx and dw = dL/dw for L = sum(y * gy), plus
<name>.params = [stride_h, stride_w, pad_h, pad_w, groups, output_pad_h,
output_pad_w] as float64. Names start with the op. The values are computed in
float64 from the stored inputs, so a float32 case holds the exact answer for
its float32 inputs, rounded once.

Run from the repository root: /usr/bin/python3 tools/make_conv_golden.py [out.bin]
"""
import os

import interrupts  # noqa: E402  (standard library only)
if __name__ == "__main__":
    interrupts.die_by_signals()  # Ctrl-C, SIGTERM: no traceback, exit status 128 + signal
import pydeps  # noqa: E402  (standard library only: one line, not a traceback, without PyTorch)
if __name__ == "__main__":  # the command line first: --help and a bad flag need no PyTorch
    OUT = pydeps.output_file(__doc__, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data",
                                                   "conv_golden.bin"))
pydeps.require("make_conv_golden", "numpy", "torch")

import torch
import torch.nn.functional as F

from golden_io import write_safetensors

# (op, x shape, w shape, stride, padding, groups, output_padding, dtype)
CASES = [
    ("conv2d", (2, 3, 7, 7), (4, 3, 3, 3), (1, 1), (1, 1), 1, (0, 0), torch.float32),
    ("conv2d", (2, 4, 9, 7), (6, 2, 3, 3), (2, 2), (1, 1), 2, (0, 0), torch.float32),  # stride 2, odd input
    ("conv2d", (1, 6, 8, 5), (6, 2, 3, 2), (2, 1), (0, 1), 3, (0, 0), torch.float32),  # per-axis params
    ("conv2d", (2, 5, 4, 4), (3, 5, 1, 1), (1, 1), (0, 0), 1, (0, 0), torch.float32),  # 1x1
    ("conv2d", (3, 4, 6, 5), (6, 4, 3, 3), (2, 2), (1, 1), 1, (0, 0), torch.float64),
    ("conv_transpose2d", (2, 4, 5, 5), (4, 3, 3, 3), (2, 2), (1, 1), 1, (1, 1), torch.float32),
    ("conv_transpose2d", (1, 4, 4, 3), (4, 2, 4, 4), (2, 2), (0, 0), 2, (1, 0), torch.float32),
    ("conv_transpose2d", (2, 3, 6, 6), (3, 5, 3, 3), (1, 1), (1, 1), 1, (0, 0), torch.float32),
    ("conv_transpose2d", (2, 6, 3, 4), (6, 1, 3, 3), (3, 2), (1, 0), 3, (2, 1), torch.float64),
]



def run_case(op, xs, ws, stride, padding, groups, output_padding, dtype):
    x = torch.randn(xs, dtype=dtype)
    w = torch.randn(ws, dtype=dtype)
    x64 = x.to(torch.float64, copy=True).requires_grad_()
    w64 = w.to(torch.float64, copy=True).requires_grad_()
    if op == "conv2d":
        y = F.conv2d(x64, w64, stride=stride, padding=padding, groups=groups)
    else:
        y = F.conv_transpose2d(x64, w64, stride=stride, padding=padding, output_padding=output_padding,
                               groups=groups)
    gy = torch.randn(y.shape, dtype=dtype)
    dx, dw = torch.autograd.grad(y, (x64, w64), gy.double())
    params = torch.tensor([*stride, *padding, groups, *output_padding], dtype=torch.float64)
    return {"x": x, "w": w, "gy": gy, "y": y.detach().to(dtype), "dx": dx.to(dtype), "dw": dw.to(dtype),
            "params": params}


def main(path):
    torch.manual_seed(2024)
    tensors = {}
    for i, case in enumerate(CASES):
        for key, t in run_case(*case).items():
            tensors[f"{case[0]}_{i}.{key}"] = t
    write_safetensors(os.path.normpath(path), tensors)
    print(f"wrote {len(tensors)} tensors, {os.path.getsize(path)} bytes to {os.path.normpath(path)}")


if __name__ == "__main__":
    main(OUT)
