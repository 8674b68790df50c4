#!/usr/bin/env python3
"""Writes tests/data/stylegan_*.bin: synthetic official StyleGAN (v1) pickles
(tools/make_stylegan_pickle.py: random variables with the official names and
layouts) imported by tools/convert_weights.py into ganforge bundles (family
"stylegan"), and beside each an io file with inputs and the outputs of the
PyTorch reference (tools/stylegan_reference.py), for
tests/test_stylegan_parity.cpp.

<name>_io.bin holds, in float32: latents [N, latent_size], labels [N,
label_size] (labelled fixtures only), reals [N, C, R, R] (uniform in [-1, 1]),
and for each lod i of the "lods" metadata (JSON list):
  lod<i>.Gs       Gs's images: truncation psi/cutoff of the metadata, const noise
  lod<i>.G        G's images for the first two lods (no truncation, const noise)
  lod<i>.D_fake   D's scores [N, 1] on lod<i>.Gs
  lod<i>.D_real   D's scores on reals
and once: ws_Gs [N, num_layers, dlatent] (Gs's mapping, untruncated),
Gs_nonoise (lod 0, no truncation, no noise).
Outputs are computed in float64 from the float32 variables and rounded once.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import interrupts  # noqa: E402  (standard library only)
if __name__ == "__main__":
    interrupts.die_by_signals()  # Ctrl-C, SIGTERM: no traceback, exit status 128 + signal
import pydeps  # noqa: E402
pydeps.require("make_stylegan_fixtures", "numpy", "torch")

import numpy as np  # noqa: E402
import torch  # noqa: E402

import convert_weights as cw  # noqa: E402
import make_stylegan_pickle as mkp  # noqa: E402
import stylegan_reference as ref  # noqa: E402
from golden_io import write_safetensors  # noqa: E402

FIXTURES = {
    # RGB, fused up/down convs at every level (fused_scale true), mbstd groups of 4.
    "stylegan_16x3": dict(
        G=dict(latent_size=8, dlatent_size=8, mapping_layers=3, mapping_fmaps=6, num_channels=3, resolution=16,
               fmap_base=32, fmap_max=8, fused_scale=True),
        D=dict(num_channels=3, resolution=16, fmap_base=32, fmap_max=8, fused_scale=True, mbstd_group_size=4),
        psi=0.7, cutoff=3, lods=[0.0, 0.4, 1.0, 1.5, 2.0]),
    # 128x128 grayscale with 2 labels and the official 'auto' fusing (G fuses
    # its 128x128 up-conv only; D its 128x128 down-conv), mbstd 2 features.
    "stylegan_128x1_c2": dict(
        G=dict(latent_size=6, label_size=2, dlatent_size=6, mapping_layers=2, mapping_fmaps=5, num_channels=1,
               resolution=128, fmap_base=64, fmap_max=4),
        D=dict(num_channels=1, resolution=128, label_size=2, fmap_base=64, fmap_max=4, mbstd_group_size=2,
               mbstd_num_features=2),
        psi=0.5, cutoff=8, lods=[0.0, 0.5, 2.25], batch=2),
    # The switches: no wscale, ReLU, pixel norm without instance norm, no
    # noise, no blur, separate resampling, fmap_decay 0.5, no mbstd.
    "stylegan_8x3_ablations": dict(
        G=dict(latent_size=5, dlatent_size=4, mapping_layers=2, mapping_fmaps=4, num_channels=3, resolution=8,
               fmap_base=16, fmap_decay=0.5, fmap_max=16, use_wscale=False, nonlinearity="relu",
               mapping_nonlinearity="relu", use_pixel_norm=True, use_instance_norm=False, use_noise=False,
               blur_filter=None, fused_scale=False, normalize_latents=False),
        D=dict(num_channels=3, resolution=8, fmap_base=16, fmap_decay=0.5, fmap_max=16, use_wscale=False,
               nonlinearity="relu", mbstd_group_size=0, blur_filter=None, fused_scale=False),
        psi=0.8, cutoff=2, lods=[0.0, 0.7]),
}
BATCH = 4


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--outdir", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data"))
    args = p.parse_args()
    total = 0
    for i, (name, spec) in enumerate(FIXTURES.items()):
        states, (gv, dv, gsv) = mkp.make_networks(spec["G"], spec["D"], 4000 + i)
        pkl = name + ".pkl"
        nets = cw.read_stylegan_pickle(cw._restricted_load(mkp.dumps(states), pkl), pkl)
        # The import's flags at their defaults (the pickle's own values).
        flags = argparse.Namespace(mapping_lr_multiplier=None, mbstd_group_size=None)
        tensors, meta = cw.convert_stylegan(nets, pkl, flags)
        path = os.path.join(args.outdir, name + ".bin")
        cw.write_bin(path, tensors, meta)
        total += os.path.getsize(path)
        g_kw, d_kw = json.loads(meta["G_kwargs"]), json.loads(meta["D_kwargs"])
        G, Gs, D = ref.G(gv, **g_kw), ref.G(gsv, **g_kw), ref.D(dv, **d_kw)
        gen = torch.Generator().manual_seed(5000 + i)
        res, ch = g_kw["resolution"], g_kw["num_channels"]
        batch = spec.get("batch", BATCH)
        io = {"latents": torch.randn([batch, g_kw["latent_size"]], generator=gen),
              "reals": torch.rand([batch, ch, res, res], generator=gen) * 2 - 1}
        labels = None
        if g_kw["label_size"]:
            labels = torch.nn.functional.one_hot(torch.randint(g_kw["label_size"], [batch], generator=gen),
                                                 g_kw["label_size"]).float()
            io["labels"] = labels
        lat64, lab64 = io["latents"].double(), labels.double() if labels is not None else None
        psi, cutoff = spec["psi"], spec["cutoff"]
        with torch.no_grad():
            io["ws_Gs"] = Gs.mapping(lat64, lab64)[:, None].repeat(1, Gs.num_layers, 1).float()
            io["Gs_nonoise"] = Gs(lat64, lab64, 0.0, noise="none").float()
            for k, lod in enumerate(spec["lods"]):
                gs = Gs(lat64, lab64, lod, psi, cutoff)
                io[f"lod{k}.Gs"] = gs.float()
                if k < 2:
                    io[f"lod{k}.G"] = G(lat64, lab64, lod).float()
                io[f"lod{k}.D_fake"] = D(gs.float().double(), lab64, lod).float()
                io[f"lod{k}.D_real"] = D(io["reals"].double(), lab64, lod).float()
        meta_io = {"lods": json.dumps(spec["lods"]), "psi": str(psi), "cutoff": str(cutoff)}
        total += write_safetensors(os.path.join(args.outdir, name + "_io.bin"), io, meta_io)
        print(f"{name}: G {json.dumps(g_kw)}\n  D {json.dumps(d_kw)}")
    print(f"{total} bytes in all")


if __name__ == "__main__":
    main()
