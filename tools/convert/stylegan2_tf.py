"""StyleGAN2's TensorFlow pickles (NVlabs/stylegan2: (G, D, Gs) of dnnlib.tflib
networks, state version 4) into the official PyTorch names and layouts, by
the official TF -> PyTorch correspondence."""
import collections
import math
import re

import numpy as np
import torch

import stylegan2_reference as ref

from .config_inference import tensor_dims
from .config_values import D_ARCHITECTURES, checked_settings
from .errors import ConvertError
from .pggan_tf import _ignored_kwargs, tf_network_state


# NVlabs/stylegan2's build functions for configs E and F (run_training.py):
# G_main with the components mapping (G_mapping) and synthesis
# (G_synthesis_stylegan2), and D_stylegan2.
SG2_TF_FUNCS = {"G": "G_main", "D": "D_stylegan2", "mapping": "G_mapping", "synthesis": "G_synthesis_stylegan2"}
# Their keyword arguments (the build functions take the rest as **_kwargs and
# ignore it). StyleGAN2-ADA's TF networks (G_synthesis, D_main) are other
# build functions and are refused by name.
_SG2_TF_COMMON = {"num_channels", "resolution", "label_size", "fmap_base", "fmap_decay", "fmap_min", "fmap_max",
                  "architecture", "nonlinearity", "resample_kernel", "dtype", "structure", "is_template_graph"}
SG2_TF_G_KWARGS = _SG2_TF_COMMON | {
    "latent_size", "dlatent_size", "mapping_layers", "mapping_fmaps", "mapping_lrmul", "mapping_nonlinearity",
    "normalize_latents", "fused_modconv", "randomize_noise", "truncation_psi", "truncation_cutoff",
    "truncation_psi_val", "truncation_cutoff_val", "dlatent_avg_beta", "style_mixing_prob", "mapping_func",
    "synthesis_func", "dlatent_broadcast", "force_clean_graph"}
SG2_TF_D_KWARGS = _SG2_TF_COMMON | {"mbstd_group_size", "mbstd_num_features"}


# Other build functions state version 4 pickles record, named for what they
# are: NVlabs/stylegan2's run_training.py builds configs A-D with progressive
# growing (B-D: G_synthesis_stylegan_revised and D_stylegan; A: StyleGAN's
# G_style and D_basic), and NVlabs/stylegan2-ada's TF networks are G_main with
# the components G_mapping and G_synthesis, and D_main.
_ADA_TF = ("a StyleGAN2-ADA TensorFlow network (NVlabs/stylegan2-ada); StyleGAN2-ADA-PyTorch's legacy.py turns "
           "it into a PyTorch pickle, which ganforge imports")
_SG2_TF_OTHERS = {
    "G_synthesis": _ADA_TF, "D_main": _ADA_TF,
    "G_synthesis_stylegan_revised": "NVlabs/stylegan2 configs B-D: progressive growing",
    "D_stylegan": "NVlabs/stylegan2 configs B-D: progressive growing",
    "G_style": "NVlabs/stylegan2 config A: the original StyleGAN's networks",
    "D_basic": "NVlabs/stylegan2 config A: the original StyleGAN's networks",
}


def _sg2_tf_known(func):
    return f" ({_SG2_TF_OTHERS[func]})" if isinstance(func, str) and func in _SG2_TF_OTHERS else ""


class _TFVariables:
    """One network's variables, taken by name with their rank checked; what is
    left untaken at the end is reported as unexpected."""

    def __init__(self, variables, where):
        self.variables, self.where, self.used = variables, where, set()

    def __call__(self, name, ndim, lead=0):
        if name not in self.variables:
            raise ConvertError(f"{self.where}: missing variable {name}")
        a = self.variables[name]
        tensor_dims(a, name, self.where, ndim, lead, kind="variable")
        self.used.add(name)
        return a

    def check_rest(self):
        extra = [n for n in self.variables if n not in self.used]
        if extra:
            more = f" (and {len(extra) - 1} more)" if len(extra) > 1 else ""
            raise ConvertError(f"{self.where}: unexpected variable {extra[0]}{more}")


