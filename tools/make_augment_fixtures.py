#!/usr/bin/python3
"""Writes tests/data/augment_pipe.bin: StyleGAN2-ADA's augmentation pipeline
(tools/augment_reference.py) on small batches, with every random draw, for
tests/test_augment_pipe.cpp, which replays the draws through
gf::AugmentPipe and compares.

Case k (metadata "cases", a JSON list of {k, name, pipe, p, shape}) holds
(float32):
  mb<k>/aug/<draw>: the draws, named as train/augment_pipe.h lists them,
    drawn with the official distributions (torch.rand, torch.randn);
  case<k>/images [N, C, H, W]: the input;
  case<k>/w: a fixed random weight the shape of the output;
  case<k>/out: the augmented images;
  case<k>/grad: the gradient of sum(out * w) with respect to the images.
One case ("second", metadata "second" = its k) adds a second-order quantity,
as R1 forms it through the pipe: with a tiny discriminator
D(y) = sum(a * softplus(y)) (a = case<k>/w) and r = |dD(aug(x))/dx|^2,
  case<k>/dr_da = dr/da and case<k>/dr_dx = dr/dx.
Expected values are computed in float64 from the float32 inputs and draws,
with the pipe's parameters in float32 as the official code computes them,
and rounded once.

Run from the repository root: /usr/bin/python3 tools/make_augment_fixtures.py
"""
import json
import os

import interrupts  # noqa: E402  (standard library only)
if __name__ == "__main__":
    interrupts.die_by_signals()  # Ctrl-C, SIGTERM: no traceback, exit status 128 + signal
import pydeps  # noqa: E402  (standard library only: one line, not a traceback, without PyTorch)
pydeps.require("make_augment_fixtures", "numpy", "torch")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import augment_reference as ref  # noqa: E402
from golden_io import write_safetensors  # noqa: E402

# (name, augpipe, p, [N, C, H, W]): every family alone, the full pipes at
# p = 1, 0.5 and 0, one and three channels, non-square images.
CASES = [
    ("bgc_p1", "bgc", 1.0, [3, 3, 12, 16]),
    ("bgc_p05", "bgc", 0.5, [4, 1, 16, 12]),
    ("bgc_p0", "bgc", 0.0, [2, 3, 12, 16]),
    ("blit", "blit", 1.0, [4, 3, 10, 8]),
    ("geom", "geom", 1.0, [3, 1, 12, 14]),
    ("color", "color", 1.0, [4, 3, 8, 10]),
    ("color_l", "color", 1.0, [4, 1, 8, 8]),
    ("filter", "filter", 1.0, [3, 1, 22, 24]),
    ("noise", "noise", 1.0, [3, 3, 8, 10]),
    ("cutout", "cutout", 1.0, [3, 3, 10, 8]),
    ("bgcfnc", "bgcfnc", 1.0, [2, 3, 24, 22]),
]
SECOND = "bgc_p1"


def main():
    default = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data"))
    parser = pydeps.OneLineParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--outdir", default=default, help="where augment_pipe.bin goes (default tests/data)")
    args = parser.parse_args()
    torch.manual_seed(2025)
    tensors, cases = {}, []
    for k, (name, pipe, p, shape) in enumerate(CASES):
        aug = ref.AugmentPipeRef(p=p, **ref.spec_kwargs(pipe))
        drawn = {}

        def draw(dname, dshape, kind):
            t = ref.fresh_draw(dname, dshape, kind)
            drawn[dname] = t
            return t

        def replay(dname, dshape, kind):
            return drawn[dname]

        images = torch.randn(shape)
        out32 = aug.forward(images, draw)  # float32 pass: draws the numbers
        x = images.double().requires_grad_()
        out = aug.forward(x, replay)
        w = torch.randn(out.shape)
        grad, = torch.autograd.grad(out, x, w.double())
        assert (out.detach().float() - out32).abs().max() <= 1e-4 * out32.abs().max(), name
        assert [n for n, _, _ in ref.draws(aug.spec, *shape)] == list(drawn), name
        for dname, t in drawn.items():
            tensors[f"mb{k}/aug/{dname}"] = t
        tensors[f"case{k}/images"] = images
        tensors[f"case{k}/w"] = w
        tensors[f"case{k}/out"] = out.detach().float()
        tensors[f"case{k}/grad"] = grad.float()
        if name == SECOND:
            a = w.double().requires_grad_()
            x = images.double().requires_grad_()
            d_real = (a * F.softplus(aug.forward(x, replay))).sum()
            g, = torch.autograd.grad(d_real, x, create_graph=True)
            r = g.square().sum()
            dr_da, dr_dx = torch.autograd.grad(r, (a, x))
            tensors[f"case{k}/dr_da"] = dr_da.float()
            tensors[f"case{k}/dr_dx"] = dr_dx.float()
        cases.append({"k": k, "name": name, "pipe": pipe, "p": p, "shape": shape})
    meta = {"cases": json.dumps(cases), "second": str(CASES.index(next(c for c in CASES if c[0] == SECOND)))}
    path = os.path.join(args.outdir, "augment_pipe.bin")
    size = write_safetensors(path, tensors, meta)
    print(f"wrote {len(tensors)} tensors, {size} bytes to {path}")


if __name__ == "__main__":
    main()
