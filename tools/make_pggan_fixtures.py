#!/usr/bin/env python3
"""Writes tests/data/pggan_*.bin: synthetic official PGGAN pickles
(tools/make_pggan_pickle.py) imported by tools/convert_weights.py, and beside
each an io file with inputs and the outputs of the PyTorch reference
(tools/pggan_reference.py), for tests/test_pggan_parity.cpp.

<name>_io.bin holds, in float32: latents [N, latent_size], labels [N,
label_size] (labelled fixtures only), reals [N, C, R, R] (uniform in [-1, 1]),
and for each lod i of the "lods" metadata (JSON list):
  lod<i>.Gs, lod<i>.G    Gs's images for (latents, labels), and G's for the
                         first two lods
  lod<i>.D_fake          D's output [N, 1 + label_size] on lod<i>.Gs
  lod<i>.D_real          D's output on reals
Outputs are computed in float64 from the float32 variables and rounded once.
"""
import argparse
import json
import os
import sys
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import interrupts  # noqa: E402  (standard library only)
if __name__ == "__main__":
    interrupts.die_by_signals()  # Ctrl-C, SIGTERM: no traceback, exit status 128 + signal
import pydeps  # noqa: E402  (standard library only: one line, not a traceback, without NumPy/PyTorch)
pydeps.require("make_pggan_fixtures", "numpy", "torch")

import numpy as np
import torch

import convert_weights as cw  # noqa: E402
import make_pggan_pickle as mkp  # noqa: E402
import pggan_reference as ref  # noqa: E402
from golden_io import write_safetensors  # noqa: E402

FIXTURES = {
    # Grayscale, unconditional, fused resampling convs, mbstd groups of 4.
    "pggan_32x1": dict(static=dict(num_channels=1, resolution=32, label_size=0, fmap_base=64, fmap_max=8,
                                   latent_size=8),
                       mbstd=4, lods=[0.0, 0.4, 1.0, 1.75, 2.5, 3.0]),
    # RGB with 3 labels (AC-GAN logits), separate upscale2d/downscale2d layers, mbstd groups of 2.
    "pggan_16x3_c3": dict(static=dict(num_channels=3, resolution=16, label_size=3, fmap_base=32, fmap_max=8,
                                      latent_size=8, fused_scale=False),
                          mbstd=2, lods=[0.0, 0.5, 1.0, 1.3, 2.0]),
    # The ablation switches: no wscale, no pixel norm, no latent normalization,
    # ReLU in G, a fractional fmap_decay, no minibatch-stddev layer.
    "pggan_8x3_ablations": dict(static=dict(num_channels=3, resolution=8, label_size=0, fmap_base=16,
                                            fmap_decay=0.5, fmap_max=16, latent_size=6, use_wscale=False,
                                            use_pixelnorm=False, normalize_latents=False, use_leakyrelu=False),
                                mbstd=0, lods=[0.0, 0.7]),
}
BATCH = 4


def he_scaled(variables, static):
    """Without wscale the stored weights carry the He scale themselves."""
    if static.get("use_wscale", True):
        return variables
    out = {}
    for name, v in variables.items():
        if name.endswith("/weight"):
            fan_in = np.prod(v.shape[:-1]) if "Conv0_up" not in name else v.shape[0] * v.shape[1] * v.shape[3]
            gain = np.sqrt(2) / 4 if name == "4x4/Dense/weight" else 1.0 if "ToRGB" in name or "Dense1" in name \
                else np.sqrt(2)
            v = (v * gain / np.sqrt(fan_in)).astype(np.float32)
        out[name] = v
    return out


def build(spec, seed):
    states = list(mkp.make_networks(spec["static"], seed, 0.0, spec["mbstd"]))
    for st in states:
        st["variables"] = list(he_scaled(dict(st["variables"]), spec["static"]).items())
    return tuple(states)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--outdir", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data"))
    args = p.parse_args()
    total = 0
    for i, (name, spec) in enumerate(FIXTURES.items()):
        states = build(spec, 2000 + 10 * i)
        path = os.path.join(args.outdir, name + ".bin")
        data = mkp.dumps(states)
        nets = cw.read_pggan_pickle(cw._restricted_load(data, name + ".pkl"), name + ".pkl")
        tensors, meta = cw.convert_pggan(nets, name + ".pkl", types.SimpleNamespace(mbstd_group_size=None))
        cw.write_bin(path, tensors, meta)
        total += os.path.getsize(path)
        g_kw = json.loads(meta["G_kwargs"])
        G = ref.G(dict(states[0]["variables"]), **states[0]["static_kwargs"])
        D = ref.D(dict(states[1]["variables"]), **states[1]["static_kwargs"])
        Gs = ref.G(dict(states[2]["variables"]), **states[2]["static_kwargs"])
        gen = torch.Generator().manual_seed(3000 + i)
        res, ch = g_kw["resolution"], g_kw["num_channels"]
        io = {"latents": torch.randn([BATCH, g_kw["latent_size"]], generator=gen),
              "reals": torch.rand([BATCH, ch, res, res], generator=gen) * 2 - 1}
        labels = None
        if g_kw["label_size"]:
            labels = torch.nn.functional.one_hot(torch.randint(g_kw["label_size"], [BATCH], generator=gen),
                                                 g_kw["label_size"]).float()
            io["labels"] = labels
        lat64, lab64 = io["latents"].double(), labels.double() if labels is not None else None
        with torch.no_grad():
            for k, lod in enumerate(spec["lods"]):
                gs = Gs(lat64, lab64, lod)
                io[f"lod{k}.Gs"] = gs.float()
                if k < 2:  # G differs from Gs by its weights only: two lods suffice
                    io[f"lod{k}.G"] = G(lat64, lab64, lod).float()
                io[f"lod{k}.D_fake"] = torch.cat(D(gs.float().double(), lod), dim=1).float()
                io[f"lod{k}.D_real"] = torch.cat(D(io["reals"].double(), lod), dim=1).float()
        total += write_safetensors(os.path.join(args.outdir, name + "_io.bin"), io, {"lods": json.dumps(spec["lods"])})
        print(f"{name}: G {meta['G_kwargs']}\n  D {meta['D_kwargs']}\n  " +
              ", ".join(f"{k} {list(v.shape)}" for k, v in io.items() if not k.startswith("lod") or k.startswith("lod0")))
    print(f"{total} bytes in all")


if __name__ == "__main__":
    main()
