"""StyleGAN2 networks (official names) checked against the reference built from
the inferred config, as the tensors and metadata of a bundle."""
import json

import torch

import stylegan2_reference as ref

from .bin_files import check_kwargs
from .config_inference import check_state, infer_d_kwargs, infer_g_kwargs
from .errors import ConvertError
from .rosinality import rosinality_w_avg


def _check_same_g_kwargs(g, g_ema, path):
    """G and G_ema share one G_kwargs. A value no program takes is named
    first, as writing would name it, then the first difference."""
    if g == g_ema:
        return
    for kwargs in (g, g_ema):
        check_kwargs({"G_kwargs": json.dumps(kwargs)}, path)
    k = next(k for k in sorted({**g, **g_ema}) if g.get(k) != g_ema.get(k))
    raise ConvertError(f"{path}: G and G_ema have different configs ({k} {g.get(k)} and {g_ema.get(k)})")


def convert(nets, hints, path, args):
    """Checks every network against the reference built from the inferred config;
    -> (tensors with bundle names, metadata)."""
    tensors, meta = {}, {}
    g_kwargs = d_kwargs = None
    for key in ("G", "G_ema", "D"):
        if key not in nets:
            continue
        state = nets[key]
        where = f"{path}: {key}"
        if key == "D":
            kwargs = infer_d_kwargs(state, where, hints.get("D", {}), args)
            model = ref.Discriminator(**kwargs)
        else:
            # A pickle's G and G_ema each have hints (one G's replaced the
            # other's, so a conv_clamp on G alone was dropped unsaid); a
            # checkpoint's "G" hints are both networks'.
            g_hints = hints.get(key, hints.get("G", {}))
            kwargs = infer_g_kwargs(state, where, g_hints, args)
            model = ref.Generator(**kwargs)
            if g_hints.get("w_avg_from_mapping"):
                state["mapping.w_avg"] = torch.zeros([kwargs["w_dim"]])
                check_state(state, model, where)
                model.load_state_dict(state)
                samples = args.w_avg_samples if args.w_avg_samples is not None else 10000
                state["mapping.w_avg"] = rosinality_w_avg(model.double(), samples)
        check_state(state, model, where)
        if key == "D":
            d_kwargs = kwargs
        else:
            if g_kwargs is not None:
                _check_same_g_kwargs(g_kwargs, kwargs, path)
            g_kwargs = kwargs
        for n, t in state.items():
            tensors[f"{key}.{n}"] = t.detach().to(torch.float32).contiguous()
    if g_kwargs is not None:
        meta["G_kwargs"] = json.dumps(g_kwargs)
    if d_kwargs is not None:
        meta["D_kwargs"] = json.dumps(d_kwargs)
    if "training_set_kwargs" in hints and g_kwargs is not None:  # calc_metrics' dataset without --data
        meta["training_set_kwargs"] = json.dumps(hints["training_set_kwargs"])
    return tensors, meta
