"""StyleGAN (v1)'s TensorFlow pickles (NVlabs/stylegan: (G, D, Gs) of
dnnlib.tflib networks, state version 3) into a StyleGAN bundle."""
import collections
import json
import re

import numpy as np
import torch

import stylegan_reference as sgref

from .config_values import checked_settings
from .errors import ConvertError
from .pggan_tf import (_check_variables, _d_stage_channels, _ignored_kwargs, _infer_fmaps, _top_lod,
                       tf_network_state)


def tf_version(top):
    st = getattr(top[0], "state", None)
    return st.get("version") if isinstance(st, dict) else None


def read_stylegan_pickle(top, path):
    """(G, D, Gs) of dnnlib.tflib networks (state version 3) -> {"G", "D",
    "G_ema"}: each {"kwargs", "variables"} with G's component variables
    flattened under "G_mapping/" and "G_synthesis/" and its kwargs merged
    (G_style passes its kwargs to both components, as the official code)."""
    if len(top) != 3:
        raise ConvertError(f"{path}: holds {len(top)} TensorFlow networks; an official StyleGAN pickle is (G, D, Gs)")
    nets = {}
    for i, (key, which, func) in enumerate((("G", "G", "G_style"), ("D", "D", "D_basic"), ("G_ema", "Gs", "G_style"))):
        state = tf_network_state(top[i], path, which, 3)
        if state["func"] != func:
            raise ConvertError(f"{path}: {which} is built by '{state['func'][:40]}'; ganforge imports StyleGAN's "
                               f"G_style and D_basic networks (expected {func})")
        if key == "D":
            nets[key] = state
            continue
        kwargs, variables = dict(state["kwargs"]), collections.OrderedDict(state["variables"])
        for comp, prefix, cfunc in (("mapping", "G_mapping", "G_mapping"), ("synthesis", "G_synthesis", "G_synthesis")):
            c = state["components"].get(comp)
            if c is None:
                raise ConvertError(f"{path}: {which} has no {comp} component")
            if c["func"] != cfunc:
                raise ConvertError(f"{path}: {which}.{comp} is built by '{c['func'][:40]}', expected {cfunc}")
            for k, v in c["kwargs"].items():
                kwargs.setdefault(k, v)
            for n, a in c["variables"].items():
                variables[f"{prefix}/{n}"] = a
        nets[key] = dict(state, kwargs=kwargs, variables=variables)
    return nets


def _sg_note_ignored(sk, known, where):
    _ignored_kwargs(sk, set(known) | {"dtype", "structure", "use_styles", "const_input_layer", "randomize_noise",
                                      "is_template_graph", "truncation_psi_val", "truncation_cutoff_val",
                                      "dlatent_broadcast", "components", "func_name"}, where)


def stylegan_g_kwargs(net, where, label_size, mapping_lrmul=None):
    v, sk = net["variables"], net["kwargs"]
    _sg_note_ignored(sk, sgref.G_DEFAULTS, where)
    for key in ("use_styles", "const_input_layer"):
        if key in sk and not sk[key]:
            raise ConvertError(f"{where}: {key} false is not supported")
    kw = dict(sgref.G_DEFAULTS)
    kw.update({k: sk[k] for k in sgref.G_DEFAULTS if k in sk})
    kw = checked_settings(kw, where, "stylegan")
    if mapping_lrmul is not None:  # --mapping-lr-multiplier, as the PGGAN and StyleGAN2 importers take it
        kw["mapping_lrmul"] = mapping_lrmul
    for k in ("truncation_psi", "truncation_cutoff", "dlatent_avg_beta", "style_mixing_prob", "blur_filter"):
        if k in sk and sk[k] is None:
            kw[k] = {"truncation_psi": 1.0, "truncation_cutoff": 0, "dlatent_avg_beta": 1.0,
                     "style_mixing_prob": 0.0, "blur_filter": None}[k]
    L = _top_lod(v, "G_synthesis/ToRGB", where) + 2
    kw["resolution"] = 2 ** L
    rgb = v.get("G_synthesis/ToRGB_lod0/weight")
    if rgb is not None and rgb.ndim == 4:
        kw["num_channels"] = int(rgb.shape[3])
    lc = v.get("G_mapping/LabelConcat/weight")
    kw["label_size"] = int(lc.shape[0]) if lc is not None and lc.ndim == 2 else 0
    dense = sorted(int(m.group(1)) for n in v for m in [re.match(r"G_mapping/Dense(\d+)/weight$", n)] if m)
    if not dense or dense != list(range(len(dense))):
        raise ConvertError(f"{where}: mapping layers G_mapping/Dense<i> missing or not numbered from 0")
    kw["mapping_layers"] = len(dense)
    d0, dl = v["G_mapping/Dense0/weight"], v[f"G_mapping/Dense{len(dense) - 1}/weight"]
    if d0.ndim == 2 and dl.ndim == 2:
        kw["latent_size"] = int(d0.shape[0]) // (2 if kw["label_size"] else 1)
        kw["dlatent_size"] = int(dl.shape[1])
        if len(dense) > 1:
            kw["mapping_fmaps"] = int(d0.shape[1])
    kw["use_noise"] = any(n.startswith("G_synthesis/noise") for n in v)
    measured = {}
    for res in range(2, L + 1):
        name = f"G_synthesis/{2 ** res}x{2 ** res}/" + ("Conv" if res == 2 else "Conv1") + "/weight"
        if name in v and v[name].ndim == 4:
            measured[res - 1] = int(v[name].shape[3])
    kw = _infer_fmaps(kw, measured, where)
    _check_variables(v, sgref.g_variables(**kw), where)
    return kw