def _t(a):
    return torch.from_numpy(np.array(a, dtype=np.float32, order="C"))  # np.array: a scalar keeps its shape []


def _dense(a):
    """TF dense weight [in, out] -> torch [out, in]."""
    return _t(a.T)


def _conv(a, flip=False):
    """TF conv weight [kh, kw, in, out] -> torch [out, in, kh, kw]. flip: the
    TF upsampling conv (upsample_conv_2d) flips its kernel before the
    transposed convolution; the official PyTorch layer runs the transposed
    convolution on the unflipped weight (flip_weight=False), so the stored
    kernel is the TF one turned by 180 degrees."""
    return _t((a[::-1, ::-1] if flip else a).transpose(3, 2, 0, 1))


def _tf_setting(kw, key, default, allowed, where, why):
    v = kw.get(key, default)
    if v not in allowed:
        raise ConvertError(f"{where}: {key} {v!r} is not supported ({why})")
    return v


def _tf_unconditional(kw, labelled, where):
    if kw.get("label_size", 0) or labelled:
        raise ConvertError(f"{where}: a conditional network (label_size {kw.get('label_size', 0)}): TensorFlow "
                           "StyleGAN2 concatenates a label embedding before normalizing z (LabelConcat) and scores by "
                           "a label dot product, which ganforge's StyleGAN2 (the StyleGAN2-ADA embed and projection) "
                           "does not compute; only unconditional networks are imported")


