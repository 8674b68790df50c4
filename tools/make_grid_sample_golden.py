#!/usr/bin/python3
"""Golden values for affine_grid_sample from PyTorch.

StyleGAN2-ADA's geometric augmentation (training/augment.py) samples with
grid = F.affine_grid(theta, [N, C, out_h, out_w], align_corners=False) and
F.grid_sample(x, grid, mode='bilinear', padding_mode='zeros',
align_corners=False). For every case <name> this stores the inputs x and
theta, a fixed weight w, torch's output y and gx = dL/dx for L = sum(y * w),
in tests/data/grid_sample_golden.bin (safetensors layout). Each case runs in
its own dtype (coordinates too, as in training), so a float32 case holds
torch's float32 answer.

Run from the repository root: /usr/bin/python3 tools/make_grid_sample_golden.py [out.bin]
"""
import math
import os

import interrupts  # noqa: E402  (standard library only)
if __name__ == "__main__":
    interrupts.die_by_signals()  # Ctrl-C, SIGTERM: no traceback, exit status 128 + signal
import pydeps  # noqa: E402  (standard library only: one line, not a traceback, without PyTorch)
if __name__ == "__main__":  # the command line first: --help and a bad flag need neither NumPy nor PyTorch
    default = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "grid_sample_golden.bin")
    OUT = pydeps.output_file(__doc__, default)

pydeps.require("make_grid_sample_golden", "numpy", "torch")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from golden_io import write_safetensors  # noqa: E402


def rotation(a, sx=1.0, sy=1.0, tx=0.0, ty=0.0, shear=0.0):
    c, s = math.cos(a), math.sin(a)
    return [[c * sx, -s * sy + shear, tx], [s * sx, c * sy, ty]]


# (name, x shape, out size, one 2x3 theta per sample (or one for all), dtype)
CASES = [
    ("identity", (2, 3, 8, 8), (8, 8), [[[1, 0, 0], [0, 1, 0]]], torch.float32),
    ("flip", (1, 2, 6, 7), (6, 7), [[[-1, 0, 0], [0, 1, 0]]], torch.float32),
    ("flip_y", (1, 1, 5, 6), (5, 6), [[[1, 0, 0], [0, -1, 0]]], torch.float32),
    ("rotate", (1, 2, 9, 7), (9, 7), [rotation(0.3)], torch.float32),
    ("aniso", (1, 2, 6, 10), (6, 10), [[[1.3, 0, 0], [0, 0.7, 0]]], torch.float32),
    ("translate_out", (1, 2, 7, 7), (7, 7), [[[1, 0, 0.6], [0, 1, -0.9]]], torch.float32),
    ("resize", (2, 1, 5, 7), (9, 4), [rotation(-0.7, 1.2, 0.8, 0.1, -0.2, 0.3)], torch.float32),
    ("batch", (3, 2, 8, 6), (7, 9),
     [rotation(0.5, 0.9, 1.1, 0.05, 0.1), rotation(2.0, 1.4, 1.4, -0.3, 0.2), rotation(-1.2, 0.6, 0.5, 0.0, -0.1, 0.2)],
     torch.float32),
    ("zoom_in", (1, 2, 6, 6), (12, 11), [rotation(0.2, 0.3, 0.35, 0.05, 0.1)], torch.float32),
    ("general_f64", (2, 2, 7, 8), (6, 9), [rotation(0.8, 1.1, 0.9, 0.2, -0.1, 0.1), rotation(-2.5, 0.7, 1.3, -0.4)],
     torch.float64),
]


def run_case(xs, out_hw, thetas, dtype):
    n, c = xs[0], xs[1]
    x = torch.randn(xs, dtype=dtype)
    theta = torch.tensor(thetas * n if len(thetas) == 1 else thetas, dtype=dtype)
    xg = x.clone().requires_grad_()
    grid = F.affine_grid(theta, [n, c, *out_hw], align_corners=False)
    y = F.grid_sample(xg, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    w = torch.randn(y.shape, dtype=dtype)
    (gx,) = torch.autograd.grad((y * w).sum(), xg)
    return {"x": x, "theta": theta, "w": w, "y": y.detach(), "gx": gx}


def main(out):
    torch.manual_seed(2026)
    tensors = {}
    for name, xs, out_hw, thetas, dtype in CASES:
        for key, t in run_case(xs, out_hw, thetas, dtype).items():
            tensors[f"{name}.{key}"] = t
    out = os.path.normpath(out)
    size = write_safetensors(out, tensors)
    print(f"wrote {len(tensors)} tensors, {size} bytes to {out}")


if __name__ == "__main__":
    main(OUT)
