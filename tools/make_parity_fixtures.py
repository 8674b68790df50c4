#!/usr/bin/env python3
"""Writes tests/data/parity_*.bin: reference StyleGAN2-ADA networks
(tools/stylegan2_reference.py) with random weights, converted to ganforge
bundles by tools/convert_weights.py, and beside each an io file with inputs and
the reference outputs, for tests/test_parity.cpp.

Each <name>.bin holds G, D and G_ema (G differs from G_ema) with G_kwargs and
D_kwargs as inferred by the converter (and checked here against the configs
used). <name>_io.bin holds, in float32:
  z [N, z_dim], c [N, c_dim] (conditional fixtures only),
  <case>.img   G_ema (or G) output for each case of the "cases" metadata (JSON:
               name, net, psi, cutoff, noise_mode, rows = the image rows kept,
               or null for all),
  d_real.img, d_real.logits   D on a random image batch (with c when conditional;
                              32x32 fixtures only, so the 256x256 io file stays small),
  d_fake.logits  D on cat([psi1.img, -0.5 * psi1.img]) (c repeated twice).
Outputs are computed in float64 from the float32 weights and rounded once.
Biases, noise strengths, w_avg and the affine biases are randomized so that
every parameter matters; the 256x256 fixture has no noise inputs and keeps only
16 rows of its truncated output, so the files stay small. parity_32x3_orig has
StyleGAN2-ADA's --cfg cifar discriminator architecture 'orig' (no skip layers;
D_kwargs "architecture": "orig"); the others' D is 'resnet'.

--only NAME (repeatable) writes the named fixtures alone; each fixture's seed
is its place in FIXTURES, whichever are written.
"""
import argparse
import copy
import json
import os
import sys
import types

import interrupts  # noqa: E402  (standard library only)
if __name__ == "__main__":
    interrupts.die_by_signals()  # Ctrl-C, SIGTERM: no traceback, exit status 128 + signal
import pydeps  # noqa: E402  (standard library only: one line, not a traceback, without PyTorch)
pydeps.require("make_parity_fixtures", "numpy", "torch")

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import convert_weights as cw  # noqa: E402
import stylegan2_reference as ref  # noqa: E402
from golden_io import write_safetensors  # noqa: E402

FIXTURES = {
    # Grayscale, unconditional; two mbstd channels in groups of 2; no clamp.
    "parity_32x1": dict(
        G=dict(z_dim=16, c_dim=0, w_dim=16, img_resolution=32, img_channels=1, mapping_layers=2,
               mapping_lr_multiplier=0.01, channel_base=128, channel_max=8, conv_clamp=None),
        D=dict(c_dim=0, img_resolution=32, img_channels=1, channel_base=128, channel_max=8, conv_clamp=None,
               mbstd_group_size=2, mbstd_num_channels=2),
        batch=4, cases="small"),
    # RGB with 4 labels; a clamp small enough to be reached; a non-default
    # mapping lr multiplier.
    "parity_32x3_c4": dict(
        G=dict(z_dim=16, c_dim=4, w_dim=16, img_resolution=32, img_channels=3, mapping_layers=3,
               mapping_lr_multiplier=0.05, channel_base=128, channel_max=8, conv_clamp=1.5),
        D=dict(c_dim=4, img_resolution=32, img_channels=3, channel_base=128, channel_max=8, conv_clamp=1.5,
               mbstd_group_size=4, mbstd_num_channels=1, cmap_dim=8, mapping_layers=2),
        batch=4, cases="small"),
    # 256x256 RGB, small channels, no noise inputs; train.py's clamp.
    "parity_256x3": dict(
        G=dict(z_dim=32, c_dim=0, w_dim=32, img_resolution=256, img_channels=3, mapping_layers=2,
               mapping_lr_multiplier=0.01, channel_base=512, channel_max=16, conv_clamp=256.0, use_noise=False),
        D=dict(c_dim=0, img_resolution=256, img_channels=3, channel_base=512, channel_max=16, conv_clamp=256.0,
               mbstd_group_size=4, mbstd_num_channels=1),
        batch=1, cases="large"),
    # RGB with 10 labels (CIFAR-10's), D architecture 'orig' (train.py --cfg
    # cifar): the block's conv1 at gain 1, so its clamp (small enough to be
    # reached) is not scaled by sqrt(0.5) as in 'resnet'; a cmap wider than the
    # epilogue.
    "parity_32x3_orig": dict(
        G=dict(z_dim=16, c_dim=10, w_dim=16, img_resolution=32, img_channels=3, mapping_layers=2,
               mapping_lr_multiplier=0.01, channel_base=128, channel_max=8, conv_clamp=1.5),
        D=dict(c_dim=10, img_resolution=32, img_channels=3, architecture="orig", channel_base=128, channel_max=8,
               conv_clamp=1.5, mbstd_group_size=4, mbstd_num_channels=1, cmap_dim=16, mapping_layers=2),
        batch=4, cases="small"),
}