def stylegan2_tf_generator(net, where):
    """G_main state (components mapping and synthesis) -> (state with the
    official PyTorch names, hints). Semantics per variable (official
    networks_stylegan2.py): dense [in, out], conv [kh, kw, in, out], the style
    is dense(w) + mod_bias + 1 (the PyTorch affine bias is that bias + 1),
    noise{i} [1, 1, r, r] per layer index i, the learned constant [1, C, 4, 4]."""
    comps = net["components"]
    for comp in ("mapping", "synthesis"):
        c = comps.get(comp)
        if c is None:
            raise ConvertError(f"{where} has no {comp} component")
        if c["func"] != SG2_TF_FUNCS[comp]:
            raise ConvertError(f"{where}.{comp} is built by '{c['func'][:40]}'{_sg2_tf_known(c['func'])}; ganforge "
                               f"imports {SG2_TF_FUNCS[comp]} (NVlabs/stylegan2 configs E and F)")
    kw = dict(net["kwargs"])
    for comp in ("mapping", "synthesis"):
        for k, v in comps[comp]["kwargs"].items():
            kw.setdefault(k, v)
    _ignored_kwargs(kw, SG2_TF_G_KWARGS, where)
    kw = checked_settings(kw, where, "stylegan2")
    own = _TFVariables(net["variables"], where)
    m = _TFVariables(comps["mapping"]["variables"], f"{where}.mapping")
    s = _TFVariables(comps["synthesis"]["variables"], f"{where}.synthesis")
    _tf_unconditional(kw, "LabelConcat/weight" in m.variables, where)
    arch = kw.get("architecture", "skip")
    if any(n.endswith("/Skip/weight") for n in s.variables):
        arch = "resnet"
    elif "4x4/ToRGB/weight" not in s.variables and arch == "skip":
        arch = "orig"
    _tf_setting({"architecture": arch}, "architecture", "skip", ["skip"], where,
                "ganforge's StyleGAN2 generator is 'skip', as configs E and F")
    _tf_setting(kw, "normalize_latents", True, [True], where, "the mapping always normalizes z")
    for key in ("nonlinearity", "mapping_nonlinearity"):
        _tf_setting(kw, key, "lrelu", ["lrelu"], where, "leaky ReLU 0.2 only")
    _tf_setting(kw, "resample_kernel", [1, 3, 3, 1], [[1, 3, 3, 1]], where, "the [1, 3, 3, 1] filter only")
    _tf_setting(kw, "dtype", "float32", ["float32", "float16"], where, "float32 or float16 activations")

    out = collections.OrderedDict()
    layers = len([n for n in m.variables if re.fullmatch(r"Dense\d+/weight", n)])
    for i in range(layers):
        out[f"mapping.fc{i}.weight"] = _dense(m(f"Dense{i}/weight", 2))
        out[f"mapping.fc{i}.bias"] = _t(m(f"Dense{i}/bias", 1))
    hidden = {int(out[f"mapping.fc{i}.weight"].shape[0]) for i in range(layers - 1)}
    if layers and hidden - {int(out[f"mapping.fc{layers - 1}.weight"].shape[0])}:
        w_dim = out[f"mapping.fc{layers - 1}.weight"].shape[0]
        raise ConvertError(f"{where}: mapping_fmaps {sorted(hidden)[0]} differs from dlatent_size {w_dim}; "
                           "ganforge's mapping layers are all w_dim wide")
    # What static_kwargs say of the mapping must be what its variables are, as
    # for resolution below: mapping_layers 3 over two Dense layers was written
    # as 2 without a word (the official build would have made three).
    for key, got in (("mapping_layers", layers),
                     ("latent_size", int(out["mapping.fc0.weight"].shape[1]) if layers else None),
                     ("dlatent_size", int(out[f"mapping.fc{layers - 1}.weight"].shape[0]) if layers else None)):
        if kw.get(key) is not None and got is not None and kw[key] != got:
            raise ConvertError(f"{where}: static_kwargs {key} {kw[key]}, but the mapping's variables "
                               f"(Dense0..Dense{layers - 1}) give {got}")
    if not layers:
        raise ConvertError(f"{where}.mapping: missing variable Dense0/weight")
    out["mapping.w_avg"] = _t(own("dlatent_avg", 1))
    if "lod" in own.variables:
        own("lod", 0)  # G_main's progressive-growing level: unused by G_synthesis_stylegan2

    def layer(scope, dst, noise, flip=False):
        out[f"{dst}.weight"] = _conv(s(f"{scope}/weight", 4), flip)
        out[f"{dst}.bias"] = _t(s(f"{scope}/bias", 1))
        out[f"{dst}.affine.weight"] = _dense(s(f"{scope}/mod_weight", 2))
        out[f"{dst}.affine.bias"] = _t(s(f"{scope}/mod_bias", 1).astype(np.float64) + 1)
        out[f"{dst}.noise_strength"] = _t(s(f"{scope}/noise_strength", 0))
        out[f"{dst}.noise_const"] = _t(s(f"noise{noise}", 4, lead=2)[0, 0])
        out[f"{dst}.resample_filter"] = ref.setup_filter()

    def torgb(scope, dst):
        out[f"{dst}.weight"] = _conv(s(f"{scope}/weight", 4))
        out[f"{dst}.bias"] = _t(s(f"{scope}/bias", 1))
        out[f"{dst}.affine.weight"] = _dense(s(f"{scope}/mod_weight", 2))
        out[f"{dst}.affine.bias"] = _t(s(f"{scope}/mod_bias", 1).astype(np.float64) + 1)

    top = max([int(mt.group(1)) for n in s.variables for mt in [re.fullmatch(r"(\d+)x\1/Conv1/weight", n)] if mt],
              default=4)
    if kw.get("resolution", top) != top:
        raise ConvertError(f"{where}: static_kwargs resolution {kw['resolution']}, but the variables end at "
                           f"{top}x{top}")
    out["synthesis.b4.const"] = _t(s("4x4/Const/const", 4, lead=1)[0])
    layer("4x4/Conv", "synthesis.b4.conv1", 0)
    torgb("4x4/ToRGB", "synthesis.b4.torgb")
    out["synthesis.b4.resample_filter"] = ref.setup_filter()
    for k in range(3, int(math.log2(top)) + 1):
        r = 2 ** k
        layer(f"{r}x{r}/Conv0_up", f"synthesis.b{r}.conv0", 2 * k - 5, flip=True)
        layer(f"{r}x{r}/Conv1", f"synthesis.b{r}.conv1", 2 * k - 4)
        torgb(f"{r}x{r}/ToRGB", f"synthesis.b{r}.torgb")
        out[f"synthesis.b{r}.resample_filter"] = ref.setup_filter()
    for t in (own, m, s):
        t.check_rest()
    rgb = int(out[f"synthesis.b{top}.torgb.weight"].shape[0])
    if kw.get("num_channels", rgb) != rgb:
        raise ConvertError(f"{where}: static_kwargs num_channels {kw['num_channels']}, but {top}x{top}/ToRGB "
                           f"writes {rgb}")
    beta = kw.get("dlatent_avg_beta", 0.995)
    hints = {"mapping_lr_multiplier": kw.get("mapping_lrmul", 0.01), "w_avg_beta": 1.0 if beta is None else beta,
             "conv_clamp": None}
    return out, hints


