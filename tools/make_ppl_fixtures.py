#!/usr/bin/python3
"""Writes tests/data/ppl_reference.bin: per-batch Perceptual Path Length
distances of StyleGAN2-ADA's PPLSampler (metrics/perceptual_path_length.py)
and of StyleGAN (v1)'s PPL (NVlabs/stylegan, metrics/perceptual_path_length.py)
as the official forwards run them, from given draws, for
tests/test_metrics.cpp.

The StyleGAN2 generators are the parity fixtures' G_ema
(tests/data/parity_32x1.bin: grey, unconditional; parity_32x3_c4.bin: RGB,
4 classes) in tools/stylegan2_reference.py, and ppl_512x1, a grey 512x512 G
with two channels a layer and no noise inputs, for the sampler's block mean
by img_resolution // 256 (after the crop: 256x256 -> 128x128). The v1
generators are Gs of tools/stylegan_reference.py: ppl_v1_128x1_c2 (grey, 2
labels, noise inputs) and ppl_v1_512x1 (two channels a layer, no noise
inputs), whose crop stays 256x256 (v1 brings the crop to 256, where v2
halves it). The networks named ppl_* are held in this file: their tensors as
net.<name>.<tensor> (v1's variables in ganforge's layout), their family and
G_kwargs in the metadata "nets". The detector is a thin VGG16
(tools/vgg16_reference.py, width_divisor 16) with the hashed weights the C++
side derives the same way (tests/vgg16_fixture.h), so no weight file.

For each case <name> (metadata "cases": name, family (absent: "stylegan2"),
fixture, space, sampling, crop, epsilon) it stores the draws as the sampler
makes them, c [n, c_dim] (conditional fixtures), t [n], z0 and z1
[n, z_dim], noise.<buffer> (each noise_const's fresh values), all float32, and dist [n] in float64: the
official steps (mapping of cat(z0, z1) with cat(c, c), lerp in W / slerp in
Z at t and t + epsilon with t + epsilon rounded to float32, noise_const set
to the draws, synthesis with noise_mode='const', the crop, the block mean
to 256, (img + 1) * 255 / 2, grey to RGB, the LPIPS embedding, the squared
difference over epsilon^2), run in float64 from the float32 weights.
A v1 case's draws are v1's (z0 the even rows of one randn([2n, latent]),
then t; noise.G_synthesis/noise<i> for each noise input) and its steps v1's:
lerp as tflib.lerp, a + (b - a) t; the synthesis at the network's lod with
the drawn noise; the crop (when the case has it: v1 always cropped); the
block mean by H // 256 only when the image is then taller than 256; labels (v1 passed none: ganforge draws them for a
conditional network as for v2); the same thin VGG16 (v1 ran its own TF
LPIPS network, vgg16_zhang_perceptual.pkl; ganforge runs the one
embedding for both families).

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

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_parity_fixtures as mpf  # noqa: E402
import make_stylegan_pickle as mkp  # noqa: E402
import stylegan2_reference as ref  # noqa: E402
import stylegan_reference as sref  # noqa: E402
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
    # StyleGAN v1.
    dict(name="v1_wfull_cond", family="stylegan", fixture="ppl_v1_128x1_c2", space="w", sampling="full", crop=True,
         epsilon=1e-4),
    dict(name="v1_zend_cond", family="stylegan", fixture="ppl_v1_128x1_c2", space="z", sampling="end", crop=True,
         epsilon=1e-4),
    dict(name="v1_zfull_cond_uncropped_eps1e-2", family="stylegan", fixture="ppl_v1_128x1_c2", space="z",
         sampling="full", crop=False, epsilon=1e-2),
    # 512x512: the crop stays 256x256; the whole image comes to 256x256.
    dict(name="v1_wend_512", family="stylegan", fixture="ppl_v1_512x1", space="w", sampling="end", crop=True,
         epsilon=1e-4),
    dict(name="v1_wfull_512_uncropped", family="stylegan", fixture="ppl_v1_512x1", space="w", sampling="full",
         crop=False, epsilon=1e-4),
]

# The generators held in this file: G_kwargs, and the seed of their weights.
NETS = {"ppl_512x1": (dict(z_dim=8, c_dim=0, w_dim=8, img_resolution=512, img_channels=1, mapping_layers=2,
                           mapping_lr_multiplier=0.01, channel_base=1024, channel_max=2, conv_clamp=None,
                           use_noise=False), 2033),
        # StyleGAN v1 (tools/stylegan_reference.py's kwargs).
        "ppl_v1_128x1_c2": (dict(latent_size=6, label_size=2, dlatent_size=6, mapping_layers=2, mapping_fmaps=5,
                                 num_channels=1, resolution=128, fmap_base=64, fmap_max=4), 2034),
        "ppl_v1_512x1": (dict(latent_size=4, dlatent_size=4, mapping_layers=2, mapping_fmaps=4, num_channels=1,
                              resolution=512, fmap_base=512, fmap_max=2, use_noise=False), 2035)}
FAMILY = {"ppl_512x1": "stylegan2", "ppl_v1_128x1_c2": "stylegan", "ppl_v1_512x1": "stylegan"}


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


def make_v1_net(name):
    """A held v1 Gs: random variables with the official names and the
    mapping at the official initial scale 1 / lrmul
    (tools/make_stylegan_pickle.py; at scale 1, w is nearly constant and
    every path's distance ~1e-10)."""
    kwargs, seed = NETS[name]
    kw = sref._kwargs(sref.G_DEFAULTS, kwargs)
    gsv = mkp.random_variables(sref.g_variables(**kw), np.random.default_rng(seed), kw["use_wscale"],
                               kw["mapping_lrmul"])
    return sref.G(gsv, **kw), float(gsv["lod"]), gsv


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


def v1_draws(Gs, n, case, gen):
    """v1's draws in its order: (ganforge's labels), z, t, the noise inputs."""
    out = {}
    kw = Gs.kw
    if kw["label_size"]:
        out["c"] = torch.nn.functional.one_hot(torch.randint(kw["label_size"], [n], generator=gen),
                                               kw["label_size"]).float()
    z = torch.randn([2 * n, kw["latent_size"]], generator=gen)
    out["z0"], out["z1"] = z[0::2], z[1::2]
    out["t"] = torch.rand([n], generator=gen) * (1 if case["sampling"] == "full" else 0)
    for i in range(Gs.num_layers if kw["use_noise"] else 0):
        name = f"G_synthesis/noise{i}"
        out["noise." + name] = torch.randn(Gs.v[name].shape, generator=gen)
    return out


def embed_distances(vgg, img, eps):
    """(img + 1) * 255 / 2, grey to RGB, the LPIPS embedding's squared
    difference between the halves over epsilon^2."""
    img = (img + 1) * (255 / 2)
    if img.shape[1] == 1:
        img = img.repeat([1, 3, 1, 1])
    e0, e1 = vgg.lpips_embedding(img).chunk(2)
    return (e0 - e1).square().sum(1) / eps ** 2


def v1_distances(Gs, lod, vgg, case, d):
    """NVlabs/stylegan's PPL._evaluate from the draws d, in float64 (pairs
    as [2n] halves rather than interleaved rows: the same distances)."""
    eps = case["epsilon"]
    c = d["c"].double() if "c" in d else None
    cc = torch.cat([c, c]) if c is not None else None
    t = d["t"].double()[:, None]
    t1 = (d["t"] + eps).double()[:, None]  # float32 tensor + Python float, as TF's
    z0, z1 = d["z0"].double(), d["z1"].double()
    with torch.no_grad():
        if case["space"] == "w":
            w0, w1 = Gs.mapping(torch.cat([z0, z1]), cc).chunk(2)
            wt0 = sref.lerp(w0, w1, t)
            wt1 = sref.lerp(w0, w1, t1)
        else:
            wt0, wt1 = Gs.mapping(torch.cat([v1_slerp(z0, z1, t), v1_slerp(z0, z1, t1)]), cc).chunk(2)
        ws = torch.cat([wt0, wt1])[:, None].repeat(1, Gs.num_layers, 1)
        noise = {i: d[f"noise.G_synthesis/noise{i}"].double() for i in range(Gs.num_layers if Gs.kw["use_noise"] else 0)}
        img = Gs.synthesis(ws, lod, noise)
        if case["crop"]:
            s = img.shape[2] // 8
            img = img[:, :, s * 3:s * 7, s * 2:s * 6]
        if img.shape[2] > 256:
            factor = img.shape[2] // 256
            img = img.reshape([-1, img.shape[1], img.shape[2] // factor, factor, img.shape[3] // factor,
                               factor]).mean([3, 5])
        return embed_distances(vgg, img, eps)


def v1_slerp(a, b, t):
    """v1's slerp (TF): the same steps as the official torch one, with
    normalize(v) = v / sqrt(sum(v^2))."""
    def normalize(v):
        return v / v.square().sum(-1, keepdim=True).sqrt()
    a, b = normalize(a), normalize(b)
    d = (a * b).sum(-1, keepdim=True)
    p = t * torch.acos(d)
    c = normalize(b - d * a)
    return normalize(a * torch.cos(p) + c * torch.sin(p))


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
        if case.get("family", "stylegan2") == "stylegan":
            Gs, lod, _ = nets.setdefault(case["fixture"], make_v1_net(case["fixture"]))
            d = v1_draws(Gs, 2, case, gen)
            dist = v1_distances(Gs, lod, vgg64, case, d)
        else:
            G = nets.setdefault(case["fixture"], load_g_ema(case["fixture"]))
            d = draws(G, 2, case, gen)
            dist = distances(G, vgg64, case, d)
        for k, v in d.items():
            io[case["name"] + "." + k] = v.contiguous()
        io[case["name"] + ".dist"] = dist
    for name in NETS:
        if FAMILY[name] == "stylegan":
            variables = nets[name][2]
            # np.array, not ascontiguousarray, which makes the 0-d lod 1-d.
            state = {k: torch.from_numpy(np.array(sref.to_ganforge(k, a), order="C")) for k, a in variables.items()}
        else:
            state = {k: v.detach().float() for k, v in nets[name].state_dict().items()}
        for k, v in state.items():
            io["net." + name + "." + k] = v.contiguous()
    nets_meta = {k: dict(family=FAMILY[k], G_kwargs=(sref._kwargs(sref.G_DEFAULTS, v[0]) if FAMILY[k] == "stylegan"
                                                       else v[0])) for k, v in NETS.items()}
    write_safetensors(out, io, {"generator": "tools/make_ppl_fixtures.py", "cases": json.dumps(CASES),
                                "nets": json.dumps(nets_meta),
                                "vgg16_width_divisor": str(VGG_DIVISOR)})


if __name__ == "__main__":
    main()