CASES = {
    "small": [dict(name="psi1", net="G_ema", psi=1.0, cutoff=None, noise_mode="const", rows=None),
              dict(name="psi07", net="G_ema", psi=0.7, cutoff=None, noise_mode="const", rows=None),
              dict(name="psi07_cutoff2", net="G_ema", psi=0.7, cutoff=2, noise_mode="const", rows=None),
              dict(name="psi1_nonoise", net="G_ema", psi=1.0, cutoff=None, noise_mode="none", rows=None),
              dict(name="G_psi07", net="G", psi=0.7, cutoff=None, noise_mode="const", rows=None)],
    "large": [dict(name="psi1", net="G_ema", psi=1.0, cutoff=None, noise_mode="const", rows=None),
              dict(name="psi07_cutoff4", net="G_ema", psi=0.7, cutoff=4, noise_mode="const", rows=[120, 136])],
}


def randomize(net, gen):
    """Nonzero biases, noise strengths and w_avg; affine biases around 1."""
    with torch.no_grad():
        for name, t in net.state_dict().items():
            r = torch.randn(t.shape, generator=gen)
            if name.endswith("affine.bias"):
                t.copy_(1 + 0.3 * r)
            elif name.endswith(".bias") or name.endswith("noise_strength"):
                t.copy_(0.3 * r)
            elif name.endswith("w_avg"):
                t.copy_(0.5 * r)


def build(spec, seed):
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed + 1)
    G_ema = ref.Generator(**spec["G"])
    randomize(G_ema, gen)
    G = copy.deepcopy(G_ema)
    with torch.no_grad():  # G is G_ema plus a training step's worth of difference
        for p in G.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=gen))
    D = ref.Discriminator(**spec["D"])
    randomize(D, gen)
    return {"G": G, "D": D, "G_ema": G_ema}


def to_bundle(path, nets, spec):
    """Through the converter, as a state dict {G, D, G_ema} would go; the
    inferred configs must be the ones the networks were built with."""
    state = {k: {n: t.detach().clone() for n, t in v.state_dict().items()} for k, v in nets.items()}
    g, d = spec["G"], spec["D"]
    hints = {"G": dict(conv_clamp=g["conv_clamp"], mapping_lr_multiplier=g["mapping_lr_multiplier"]),
             "D": dict(conv_clamp=d["conv_clamp"], mbstd_group_size=d["mbstd_group_size"])}
    args = types.SimpleNamespace(conv_clamp="auto", mapping_lr_multiplier=None, mbstd_group_size=None)
    tensors, meta = cw.convert(state, hints, path, args)
    for key, model_cls in (("G_kwargs", ref.Generator), ("D_kwargs", ref.Discriminator)):
        built = spec[key[0]]
        inferred = json.loads(meta[key])
        assert all(inferred[k] == v for k, v in built.items()), (key, built, inferred)
        model_cls(**inferred)  # every inferred key is a constructor argument
    cw.write_bin(path, tensors, meta)
    return os.path.getsize(path)


def expected(nets, spec, seed):
    gen = torch.Generator().manual_seed(seed + 2)
    n, gcfg = spec["batch"], spec["G"]
    z = torch.randn([n, gcfg["z_dim"]], generator=gen)
    c = None
    io = {"z": z}
    if gcfg["c_dim"]:
        c = torch.nn.functional.one_hot(torch.randint(gcfg["c_dim"], [n], generator=gen), gcfg["c_dim"]).float()
        io["c"] = c
    c64 = c.double() if c is not None else None
    nets64 = {k: copy.deepcopy(v).double().eval() for k, v in nets.items()}
    cases = CASES[spec["cases"]]
    with torch.no_grad():
        for case in cases:
            img = nets64[case["net"]](z.double(), c64, case["psi"], case["cutoff"], case["noise_mode"]).float()
            if case["rows"]:
                img = img[:, :, case["rows"][0]:case["rows"][1]]
            io[case["name"] + ".img"] = img
        res, ch = spec["D"]["img_resolution"], spec["D"]["img_channels"]
        real = torch.rand([n, ch, res, res], generator=gen) * 2 - 1 if spec["cases"] == "small" else None
        if real is not None:
            io["d_real.img"] = real
            io["d_real.logits"] = nets64["D"](real.double(), c64).float()
        fake = torch.cat([io["psi1.img"], -0.5 * io["psi1.img"]]).double()
        io["d_fake.logits"] = nets64["D"](fake, torch.cat([c64, c64]) if c is not None else None).float()
    return io, cases


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--outdir", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data"))
    p.add_argument("--only", action="append", choices=list(FIXTURES), metavar="NAME",
                   help="write this fixture only (repeatable; default: all): " + ", ".join(FIXTURES))
    args = p.parse_args()
    total = 0
    for i, (name, spec) in enumerate(FIXTURES.items()):
        if args.only and name not in args.only:
            continue
        nets = build(spec, 1000 + i)
        total += to_bundle(os.path.join(args.outdir, name + ".bin"), nets, spec)
        io, cases = expected(nets, spec, 1000 + i)
        total += write_safetensors(os.path.join(args.outdir, name + "_io.bin"), io, {"cases": json.dumps(cases)})
        print(f"{name}: " + ", ".join(f"{k} {list(v.shape)}" for k, v in io.items()))
    print(f"{total} bytes in all")


if __name__ == "__main__":
    main()