def stylegan2_tf_discriminator(net, where):
    """D_stylegan2 state ('resnet' or 'orig') -> (state with the official
    PyTorch names, hints). Its downsampling convs (conv_downsample_2d: FIR
    filter, then a strided correlation) are the PyTorch ones: no flip. 'resnet'
    adds the 1x1 Skip conv and scales the sum by 1/sqrt(2), as the PyTorch
    gains sqrt(0.5) on both branches do; 'orig' (config E's Dorig) has no Skip
    and no scaling, as the PyTorch 'orig' block. The minibatch-stddev layer
    exists when mbstd_group_size > 1; 4x4/Conv then reads its extra maps."""
    kw = net["kwargs"]
    _ignored_kwargs(kw, SG2_TF_D_KWARGS, where)
    kw = checked_settings(kw, where, "stylegan2")
    v = _TFVariables(net["variables"], where)
    out_w = v.variables.get("Output/weight")
    _tf_unconditional(kw, out_w is not None and out_w.ndim == 2 and out_w.shape[1] > 1, where)
    res = sorted(int(mt.group(1)) for n in v.variables for mt in [re.fullmatch(r"(\d+)x\1/Conv0/weight", n)] if mt)
    if not res:
        raise ConvertError(f"{where}: missing variable 8x8/Conv0/weight (no D_stylegan2 blocks)")
    top = res[-1]
    # The variables tell the architecture: 'skip' has a FromRGB per block (and
    # at 4x4), 'resnet' a Skip per block, 'orig' neither.
    if any(re.fullmatch(r"(\d+)x\1/FromRGB/weight", n) and n != f"{top}x{top}/FromRGB/weight" for n in v.variables):
        arch = "skip"
    elif any(re.fullmatch(r"(\d+)x\1/Skip/weight", n) for n in v.variables):
        arch = "resnet"
    else:
        arch = "orig"
    _tf_setting({"architecture": arch}, "architecture", "resnet", list(D_ARCHITECTURES), where,
                "ganforge's StyleGAN2 discriminator is 'resnet' or 'orig'")
    if kw.get("architecture", arch) != arch:
        raise ConvertError(f"{where}: static_kwargs architecture {kw['architecture']!r}, but the variables are "
                           f"{'a' if arch == 'resnet' else 'an'} {arch!r} discriminator's "
                           f"({'with' if arch == 'resnet' else 'without'} <res>x<res>/Skip/weight)")
    _tf_setting(kw, "nonlinearity", "lrelu", ["lrelu"], where, "leaky ReLU 0.2 only")
    _tf_setting(kw, "resample_kernel", [1, 3, 3, 1], [[1, 3, 3, 1]], where, "the [1, 3, 3, 1] filter only")
    if kw.get("resolution", top) != top:
        raise ConvertError(f"{where}: static_kwargs resolution {kw['resolution']}, but the variables start at "
                           f"{top}x{top}")
    out = collections.OrderedDict()
    out[f"b{top}.fromrgb.weight"] = _conv(v(f"{top}x{top}/FromRGB/weight", 4))
    out[f"b{top}.fromrgb.bias"] = _t(v(f"{top}x{top}/FromRGB/bias", 1))
    out[f"b{top}.fromrgb.resample_filter"] = ref.setup_filter()
    for r in reversed(res):
        for layer, scope in (("conv0", "Conv0"), ("conv1", "Conv1_down")):
            out[f"b{r}.{layer}.weight"] = _conv(v(f"{r}x{r}/{scope}/weight", 4))
            out[f"b{r}.{layer}.bias"] = _t(v(f"{r}x{r}/{scope}/bias", 1))
            out[f"b{r}.{layer}.resample_filter"] = ref.setup_filter()
        if arch == "resnet":
            out[f"b{r}.skip.weight"] = _conv(v(f"{r}x{r}/Skip/weight", 4))
            out[f"b{r}.skip.resample_filter"] = ref.setup_filter()
        out[f"b{r}.resample_filter"] = ref.setup_filter()
    out["b4.conv.weight"] = _conv(v("4x4/Conv/weight", 4))
    out["b4.conv.bias"] = _t(v("4x4/Conv/bias", 1))
    out["b4.conv.resample_filter"] = ref.setup_filter()
    out["b4.fc.weight"] = _dense(v("4x4/Dense0/weight", 2))
    out["b4.fc.bias"] = _t(v("4x4/Dense0/bias", 1))
    out["b4.out.weight"] = _dense(v("Output/weight", 2))
    out["b4.out.bias"] = _t(v("Output/bias", 1))
    v.check_rest()
    rgb = int(out[f"b{top}.fromrgb.weight"].shape[1])
    if kw.get("num_channels", rgb) != rgb:
        raise ConvertError(f"{where}: static_kwargs num_channels {kw['num_channels']}, but {top}x{top}/FromRGB "
                           f"reads {rgb}")
    conv, fc = out["b4.conv.weight"], out["b4.fc.weight"]
    if fc.shape[0] != conv.shape[0]:
        raise ConvertError(f"{where}: 4x4/Dense0 has {fc.shape[0]} outputs but 4x4/Conv {conv.shape[0]} "
                           "(fmap_max above fmap_base / 2): ganforge's epilogue keeps one width, as StyleGAN2-ADA's")
    group = kw.get("mbstd_group_size", 4)
    extra = int(conv.shape[1]) - int(conv.shape[0])
    if (group > 1) != (extra > 0):
        raise ConvertError(f"{where}: 4x4/Conv reads {conv.shape[1]} feature maps for {conv.shape[0]} outputs, "
                           f"but mbstd_group_size is {group} ({'no ' if group <= 1 else ''}minibatch-stddev layer)")
    if group > 1 and extra != kw.get("mbstd_num_features", 1):
        raise ConvertError(f"{where}: 4x4/Conv reads {extra} extra feature maps, but mbstd_num_features is "
                           f"{kw.get('mbstd_num_features', 1)}")
    return out, {"mbstd_group_size": max(group, 0), "conv_clamp": None, "architecture": arch}


