"""PGGAN's TensorFlow pickles (tkarras/progressive_growing_of_gans: (G, D, Gs)
of tfutil.Network objects, state version 2) into a PGGAN bundle; the TF
network state helpers the StyleGAN (v1) and StyleGAN2 TF readers share."""
import collections
import json
import re
import sys

import numpy as np
import torch

import pggan_reference as pgref

from .config_inference import tensor_dims
from .config_values import _plain, checked_settings
from .errors import ConvertError
from .restricted_pickle import TFNetwork


def is_tf_networks(top):
    return isinstance(top, tuple) and len(top) > 0 and all(isinstance(n, TFNetwork) for n in top)


def _plain_value(v, where):
    """static_kwargs values: plain Python data (NumPy scalars become numbers)."""
    v = _plain(v)
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, (list, tuple)):
        return [_plain_value(x, where) for x in v]
    if isinstance(v, dict):
        return {str(k): _plain_value(x, where) for k, x in v.items()}
    raise ConvertError(f"{where}: a static_kwargs value of type {type(v).__name__}")


def _variable_as_float32(value, name, where):
    """A float16/32/64 variable as float32. A finite float64 beyond float32's
    range is named here: the cast made it inf (with NumPy's RuntimeWarning on
    stderr) and the weight check then blamed the file for an inf."""
    with np.errstate(over="ignore", invalid="ignore"):
        out = value.astype(np.float32)
    overflow = np.isfinite(value) & ~np.isfinite(out)
    if overflow.any():
        at = [int(i) for i in np.argwhere(overflow)[0]]
        raise ConvertError(f"{where}: variable {name} holds {float(value[tuple(at)])!r} at {at}, beyond float32's "
                           f"range ({int(overflow.sum())} values overflow float32); ganforge's weights are float32")
    return out


def tf_network_state(net, path, which, version=2):
    """One tfutil.Network's pickled state, checked: its version (2: PGGAN's
    tfutil; 3: StyleGAN's dnnlib.tflib, with components; 4: StyleGAN2's), its kwargs, and its
    variables as {name: float32 array} (official order); "components" maps a
    component's key to its own state."""
    where = f"{path}: {which}"
    if not isinstance(net, TFNetwork):
        raise ConvertError(f"{where}: not a TensorFlow network object")
    st = net.state
    if st.get("version") != version:
        raise ConvertError(f"{where}: network state version {str(st.get('version'))[:20]}, expected {version} "
                           + {2: "(the tfutil.Network of progressive_growing_of_gans)",
                              3: "(the dnnlib.tflib.network.Network of NVlabs/stylegan)",
                              4: "(the dnnlib.tflib.network.Network of NVlabs/stylegan2)"}[version])
    for key, typ in (("name", str), ("build_func_name", str), ("build_module_src", str), ("static_kwargs", dict),
                     ("variables", (list, tuple))):
        if not isinstance(st.get(key), typ):
            raise ConvertError(f"{where}: network state has no {key} of type {typ if isinstance(typ, type) else 'list'}")
    variables = collections.OrderedDict()
    for item in st["variables"]:
        if not (isinstance(item, (list, tuple)) and len(item) == 2 and isinstance(item[0], str)
                and isinstance(item[1], (np.ndarray, np.generic))):
            raise ConvertError(f"{where}: variables are not (name, array) pairs")
        name, value = item[0], np.asarray(item[1])
        if name in variables:
            raise ConvertError(f"{where}: variable {name} appears twice")
        if value.dtype.kind != "f":
            raise ConvertError(f"{where}: variable {name} has dtype {value.dtype}, expected a float array")
        variables[name] = _variable_as_float32(value, name, where)
    kwargs = {str(k): _plain_value(v, where) for k, v in st["static_kwargs"].items()}
    components = {}
    if version >= 3:
        comps = st.get("components", {})
        if not isinstance(comps, dict):
            raise ConvertError(f"{where}: components is not a dict")
        components = {str(k): tf_network_state(c, path, f"{which}.{k}", version) for k, c in comps.items()}
    return {"func": st["build_func_name"], "name": st["name"], "kwargs": kwargs, "variables": variables,
            "components": components}


def read_pggan_pickle(top, path):
    """(G, D, Gs) -> {"G", "D", "G_ema"}: network states."""
    if len(top) != 3:
        raise ConvertError(f"{path}: holds {len(top)} TensorFlow networks; an official PGGAN pickle is (G, D, Gs)")
    nets = {}
    for key, which, func in (("G", "G", "G_paper"), ("D", "D", "D_paper"), ("G_ema", "Gs", "G_paper")):
        state = tf_network_state(top[len(nets)], path, which)
        if state["func"] != func:
            raise ConvertError(f"{path}: {which} is built by '{state['func'][:40]}'; ganforge imports PGGAN's "
                               f"G_paper and D_paper networks (expected {func})")
        nets[key] = state
    return nets


