#!/usr/bin/env python3
"""Writes a StyleGAN2 network (a ganforge .bin with G, D and G_ema, or the
tools/stylegan2_reference.py networks) as an official StyleGAN2 TensorFlow
pickle, without TensorFlow, for tests: the tuple (G, D, Gs) of
dnnlib.tflib.network.Network objects, state version 4 (NVlabs/stylegan2's
dnnlib/tflib/network.py), G and Gs built by G_main with the components
"mapping" (G_mapping) and "synthesis" (G_synthesis_stylegan2, 'skip'), D by
D_stylegan2 ('resnet', or 'orig' without the Skip layers when D_kwargs says
"architecture": "orig", config E's Dorig): configs E and F.

The variables are what the official build functions (training/
networks_stylegan2.py) create, in their order, computed from the PyTorch
(StyleGAN2-ADA) tensors by the inverse of the official conversion: dense
weights [in, out] and conv weights [kh, kw, in, out]; mod_bias is the affine
bias - 1 (the TF style adds 1); the up-conv kernel (Conv0_up) turned by 180
degrees (TF's upsample_conv_2d flips it before its transposed convolution,
PyTorch's does not); D's downsampling convs unchanged (a strided correlation
in both); noise{i} [1, 1, r, r] for layer index i (TF's res = (i + 5) // 2);
the constant [1, C, 4, 4]; fmap_base = channel_base / 2. Written
independently of tools/convert_weights.py's reader, so that a test importing
the pickle checks the reader, not a copy of it. build_module_src is a line
that would stop the process if a reader executed it.

Unconditional networks without conv_clamp and with noise only: the TF
networks have no clamp, and their label conditioning is not StyleGAN2-ADA's.

  make_stylegan2_tf_pickle.py OUT.pkl --from NET.bin [--drop NET:VARIABLE ...]

--drop leaves a variable out (a broken pickle, for the importer's error
tests): NET is G, D or Gs, VARIABLE a name in it, a component's under
"mapping/" or "synthesis/" (Gs:synthesis/8x8/Conv0_up/mod_bias).
"""
import argparse
import collections
import json
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import interrupts  # noqa: E402  (standard library only)
if __name__ == "__main__":
    interrupts.die_by_signals()  # Ctrl-C, SIGTERM: no traceback, exit status 128 + signal
import pydeps  # noqa: E402
pydeps.require("make_stylegan2_tf_pickle", "numpy", "torch")

import numpy as np  # noqa: E402
import torch  # noqa: E402

import golden_io  # noqa: E402
import make_stylegan_pickle as v1  # noqa: E402  (the dnnlib.tflib Network stand-in and dumps)


def _np(t):
    return np.array(t.detach().to(torch.float32).numpy(), order="C")  # np.array: a scalar keeps its shape []


def _tf_dense(w):
    return _np(w.t())  # [out, in] -> [in, out]


def _tf_conv(w, up=False):
    w = w.permute(2, 3, 1, 0)  # [out, in, kh, kw] -> [kh, kw, in, out]
    return _np(w.flip([0, 1]) if up else w)


def check_supported(g_kwargs, d_kwargs):
    if g_kwargs["c_dim"] or d_kwargs["c_dim"]:
        raise SystemExit("make_stylegan2_tf_pickle: error: a conditional network has no TF StyleGAN2 form here")
    if g_kwargs["conv_clamp"] is not None or d_kwargs["conv_clamp"] is not None:
        raise SystemExit("make_stylegan2_tf_pickle: error: TF StyleGAN2 networks have no conv_clamp")
    if not g_kwargs["use_noise"]:
        raise SystemExit("make_stylegan2_tf_pickle: error: TF StyleGAN2 synthesis always has noise inputs")
    if d_kwargs.get("architecture", "resnet") not in ("resnet", "orig"):
        raise SystemExit(f"make_stylegan2_tf_pickle: error: D architecture {d_kwargs['architecture']!r}: "
                         "'resnet' or 'orig' only")
    if d_kwargs["mbstd_group_size"] <= 1 and d_kwargs["mbstd_num_channels"] > 0:
        raise SystemExit("make_stylegan2_tf_pickle: error: TF's minibatch-stddev layer needs a group size > 1")