def read_stylegan2_tf_pickle(top, path):
    """(G, D, Gs) of dnnlib.tflib networks, state version 4 (NVlabs/stylegan2,
    configs E and F) -> ({"G", "D", "G_ema": state with the official PyTorch
    names}, {"G", "G_ema", "D": hints}), for convert()."""
    if len(top) != 3:
        raise ConvertError(f"{path}: holds {len(top)} TensorFlow networks; an official StyleGAN2 pickle is "
                           "(G, D, Gs)")
    nets, hints = {}, {}
    for i, (key, which) in enumerate((("G", "G"), ("D", "D"), ("G_ema", "Gs"))):
        want = SG2_TF_FUNCS["D" if key == "D" else "G"]
        func = top[i].state.get("build_func_name") if isinstance(top[i].state, dict) else None
        if func != want:  # before the components: a v1 or config A-D network is named for what it is
            raise ConvertError(f"{path}: {which} is built by '{str(func)[:40]}'{_sg2_tf_known(func)}; from "
                               f"dnnlib.tflib state version 4 "
                               f"pickles ganforge imports StyleGAN2's G_main and D_stylegan2 (configs E and F; "
                               f"expected {want})")
        state = tf_network_state(top[i], path, which, 4)
        where = f"{path}: {which}"
        if key == "D":
            nets[key], hints["D"] = stylegan2_tf_discriminator(state, where)
        else:
            nets[key], hints[key] = stylegan2_tf_generator(state, where)  # G's and Gs's each, as official_hints
    return nets, hints
