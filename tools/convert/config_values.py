"""Network config values as models/*/config.cpp reads them: the kind of each
known key, what is wrong with a value, and a value checked and taken as the
int or float the loaders read."""
import math

import numpy as np

from .errors import ConvertError
from .limits import MAX_NETWORK_SIZE


# StyleGAN2 discriminator architectures ganforge runs (D_kwargs "architecture",
# models/stylegan2/config.h; absent means "resnet"); 'skip' is refused.
D_ARCHITECTURES = ("resnet", "orig")


# How models/*/config.cpp reads each key it knows (PGGAN, StyleGAN, StyleGAN2,
# pSp): "whole" is json_size (an integer, not a bool or 1.5), "real" a
# get<double> (refused here for a bool too: True as 1.0 is no setting anyone
# wrote), "bool" a get<bool>. Lists hold elements of the kind. Counts (>= 0)
# apply to StyleGAN2 configs only, below.
_SETTING_KINDS = {
    **dict.fromkeys(("num_channels", "resolution", "label_size", "fmap_base", "fmap_max", "latent_size",
                     "mbstd_group_size", "truncation_cutoff", "dlatent_size", "mapping_layers", "mapping_fmaps",
                     "mbstd_num_features", "z_dim", "c_dim", "w_dim", "img_resolution", "img_channels",
                     "channel_base", "channel_max", "mbstd_num_channels", "cmap_dim", "freeze_layers", "input_nc",
                     "input_size", "n_styles", "se_reduction", "units", "depths"), "whole"),
    **dict.fromkeys(("fmap_decay", "pixelnorm_epsilon", "truncation_psi", "dlatent_avg_beta", "style_mixing_prob",
                     "mapping_lrmul", "mapping_lr_multiplier", "w_avg_beta", "conv_clamp", "blur_filter"), "real"),
    **dict.fromkeys(("normalize_latents", "use_wscale", "use_pixelnorm", "use_leakyrelu", "use_noise",
                     "use_pixel_norm", "use_instance_norm", "start_from_latent_avg", "learn_in_w", "fused_scale"),
                    "bool"),
}
# Keys the loaders take as null (PGGAN's latent_size, StyleGAN's "no
# truncation", no clamp, no blur).
_NULLABLE = {"latent_size", "truncation_psi", "truncation_cutoff", "dlatent_avg_beta", "style_mixing_prob",
             "conv_clamp", "blur_filter"}


def _shown(v):
    return repr(v) if len(repr(v)) <= 40 else repr(v)[:37] + "..."


def setting_problem(key, v, family, strict=False):
    """What is wrong with config value v of key for the C++ loaders, or None.
    strict: a whole number must be an int (what is written); else a float
    that is one (TF kwargs such as fmap_base 8192.0) passes, taken as the int."""
    kind = _SETTING_KINDS.get(key)
    if kind is None or (v is None and key in _NULLABLE):
        return None
    if kind == "bool":
        ok = isinstance(v, bool) or (key == "fused_scale" and family == "stylegan" and v == "auto")
        return None if ok else "not true or false"
    if isinstance(v, (list, tuple)) and key in ("units", "depths", "blur_filter"):
        for i, x in enumerate(v):
            p = "not a number" if x is None else setting_problem(key, x, family, strict=True)
            if p:
                return f"element {i} {p}"
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return "not a number" if kind == "real" else "not a whole number"
    if not math.isfinite(v):
        return "not a finite number"
    if kind == "whole":
        if isinstance(v, float) and (strict or not v.is_integer()):
            return "not a whole number"
        if abs(v) > MAX_NETWORK_SIZE:
            return f"beyond +-{MAX_NETWORK_SIZE} (the largest network size the programs load)"
    return None


def checked_setting(key, v, where, family="stylegan2", source=""):
    """v (a NumPy scalar taken as its Python value) checked by setting_problem,
    as the int or float the loaders read; one line naming the setting else."""
    v = _plain(v)
    problem = setting_problem(key, v, family)
    if problem:
        raise ConvertError(f"{where}: {source}{key} is {_shown(v)}, {problem}: a damaged or edited file; "
                           "nothing written")
    if v is None or _SETTING_KINDS.get(key) not in ("whole", "real") or isinstance(v, (list, tuple)):
        return v
    return int(v) if _SETTING_KINDS[key] == "whole" else float(v)


def checked_settings(kw, where, family):
    """Every known key of static_kwargs (with the defaults) through checked_setting."""
    return {k: checked_setting(k, v, where, family, "static_kwargs ") if k in _SETTING_KINDS else v
            for k, v in kw.items()}


def _plain(v):
    return v.item() if isinstance(v, np.generic) else v