def g_variables(g, kw):
    """PyTorch G state -> (G_main's own, mapping's, synthesis's variables)."""
    L = int(math.log2(kw["img_resolution"]))
    own = collections.OrderedDict(lod=np.zeros([], np.float32), dlatent_avg=_np(g["mapping.w_avg"]))
    mapping = collections.OrderedDict()
    for i in range(kw["mapping_layers"]):
        mapping[f"Dense{i}/weight"] = _tf_dense(g[f"mapping.fc{i}.weight"])
        mapping[f"Dense{i}/bias"] = _np(g[f"mapping.fc{i}.bias"])
    syn = collections.OrderedDict()
    for idx in range(2 * L - 3):  # num_layers - 1 noise inputs, created first
        res = 2 ** ((idx + 5) // 2)
        layer = "conv0" if idx % 2 == 1 else "conv1"  # odd indices are a block's up-conv
        syn[f"noise{idx}"] = _np(g[f"synthesis.b{res}.{layer}.noise_const"][None, None])

    def modconv(scope, pt, up=False):
        syn[f"{scope}/weight"] = _tf_conv(g[f"{pt}.weight"], up)
        syn[f"{scope}/mod_weight"] = _tf_dense(g[f"{pt}.affine.weight"])
        syn[f"{scope}/mod_bias"] = _np(g[f"{pt}.affine.bias"].double() - 1)  # TF: style = dense + mod_bias + 1

    def conv_layer(scope, pt, up=False):
        modconv(scope, pt, up)
        syn[f"{scope}/noise_strength"] = _np(g[f"{pt}.noise_strength"])
        syn[f"{scope}/bias"] = _np(g[f"{pt}.bias"])

    def torgb(scope, pt):
        modconv(scope, pt)
        syn[f"{scope}/bias"] = _np(g[f"{pt}.bias"])

    syn["4x4/Const/const"] = _np(g["synthesis.b4.const"][None])
    conv_layer("4x4/Conv", "synthesis.b4.conv1")
    torgb("4x4/ToRGB", "synthesis.b4.torgb")
    for k in range(3, L + 1):
        r = 2 ** k
        conv_layer(f"{r}x{r}/Conv0_up", f"synthesis.b{r}.conv0", up=True)
        conv_layer(f"{r}x{r}/Conv1", f"synthesis.b{r}.conv1")
        torgb(f"{r}x{r}/ToRGB", f"synthesis.b{r}.torgb")
    return own, mapping, syn


def d_variables(d, kw):
    L = int(math.log2(kw["img_resolution"]))
    v = collections.OrderedDict()
    top = 2 ** L
    v[f"{top}x{top}/FromRGB/weight"] = _tf_conv(d[f"b{top}.fromrgb.weight"])
    v[f"{top}x{top}/FromRGB/bias"] = _np(d[f"b{top}.fromrgb.bias"])
    for k in range(L, 2, -1):
        r = 2 ** k
        for scope, pt in (("Conv0", "conv0"), ("Conv1_down", "conv1")):
            v[f"{r}x{r}/{scope}/weight"] = _tf_conv(d[f"b{r}.{pt}.weight"])
            v[f"{r}x{r}/{scope}/bias"] = _np(d[f"b{r}.{pt}.bias"])
        if kw.get("architecture", "resnet") == "resnet":
            v[f"{r}x{r}/Skip/weight"] = _tf_conv(d[f"b{r}.skip.weight"])
    v["4x4/Conv/weight"] = _tf_conv(d["b4.conv.weight"])
    v["4x4/Conv/bias"] = _np(d["b4.conv.bias"])
    v["4x4/Dense0/weight"] = _tf_dense(d["b4.fc.weight"])
    v["4x4/Dense0/bias"] = _np(d["b4.fc.bias"])
    v["Output/weight"] = _tf_dense(d["b4.out.weight"])
    v["Output/bias"] = _np(d["b4.out.bias"])
    return v


def g_static(kw):
    """What training_loop.py and run_training.py pass to tflib.Network('G', ...)
    for such a network (all explicit here, so no official default is assumed),
    but dlatent_avg_beta: G_main's default (0.995) is not in real pickles'
    static kwargs, and StyleGAN2-ADA's legacy.py refuses the name; given
    only when the network's beta is another."""
    static = dict(num_channels=kw["img_channels"], resolution=kw["img_resolution"], label_size=0,
                  fmap_base=kw["channel_base"] // 2, fmap_max=kw["channel_max"], latent_size=kw["z_dim"],
                  dlatent_size=kw["w_dim"], mapping_layers=kw["mapping_layers"], mapping_fmaps=kw["w_dim"],
                  mapping_lrmul=kw["mapping_lr_multiplier"], architecture="skip")
    if kw["w_avg_beta"] != 0.995:
        static["dlatent_avg_beta"] = kw["w_avg_beta"]
    return static


def d_static(kw):
    return dict(num_channels=kw["img_channels"], resolution=kw["img_resolution"], label_size=0,
                fmap_base=kw["channel_base"] // 2, fmap_max=kw["channel_max"],
                mbstd_group_size=kw["mbstd_group_size"] if kw["mbstd_num_channels"] else 0,
                mbstd_num_features=max(kw["mbstd_num_channels"], 1), architecture=kw.get("architecture", "resnet"))


def g_state(name, g, kw):
    own, mapping, syn = g_variables(g, kw)
    static = g_static(kw)
    comps = {"synthesis": v1.state("G_synthesis", "G_synthesis_stylegan2", static, syn, version=4),
             "mapping": v1.state("G_mapping", "G_mapping", dict(static, dlatent_broadcast=2 * int(
                 math.log2(kw["img_resolution"])) - 2), mapping, version=4)}
    return v1.state(name, "G_main", static, own, comps, version=4)


def make_states(nets, g_kwargs, d_kwargs):
    """{"G", "D", "G_ema": PyTorch state with the official names} -> the (G, D, Gs) states."""
    check_supported(g_kwargs, d_kwargs)
    return (g_state("G", nets["G"], g_kwargs),
            v1.state("D", "D_stylegan2", d_static(d_kwargs), d_variables(nets["D"], d_kwargs), version=4),
            g_state("Gs", nets["G_ema"], g_kwargs))


def drop_variable(states, spec):
    """states (G, D, Gs) without the variable NET:VARIABLE."""
    net, _, name = spec.partition(":")
    names = {"G": 0, "D": 1, "Gs": 2}
    if net not in names:
        raise SystemExit(f"make_stylegan2_tf_pickle: error: --drop {spec}: NET is G, D or Gs")
    st = states[names[net]]
    comp, _, rest = name.partition("/")
    if comp in st["components"]:
        sub = drop_variable_in(st["components"][comp], rest, spec)
        st = dict(st, components=dict(st["components"], **{comp: sub}))
    else:
        st = drop_variable_in(st, name, spec)
    return tuple(st if i == names[net] else s for i, s in enumerate(states))


def drop_variable_in(st, name, spec):
    kept = [(n, a) for n, a in st["variables"] if n != name]
    if len(kept) == len(st["variables"]):
        raise SystemExit(f"make_stylegan2_tf_pickle: error: --drop {spec}: no such variable")
    return dict(st, variables=kept)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out")
    p.add_argument("--from", dest="src", required=True, metavar="NET.bin",
                   help="a ganforge StyleGAN2 bundle with G, D and G_ema (export_weights, tests/data/parity_*.bin)")
    p.add_argument("--drop", action="append", default=[], metavar="NET:VARIABLE",
                   help="leave a variable out (for error tests)")
    a = p.parse_args()
    tensors, meta = golden_io.read_safetensors(a.src)
    nets = {key: {n[len(key) + 1:]: t for n, t in tensors.items() if n.startswith(key + ".")}
            for key in ("G", "D", "G_ema")}
    missing = [k for k, v in nets.items() if not v]
    if missing or "G_kwargs" not in meta or "D_kwargs" not in meta:
        raise SystemExit(f"make_stylegan2_tf_pickle: error: {a.src}: not a StyleGAN2 bundle with G, D and G_ema")
    states = make_states(nets, json.loads(meta["G_kwargs"]), json.loads(meta["D_kwargs"]))
    for spec in a.drop:
        states = drop_variable(states, spec)
    data = v1.dumps(states)
    golden_io.write_atomically(a.out, [data])
    print(f"wrote (G, D, Gs) to {a.out} ({len(data)} bytes)")


if __name__ == "__main__":
    main()