def _stage_channels(fmap_base, fmap_decay, fmap_max, stages, where="the network"):
    try:
        return [pgref.nf(s, dict(fmap_base=fmap_base, fmap_decay=fmap_decay, fmap_max=fmap_max)) for s in stages]
    except (OverflowError, ZeroDivisionError):  # 2.0 ** (stage * decay) beyond a float: the official nf() fails too
        raise ConvertError(f"{where}: fmap_decay {fmap_decay!r} is out of range: the official nf() computes "
                           f"fmap_base / 2 ** (stage * fmap_decay), which overflows for stages {stages[0]}-{stages[-1]}")


def _infer_fmaps(kw, measured, where):
    """fmap_base/decay/max giving the measured channels per stage: the kwargs'
    (official defaults where absent), else a base and max with decay 1."""
    stages = sorted(measured)
    want = [measured[s] for s in stages]
    empty = [s for s in stages if measured[s] < 1]
    if empty:  # fmap_base too small for the resolution: ganforge's layers need a feature map (nf() >= 1)
        res = 2 ** (empty[0] + 1)
        raise ConvertError(f"{where}: no feature maps at {res}x{res} (stage {empty[0]}); ganforge's networks need "
                           f"at least one per layer")
    if _stage_channels(kw["fmap_base"], kw["fmap_decay"], kw["fmap_max"], stages, f"{where}: static_kwargs") == want:
        return kw
    cmax = max(want)
    below = [c * 2 ** s for s, c in measured.items() if c < cmax]
    base = max(below) if below else cmax * 2 ** max(stages)
    if _stage_channels(base, 1.0, cmax, stages) != want:
        raise ConvertError(f"{where}: feature maps per stage {dict(zip(stages, want))} fit no fmap_base/fmap_max")
    return dict(kw, fmap_base=base, fmap_decay=1.0, fmap_max=cmax)


def _d_stage_channels(v, L):
    """A TF D_paper/D_basic's channels per stage as its variables hold them (PGGAN's and StyleGAN v1's D share
    the layout): stage s's from FromRGB_lod{L-s-1}'s outputs, stage 0's from 4x4/Dense0's inputs."""
    measured = {}
    for lod in range(0, L - 1):
        name = f"FromRGB_lod{lod}/weight"
        if name in v and v[name].ndim == 4:
            measured[L - lod - 1] = int(v[name].shape[3])
    if "4x4/Dense0/weight" in v and v["4x4/Dense0/weight"].ndim == 2:
        measured[0] = int(v["4x4/Dense0/weight"].shape[1])
    return measured


def _check_variables(variables, expected, where):
    missing = [n for n in expected if n not in variables]
    extra = [n for n in variables if n not in expected]
    more = lambda names: f" (and {len(names) - 1} more)" if len(names) > 1 else ""  # noqa: E731
    if missing:
        raise ConvertError(f"{where}: missing variable {missing[0]}{more(missing)}")
    if extra:
        raise ConvertError(f"{where}: unexpected variable {extra[0]}{more(extra)}")
    for n, shape in expected.items():
        if list(variables[n].shape) != list(shape):
            raise ConvertError(f"{where}: variable {n} has shape {list(variables[n].shape)}, expected {list(shape)}")


def _ignored_kwargs(kwargs, known, where):
    ignored = sorted(k for k in kwargs if k not in known)
    if ignored:
        print(f"convert_weights: note: {where}: static_kwargs {', '.join(ignored)} have no effect on the network "
              "(the official build function ignores them too)", file=sys.stderr)


def _top_lod(variables, prefix, where):
    lods = [int(m.group(1)) for n in variables for m in [re.match(prefix + r"_lod(\d+)/weight$", n)] if m]
    if not lods:
        raise ConvertError(f"{where}: no {prefix}_lod<k>/weight variable (not a PGGAN network?)")
    return max(lods)


