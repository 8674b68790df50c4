#!/usr/bin/env python3
"""Writes the pSp test fixtures in tests/data/:

  psp_<name>.bin     a synthetic pSp checkpoint (encoder from
                     tools/psp_reference.py, rosinality decoder, latent_avg,
                     opts) saved with torch.save and converted by
                     tools/convert_weights.py, as a user's checkpoint would be;
  psp_<name>_io.bin  inputs and the reference's outputs, float32:
                     x [N, 3, S, S] in [-1, 1]; codes (pSp's codes: encoder
                     output plus latent_avg, W+); images (the decoder on the
                     codes, stored noise); for "gradual" also train.codes (the
                     encoder's raw output in training mode, batch statistics)
                     and train.<bn>.running_mean/var after that pass;
  psp_irse50_names.json  names and shapes of the full-size encoders (IR-SE50,
                     18 styles) as the reference builds them, without torch's
                     num_batches_tracked.

The networks are small versions of the same architecture (--psp-arch), in
eval mode with running statistics gathered from random batches (non-trivial,
as a trained network's), every parameter randomized. Outputs are computed in
float64 from the float32 weights and rounded once.
"""
import argparse
import copy
import json
import os
import sys
import tempfile

TOOLS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, TOOLS)
import interrupts  # noqa: E402  (standard library only)
if __name__ == "__main__":
    interrupts.die_by_signals()  # Ctrl-C, SIGTERM: no traceback, exit status 128 + signal
import pydeps  # noqa: E402  (standard library only: one line, not a traceback, without PyTorch)
pydeps.require("make_psp_fixtures", "numpy", "torch")

import torch  # noqa: E402
sys.path.insert(0, os.path.join(TOOLS, "..", "tests"))
import convert_weights as cw  # noqa: E402
import psp_reference as psp_ref  # noqa: E402
import stylegan2_reference as ref  # noqa: E402
from golden_io import write_atomically, write_safetensors  # noqa: E402
from make_parity_fixtures import randomize as randomize_generator  # noqa: E402
from test_convert_weights import to_rosinality_g  # noqa: E402

DECODER = dict(z_dim=16, c_dim=0, w_dim=16, img_resolution=32, img_channels=3, mapping_layers=2,
               mapping_lr_multiplier=0.01, w_avg_beta=0.995, channel_base=256, channel_max=16, conv_clamp=None,
               use_noise=True)

FIXTURES = {
    # The paper's encoder: a depth change (conv shortcut) in stage 1, strided 1x1 max-pool shortcuts after,
    # coarse, middle and fine styles (a 32 px decoder takes 8), latent_avg per style.
    "gradual": dict(arch=dict(units=[1, 2, 2, 1], depths=[16, 16, 16, 16], se_reduction=4, input_size=32),
                    opts=dict(encoder_type="GradualStyleEncoder", start_from_latent_avg=True, output_size=32),
                    decoder=DECODER, latent_avg="per_style"),
    # learn_in_w: one w, latent_avg [1, w].
    "w": dict(arch=dict(units=[1, 1, 1, 1], depths=[16, 16, 16, 16], se_reduction=4, input_size=32),
              opts=dict(encoder_type="BackboneEncoderUsingLastLayerIntoW", start_from_latent_avg=True,
                        learn_in_w=True, output_size=16),
              decoder=dict(DECODER, img_resolution=16), latent_avg="one"),
    # W+ through BN, 7x7 adaptive pooling (from 2x2) and a linear layer; no latent_avg.
    "wplus": dict(arch=dict(units=[1, 1, 1, 1], depths=[16, 16, 16, 16], se_reduction=4, input_size=32),
                  opts=dict(encoder_type="BackboneEncoderUsingLastLayerIntoWPlus", output_size=16),
                  decoder=dict(DECODER, img_resolution=16), latent_avg=None),
}
BATCH = 3


def encoder_config(spec):
    o = spec["opts"]
    return {"encoder_type": o["encoder_type"], "mode": "ir_se", "input_nc": 3, "n_styles": 2 * (o["output_size"].bit_length() - 1) - 2,
            **spec["arch"]}


