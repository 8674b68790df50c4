#!/usr/bin/python3
"""Writes tests/data/ppl_reference.bin: per-batch Perceptual Path Length
distances of StyleGAN2-ADA's PPLSampler (metrics/perceptual_path_length.py)
as the official forward runs them, from given draws, for
tests/test_metrics.cpp.

The StyleGAN2 generators are the parity fixtures' G_ema
(tests/data/parity_32x1.bin: grey, unconditional; parity_32x3_c4.bin: RGB,
4 classes) in tools/stylegan2_reference.py, and ppl_512x1, a grey 512x512 G
with two channels a layer and no noise inputs, for the sampler's block mean
by img_resolution // 256 (after the crop: 256x256 -> 128x128). The networks
named ppl_* are held in this file: their tensors as net.<name>.<tensor>,
their family and G_kwargs in the metadata "nets". The detector is a thin
VGG16 (tools/vgg16_reference.py, width_divisor 16) with the hashed weights
the C++ side derives the same way (tests/vgg16_fixture.h), so no weight
file.

For each case <name> (metadata "cases": name, family (absent: "stylegan2"),
fixture, space, sampling, crop, epsilon) it stores the draws as the sampler
makes them, c [n, c_dim] (conditional fixtures), t [n], z0 and z1 [n, z_dim], noise.<buffer> (each
noise_const's fresh values), all float32, and dist [n] in float64: the
official steps (mapping of cat(z0, z1) with cat(c, c), lerp in W / slerp in
Z at t and t + epsilon with t + epsilon rounded to float32, noise_const set
to the draws, synthesis with noise_mode='const', the crop, the block mean
to 256, (img + 1) * 255 / 2, grey to RGB, the LPIPS embedding, the squared
difference over epsilon^2), run in float64 from the float32 weights.

Run from the repository root: /usr/bin/python3 tools/make_ppl_fixtures.py [out.bin]
"""
import copy
import inspect
import json
import os
import sys

import interrupts  # noqa: E402  (standard library only)
if __name__ == "__main__":
    interrupts.die_by_signals()
import pydeps  # noqa: E402
pydeps.require("make_ppl_fixtures", "numpy", "torch")

import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_parity_fixtures as mpf  # noqa: E402
import stylegan2_reference as ref  # noqa: E402
import vgg16_reference as vref  # noqa: E402
from golden_io import read_safetensors, write_safetensors  # noqa: E402

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data")

CASES = [
    dict(name="wend_grey", fixture="parity_32x1", space="w", sampling="end", crop=True, epsilon=1e-4),
    dict(name="zfull_grey", fixture="parity_32x1", space="z", sampling="full", crop=True, epsilon=1e-4),
    dict(name="wfull_cond", fixture="parity_32x3_c4", space="w", sampling="full", crop=True, epsilon=1e-4),
    dict(name="ppl2_wend_cond", fixture="parity_32x3_c4", space="w", sampling="end", crop=False, epsilon=1e-4),
    # A wider step: float32 paths agree with the reference to 1e-4 there.
    dict(name="zend_cond_eps1e-2", fixture="parity_32x3_c4", space="z", sampling="end", crop=True, epsilon=1e-2),
    # 512x512: the crop's 256x256 comes to 128x128 (the factor is the
    # network's resolution // 256, not the crop's), the whole image to 256x256.
    dict(name="wend_512", fixture="ppl_512x1", space="w", sampling="end", crop=True, epsilon=1e-4),
    dict(name="zfull_512_uncropped", fixture="ppl_512x1", space="z", sampling="full", crop=False, epsilon=1e-4),
]

# The generators held in this file: G_kwargs, and the seed of their weights.
NETS = {"ppl_512x1": (dict(z_dim=8, c_dim=0, w_dim=8, img_resolution=512, img_channels=1, mapping_layers=2,
                           mapping_lr_multiplier=0.01, channel_base=1024, channel_max=2, conv_clamp=None,
                           use_noise=False), 2033)}
FAMILY = {"ppl_512x1": "stylegan2"}


def make_net(name):
    """A held generator: the reference's initialization, then random
    biases, w_avg and affine biases (as the parity fixtures')."""
    kwargs, seed = NETS[name]
    torch.manual_seed(seed)
    G = ref.Generator(**kwargs)
    mpf.randomize(G, torch.Generator().manual_seed(seed + 1))
    G.img_resolution = kwargs["img_resolution"]
    return G.eval()


def load_g_ema(fixture):
    if fixture in NETS:
        return make_net(fixture)
    tensors, meta = read_safetensors(os.path.join(DATA, fixture + ".bin"))
    kwargs = json.loads(meta["G_kwargs"])
    accepted = inspect.signature(ref.Generator.__init__).parameters
    G = ref.Generator(**{k: v for k, v in kwargs.items() if k in accepted})
    G.load_state_dict({k[len("G_ema."):]: v for k, v in tensors.items() if k.startswith("G_ema.")})
    G.img_resolution = kwargs["img_resolution"]  # as the official G's attribute
    return G.eval()