def stylegan_d_kwargs(net, where, mbstd_group_size=None):
    v, sk = net["variables"], net["kwargs"]
    _sg_note_ignored(sk, sgref.D_DEFAULTS, where)
    kw = dict(sgref.D_DEFAULTS)
    kw.update({k: sk[k] for k in sgref.D_DEFAULTS if k in sk})
    kw = checked_settings(kw, where, "stylegan")
    given = mbstd_group_size is not None  # --mbstd-group-size: checked against the variables below
    if given:
        kw["mbstd_group_size"] = mbstd_group_size
    if "blur_filter" in sk and sk["blur_filter"] is None:
        kw["blur_filter"] = None
    L = _top_lod(v, "FromRGB", where) + 2
    kw["resolution"] = 2 ** L
    if "FromRGB_lod0/weight" in v and v["FromRGB_lod0/weight"].ndim == 4:
        kw["num_channels"] = int(v["FromRGB_lod0/weight"].shape[2])
    d1 = v.get("4x4/Dense1/weight")
    if d1 is not None and d1.ndim == 2 and d1.shape[1] > 1:
        kw["label_size"] = int(d1.shape[1])
    kw = _infer_fmaps(kw, _d_stage_channels(v, L), where)
    conv = v.get("4x4/Conv/weight")
    if conv is not None and conv.ndim == 4:
        extra = int(conv.shape[2]) - sgref.nf(1, kw)
        if given and (extra > 0) != (kw["mbstd_group_size"] > 1):
            raise ConvertError(f"{where}: 4x4/Conv reads {conv.shape[2]} feature maps, which "
                               f"{'includes' if extra > 0 else 'excludes'} minibatch-stddev maps, but the group "
                               f"size is {kw['mbstd_group_size']} (--mbstd-group-size)")
        if extra == 0:
            kw["mbstd_group_size"] = 0 if kw["mbstd_group_size"] > 1 else kw["mbstd_group_size"]
        elif kw["mbstd_group_size"] > 1:
            kw["mbstd_num_features"] = extra
    _check_variables(v, sgref.d_variables(**kw), where)
    return kw


def convert_stylegan(nets, path, args):
    """-> (tensors with bundle names in ganforge layouts, metadata family "stylegan")."""
    tensors, meta = {}, {"family": "stylegan"}
    d_kwargs = stylegan_d_kwargs(nets["D"], f"{path}: D", args.mbstd_group_size)
    meta["D_kwargs"] = json.dumps(d_kwargs)
    g_kwargs = None
    for key in ("G", "G_ema"):
        kw = stylegan_g_kwargs(nets[key], f"{path}: {'Gs' if key == 'G_ema' else key}", d_kwargs["label_size"],
                               args.mapping_lr_multiplier)
        if g_kwargs is not None and g_kwargs != kw:
            raise ConvertError(f"{path}: G and Gs have different configurations")
        g_kwargs = kw
    meta["G_kwargs"] = json.dumps(g_kwargs)
    for key in ("D", "G", "G_ema"):
        for name, value in nets[key]["variables"].items():
            tensors[f"{key}.{name}"] = torch.from_numpy(np.array(sgref.to_ganforge(name, value), order="C"))
    return tensors, meta