def build_encoder(cfg, gen):
    enc = psp_ref.make_encoder(cfg)
    with torch.no_grad():
        for name, t in enc.state_dict().items():
            if t.dtype != torch.float32 or "running" in name:
                continue
            r = torch.randn(t.shape, generator=gen)
            if name.endswith("res_layer.2.weight") or name.endswith("input_layer.2.weight"):  # PReLU slopes
                t.copy_(0.25 + 0.1 * r)
            elif t.dim() == 1 and name.endswith("weight"):  # batch-norm scales
                t.copy_(1 + 0.2 * r)
            elif t.dim() == 1:
                t.copy_(0.1 * r)
    # Running statistics as a trained network's: the average over random batches.
    bns = [m for m in enc.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for m in bns:
        m.momentum = None
    enc.train()
    with torch.no_grad():
        for _ in range(4):
            enc(torch.rand([4, cfg["input_nc"], cfg["input_size"], cfg["input_size"]], generator=gen) * 2 - 1)
    for m in bns:
        m.momentum = 0.1
    return enc.eval()


def checkpoint(enc, G, spec, latent_avg):
    state = {"encoder." + k: v.clone() for k, v in enc.state_dict().items()}
    state.update({"decoder." + k: v.clone() for k, v in to_rosinality_g(G).items()})
    opts = {"exp_dir": "synthetic", "dataset_type": "ffhq_encode", "input_nc": 3, "label_nc": 0, "batch_size": 4,
            "learning_rate": 0.0001, "start_from_latent_avg": False, "learn_in_w": False, **spec["opts"]}
    ckpt = {"state_dict": state, "opts": opts}
    if latent_avg is not None:
        ckpt["latent_avg"] = latent_avg
    return ckpt


def reference_io(enc, G, cfg, spec, latent_avg, gen):
    s = cfg["input_size"]
    x = torch.rand([BATCH, 3, s, s], generator=gen) * 2 - 1
    enc64, G64 = copy.deepcopy(enc).double().eval(), copy.deepcopy(G).double().eval()
    learn_in_w = spec["opts"].get("learn_in_w", False)
    with torch.no_grad():
        codes = psp_ref.psp_codes(enc64, x.double(), latent_avg.double() if latent_avg is not None else None,
                                  learn_in_w)
        if learn_in_w:
            codes = codes.unsqueeze(1).repeat(1, cfg["n_styles"], 1)
        io = {"x": x, "codes": codes.float(), "images": G64.synthesis(codes, noise_mode="const").float()}
        if spec.get("train_pass", spec is FIXTURES["gradual"]):
            enc_t = copy.deepcopy(enc).double().train()
            io["train.codes"] = enc_t(x.double()).float()
            for name, t in enc_t.state_dict().items():
                if "running" in name:
                    io["train." + name] = t.float()
    return io


def names_and_shapes():
    out = {}
    for encoder_type in psp_ref.ENCODER_TYPES:
        cfg = {"encoder_type": encoder_type, "mode": "ir_se", "input_nc": 3, "n_styles": 18, **cw.PSP_ARCH}
        enc = psp_ref.make_encoder(cfg)
        out[encoder_type] = [[n, list(t.shape)] for n, t in enc.state_dict().items()
                             if not n.endswith("num_batches_tracked")]
        del enc
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--outdir", default=os.path.join(TOOLS, "..", "tests", "data"))
    p.add_argument("--skip-names", action="store_true", help="do not rebuild the full-size name list (slow)")
    args = p.parse_args()
    for i, (name, spec) in enumerate(FIXTURES.items()):
        torch.manual_seed(2000 + i)
        gen = torch.Generator().manual_seed(3000 + i)
        cfg = encoder_config(spec)
        enc = build_encoder(cfg, gen)
        G = ref.Generator(**spec["decoder"])
        randomize_generator(G, gen)
        w = cfg["depths"][3]
        latent_avg = {"per_style": lambda: 0.5 * torch.randn([cfg["n_styles"], w], generator=gen),
                      "one": lambda: 0.5 * torch.randn([1, w], generator=gen), None: lambda: None}[spec["latent_avg"]]()
        with tempfile.TemporaryDirectory() as tmp:
            src = os.path.join(tmp, "psp.pt")
            torch.save(checkpoint(enc, G, spec, latent_avg), src)
            rc = cw.main(["import", src, os.path.join(args.outdir, f"psp_{name}.bin"),
                          "--psp-arch", json.dumps(spec["arch"])])
            assert rc == 0, name
        io = reference_io(enc, G, cfg, spec, latent_avg, gen)
        write_safetensors(os.path.join(args.outdir, f"psp_{name}_io.bin"), io, {"psp_kwargs": json.dumps(cfg)})
        print(f"psp_{name}: " + ", ".join(f"{k} {list(v.shape)}" for k, v in io.items() if not k.startswith("train.b")))
    if not args.skip_names:
        path = os.path.join(args.outdir, "psp_irse50_names.json")
        write_atomically(path, [json.dumps(names_and_shapes(), separators=(",", ":")).encode()])
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
