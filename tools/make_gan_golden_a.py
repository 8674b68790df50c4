#!/usr/bin/python3
"""Golden values for upfirdn2d, pixel_norm and minibatch_stddev.

Transcribes the official StyleGAN2-ADA reference implementations
(torch_utils/ops/upfirdn2d.py `_upfirdn2d_ref`, training/networks.py
`normalize_2nd_moment` and `MinibatchStdLayer`) in PyTorch, runs them in
float64 on fixed random inputs, and stores inputs, outputs and the input
gradient for a fixed upstream gradient in tests/data/gan_golden_a.bin
(safetensors layout, written with struct + json).

Usage: /usr/bin/python3 tools/make_gan_golden_a.py [out.bin]
"""
import os

import interrupts  # noqa: E402  (standard library only)
if __name__ == "__main__":
    interrupts.die_by_signals()  # Ctrl-C, SIGTERM: no traceback, exit status 128 + signal
import pydeps  # noqa: E402  (standard library only: one line, not a traceback, without PyTorch)
if __name__ == "__main__":  # the command line first: --help and a bad flag need neither NumPy nor PyTorch
    default = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "tests", "data", "gan_golden_a.bin")
    OUT = pydeps.output_file(__doc__, default)

pydeps.require("make_gan_golden_a", "numpy", "torch")

import torch
import torch.nn.functional as F

from golden_io import write_safetensors
from stylegan2_reference import upfirdn2d as upfirdn2d_ref


def pixel_norm_ref(x, dim=1, eps=1e-8):
    """The official normalize_2nd_moment."""
    return x * (x.square().mean(dim=dim, keepdim=True) + eps).rsqrt()


def minibatch_stddev_ref(x, group_size, num_channels):
    """The official MinibatchStdLayer.forward."""
    N, C, H, W = x.shape
    G = min(group_size, N)
    Fc = num_channels
    c = C // Fc
    y = x.reshape(G, -1, Fc, c, H, W)
    y = y - y.mean(dim=0)
    y = y.square().mean(dim=0)
    y = (y + 1e-8).sqrt()
    y = y.mean(dim=[2, 3, 4])
    y = y.reshape(-1, Fc, 1, 1)
    y = y.repeat(G, 1, H, W)
    return torch.cat([x, y], dim=1)


def setup_filter(taps, separable=False):
    f = torch.as_tensor(taps, dtype=torch.float64)
    if not separable:
        f = f.ger(f)
    return f / f.sum()


tensors = {}


def record(prefix, fn, x, **extra):
    """Stores x, fn(x), a fixed upstream gradient gy and d<fn(x), gy>/dx under prefix."""
    x = x.clone().requires_grad_(True)
    y = fn(x)
    gy = torch.randn(y.shape, dtype=torch.float64)
    (gx,) = torch.autograd.grad(y, x, gy)
    tensors[prefix + ".x"] = x.detach()
    tensors[prefix + ".y"] = y.detach()
    tensors[prefix + ".gy"] = gy
    tensors[prefix + ".gx"] = gx
    for k, v in extra.items():
        tensors[prefix + "." + k] = v


def main(out):
    out = os.path.normpath(out)
    torch.manual_seed(2024)
    d = torch.float64

    # upfirdn2d: the upsample2d configuration of StyleGAN2 (4x4 [1,3,3,1], up 2, gain 4).
    f = setup_filter([1, 3, 3, 1])
    record("up2", lambda x: upfirdn2d_ref(x, f, up=(2, 2), pad=(2, 1, 2, 1), gain=4.0),
           torch.randn(2, 3, 5, 6, dtype=d), f=f)
    # Down 2 with an asymmetric filter (catches a missing flip) and a cropping pad.
    f = torch.randn(3, 2, dtype=d)
    record("down2", lambda x: upfirdn2d_ref(x, f, down=(2, 2), pad=(1, -1, 0, 2)), torch.randn(2, 3, 8, 7, dtype=d),
           f=f)
    # Up 3, down 2, mixed pads, correlation, a gain.
    f = torch.randn(3, 3, dtype=d)
    record("updown", lambda x: upfirdn2d_ref(x, f, up=(3, 3), down=(2, 2), pad=(-1, 2, 1, 0), flip_filter=True,
                                             gain=1.5), torch.randn(1, 2, 6, 5, dtype=d), f=f)
    # Anisotropic: up 2 along x only, down 2 along y only.
    f = torch.randn(2, 3, dtype=d)
    record("aniso", lambda x: upfirdn2d_ref(x, f, up=(2, 1), down=(1, 2), pad=(1, 1, 0, 1)),
           torch.randn(1, 2, 7, 4, dtype=d), f=f)
    # A separable 1-D filter (two passes in the reference).
    f = torch.randn(3, dtype=d)
    record("sep", lambda x: upfirdn2d_ref(x, f, pad=(1, 1, 1, 1), gain=2.0), torch.randn(2, 2, 5, 5, dtype=d), f=f)

    record("pn_nchw", lambda x: pixel_norm_ref(x, 1), torch.randn(3, 5, 4, 4, dtype=d))
    record("pn_z", lambda x: pixel_norm_ref(x, 1), torch.randn(4, 16, dtype=d))

    record("mbstd_g4f2", lambda x: minibatch_stddev_ref(x, 4, 2), torch.randn(8, 6, 3, 3, dtype=d))
    record("mbstd_gN", lambda x: minibatch_stddev_ref(x, 8, 1), torch.randn(4, 3, 2, 2, dtype=d))

    size = write_safetensors(out, tensors, {"source": "tools/make_gan_golden_a.py", "torch": torch.__version__})
    print(f"wrote {out}: {len(tensors)} tensors, {size} bytes")


if __name__ == "__main__":
    main(OUT)