def pggan_g_kwargs(net, where, label_size):
    """label_size: D's label count, used when the pickle's kwargs lack it."""
    v, sk = net["variables"], net["kwargs"]
    _ignored_kwargs(sk, set(pgref.G_DEFAULTS) | {"dtype", "structure", "mbstd_group_size"}, where)
    if sk.get("dtype", "float32") not in ("float32", "float16"):
        raise ConvertError(f"{where}: dtype {sk['dtype']} is not supported")
    kw = dict(pgref.G_DEFAULTS)
    kw.update({k: sk[k] for k in pgref.G_DEFAULTS if k in sk})
    kw = checked_settings(kw, where, "pggan")  # a string or 1e30 reached nf() unchecked
    if "label_size" not in sk:
        kw["label_size"] = label_size
    L = _top_lod(v, "ToRGB", where) + 2
    kw["resolution"] = 2 ** L
    if "ToRGB_lod0/weight" in v:
        kw["num_channels"] = tensor_dims(v["ToRGB_lod0/weight"], "ToRGB_lod0/weight", where, 4, kind="variable")[3]
    kw["fused_scale"] = any(n.endswith("/Conv0_up/weight") for n in v) if L > 2 else kw["fused_scale"]
    if "4x4/Dense/weight" not in v:
        raise ConvertError(f"{where}: missing variable 4x4/Dense/weight")
    dense_in, dense_out = v["4x4/Dense/weight"].shape if v["4x4/Dense/weight"].ndim == 2 else (0, 0)
    measured = {1: dense_out // 16}
    for res in range(3, L + 1):
        name = f"{2 ** res}x{2 ** res}/Conv1/weight"
        if name in v and v[name].ndim == 4:
            measured[res - 1] = int(v[name].shape[3])
    kw = _infer_fmaps(kw, measured, where)
    if kw["latent_size"] is None:  # official None is nf(0); the shape must agree (checked below)
        kw["latent_size"] = dense_in - kw["label_size"]
    _check_variables(v, pgref.g_variables(**kw), where)
    return kw


def pggan_d_kwargs(net, where, mbstd_group_size):
    v, sk = net["variables"], net["kwargs"]
    _ignored_kwargs(sk, set(pgref.D_DEFAULTS) | {"dtype", "structure", "latent_size", "normalize_latents",
                                                 "use_pixelnorm", "pixelnorm_epsilon", "use_leakyrelu"}, where)
    kw = dict(pgref.D_DEFAULTS)
    kw.update({k: sk[k] for k in pgref.D_DEFAULTS if k in sk})
    kw = checked_settings(kw, where, "pggan")
    if mbstd_group_size is not None:
        kw["mbstd_group_size"] = mbstd_group_size
    L = _top_lod(v, "FromRGB", where) + 2
    kw["resolution"] = 2 ** L
    if "FromRGB_lod0/weight" in v:
        kw["num_channels"] = tensor_dims(v["FromRGB_lod0/weight"], "FromRGB_lod0/weight", where, 4, kind="variable")[2]
    kw["fused_scale"] = any(n.endswith("/Conv1_down/weight") for n in v) if L > 2 else kw["fused_scale"]
    if "4x4/Dense1/weight" in v and v["4x4/Dense1/weight"].ndim == 2:
        kw["label_size"] = int(v["4x4/Dense1/weight"].shape[1]) - 1
    kw = _infer_fmaps(kw, _d_stage_channels(v, L), where)
    conv = v.get("4x4/Conv/weight")
    if conv is not None and conv.ndim == 4:
        has_mbstd = conv.shape[2] == pgref.nf(1, kw) + 1
        if has_mbstd != (kw["mbstd_group_size"] > 1):
            raise ConvertError(f"{where}: 4x4/Conv reads {conv.shape[2]} feature maps, which "
                               f"{'includes' if has_mbstd else 'excludes'} a minibatch-stddev map, but the group "
                               f"size is {kw['mbstd_group_size']} (--mbstd-group-size)")
    _check_variables(v, pgref.d_variables(**kw), where)
    return kw


def convert_pggan(nets, path, args):
    """-> (tensors with bundle names in ganforge layouts, metadata)."""
    tensors, meta = {}, {"family": "pggan"}
    g_kwargs = d_kwargs = None
    for key in ("D", "G", "G_ema"):
        where = f"{path}: {'Gs' if key == 'G_ema' else key}"
        net = nets[key]
        if key == "D":
            kwargs = d_kwargs = pggan_d_kwargs(net, where, args.mbstd_group_size)
            meta["D_kwargs"] = json.dumps(kwargs)
        else:
            kwargs = pggan_g_kwargs(net, where, d_kwargs["label_size"])
            if g_kwargs is not None and g_kwargs != kwargs:
                raise ConvertError(f"{path}: G and Gs have different configurations")
            g_kwargs = kwargs
            meta["G_kwargs"] = json.dumps(kwargs)
        for name, value in net["variables"].items():
            # np.array, not ascontiguousarray: the scalar lod keeps its shape [].
            tensors[f"{key}.{name}"] = torch.from_numpy(np.array(pgref.to_ganforge(name, value), order="C"))
    return tensors, meta