def slerp(a, b, t):
    """The official slerp."""
    a = a / a.norm(dim=-1, keepdim=True)
    b = b / b.norm(dim=-1, keepdim=True)
    d = (a * b).sum(dim=-1, keepdim=True)
    p = t * torch.acos(d)
    c = b - d * a
    c = c / c.norm(dim=-1, keepdim=True)
    d = a * torch.cos(p) + c * torch.sin(p)
    return d / d.norm(dim=-1, keepdim=True)


def draws(G, n, case, gen):
    """The sampler's draws in its order: labels, t, z, the noise buffers."""
    out = {}
    if G.mapping.c_dim:
        out["c"] = torch.nn.functional.one_hot(torch.randint(G.mapping.c_dim, [n], generator=gen),
                                               G.mapping.c_dim).float()
    out["t"] = torch.rand([n], generator=gen) * (1 if case["sampling"] == "full" else 0)
    z = torch.randn([2 * n, G.mapping.z_dim], generator=gen)
    out["z0"], out["z1"] = z[:n], z[n:]
    for name, buf in G.named_buffers():
        if name.endswith(".noise_const"):
            out["noise." + name] = torch.randn(buf.shape, generator=gen)
    return out


def embed_distances(vgg, img, eps):
    """(img + 1) * 255 / 2, grey to RGB, the LPIPS embedding's squared
    difference between the halves over epsilon^2."""
    img = (img + 1) * (255 / 2)
    if img.shape[1] == 1:
        img = img.repeat([1, 3, 1, 1])
    e0, e1 = vgg.lpips_embedding(img).chunk(2)
    return (e0 - e1).square().sum(1) / eps ** 2


def distances(G, vgg, case, d):
    """The official PPLSampler.forward from the draws d, in float64."""
    G = copy.deepcopy(G).double()
    eps = case["epsilon"]
    c = d["c"].double() if "c" in d else None
    cc = torch.cat([c, c]) if c is not None else None
    t = d["t"].double().unsqueeze(1)
    t1 = (d["t"] + eps).double().unsqueeze(1)  # float32 tensor + Python float, then widened
    z0, z1 = d["z0"].double(), d["z1"].double()
    with torch.no_grad():
        if case["space"] == "w":
            w0, w1 = G.mapping(torch.cat([z0, z1]), cc).chunk(2)
            wt0 = w0.lerp(w1, t.unsqueeze(2))
            wt1 = w0.lerp(w1, t1.unsqueeze(2))
        else:
            zt0 = slerp(z0, z1, t)
            zt1 = slerp(z0, z1, t1)
            wt0, wt1 = G.mapping(torch.cat([zt0, zt1]), cc).chunk(2)
        for name, buf in G.named_buffers():
            if name.endswith(".noise_const"):
                buf.copy_(d["noise." + name].double())
        img = G.synthesis(torch.cat([wt0, wt1]), "const")
        if case["crop"]:
            s = img.shape[2] // 8
            img = img[:, :, s * 3:s * 7, s * 2:s * 6]
        factor = G.img_resolution // 256
        if factor > 1:
            img = img.reshape([-1, img.shape[1], img.shape[2] // factor, factor, img.shape[3] // factor,
                               factor]).mean([3, 5])
        return embed_distances(vgg, img, eps)


VGG_DIVISOR = 16


def main():
    out = pydeps.output_file(__doc__, os.path.join(DATA, "ppl_reference.bin"))
    vgg = vref.Vgg16Reference(VGG_DIVISOR)
    vgg.load_state_dict(vref.hashed_state_dict(vgg))
    vgg64 = vgg.double().eval()
    gen = torch.Generator().manual_seed(2032)
    io = {}
    nets = {}
    for case in CASES:
        G = nets.setdefault(case["fixture"], load_g_ema(case["fixture"]))
        d = draws(G, 2, case, gen)
        dist = distances(G, vgg64, case, d)
        for k, v in d.items():
            io[case["name"] + "." + k] = v.contiguous()
        io[case["name"] + ".dist"] = dist
    for name in NETS:
        state = {k: v.detach().float() for k, v in nets[name].state_dict().items()}
        for k, v in state.items():
            io["net." + name + "." + k] = v.contiguous()
    nets_meta = {k: dict(family=FAMILY[k], G_kwargs=v[0]) for k, v in NETS.items()}
    write_safetensors(out, io, {"generator": "tools/make_ppl_fixtures.py", "cases": json.dumps(CASES),
                                "nets": json.dumps(nets_meta),
                                "vgg16_width_divisor": str(VGG_DIVISOR)})


if __name__ == "__main__":
    main()
