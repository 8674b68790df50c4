#!/usr/bin/python3
"""Golden values for resize_bilinear's asymmetric coordinates (TF1's
ResizeBilinear, align_corners=False: source = j * in / out), written the way
the FID/IS Inception detector does it, not with the rule itself.

The detector (inception-2015-12-05.pt) resizes with
theta = [[1, 0, 1/W - 1/out_w], [0, 1, 1/H - 1/out_h]], F.affine_grid(theta,
align_corners=False) and F.grid_sample(bilinear, padding_mode='border',
align_corners=False). Runs that in float64 on fixed random inputs (square and
non-square, up and down, to one pixel) and stores the input, the output, a
fixed upstream gradient and the input's gradient in
tests/data/resize_tf1_golden.bin (safetensors layout), so the C++ test also
shows the two formulations agree.

Usage: /usr/bin/python3 tools/make_resize_tf1_golden.py [out.bin]
"""
import os

import interrupts  # noqa: E402  (standard library only)
if __name__ == "__main__":
    interrupts.die_by_signals()  # Ctrl-C, SIGTERM: no traceback, exit status 128 + signal
import pydeps  # noqa: E402  (standard library only: one line, not a traceback, without PyTorch)
pydeps.require("make_resize_tf1_golden", "numpy", "torch")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from golden_io import write_safetensors  # noqa: E402

# (name, input [N, C, H, W], output (H', W'))
CASES = (("up", (2, 3, 5, 7), (9, 13)), ("down", (1, 2, 9, 8), (4, 3)), ("mixed", (1, 2, 6, 3), (4, 7)),
         ("one", (1, 1, 3, 5), (1, 2)), ("from_one", (1, 1, 1, 4), (3, 2)), ("odd", (1, 1, 13, 11), (31, 29)))


def tf1_resize(x, out_h, out_w):
    """The detector's resize: TF1's rule through affine_grid + grid_sample (border)."""
    n, c, h, w = x.shape
    theta = torch.eye(2, 3, dtype=x.dtype).unsqueeze(0).repeat(n, 1, 1)
    theta[:, 0, 2] += 1 / w - 1 / out_w  # x (width) first, as affine_grid orders it
    theta[:, 1, 2] += 1 / h - 1 / out_h
    grid = F.affine_grid(theta, [n, c, out_h, out_w], align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def main():
    out = pydeps.output_file(__doc__, os.path.join(os.path.dirname(__file__), "..", "tests", "data",
                                                   "resize_tf1_golden.bin"))
    g = torch.Generator().manual_seed(299)
    t = {}
    for name, shape, (oh, ow) in CASES:
        x = torch.randn(*shape, generator=g, dtype=torch.float64).requires_grad_()
        y = tf1_resize(x, oh, ow)
        gy = torch.randn(*y.shape, generator=g, dtype=torch.float64)
        (gx,) = torch.autograd.grad(y, [x], gy)
        key = "tf1_" + name
        t[key + ".x"], t[key + ".y"], t[key + ".gy"], t[key + ".gx"] = x.detach(), y.detach(), gy, gx
    n = write_safetensors(out, t, {"generator": "tools/make_resize_tf1_golden.py", "torch": torch.__version__})
    print(f"wrote {len(t)} tensors, {n} bytes to {out}")


if __name__ == "__main__":
    main()
