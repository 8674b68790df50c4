"""pSp (pixel2style2pixel) checkpoints into one pSp file: the encoder, its
rosinality decoder as G_ema, latent_avg and psp_kwargs."""
import collections
import json
import math
import types

import torch

import psp_reference as psp_ref
import stylegan2_reference as ref

from .config_inference import check_state
from .errors import ConvertError
from .restricted_pickle import Namespace
from .rosinality import rosinality_generator
from .state_dicts import _as_state
from .stylegan2_bundle import convert


# pSp builds GradualStyleEncoder(50, 'ir_se') on 256x256 inputs: IR-SE50.
PSP_ARCH = {"units": [3, 4, 14, 3], "depths": [64, 128, 256, 512], "se_reduction": 16, "input_size": 256,
            "mode": "ir_se"}


def is_psp_checkpoint(obj):
    """pSp's coach saves {"state_dict": net.state_dict(), "opts": vars(opts)}
    (plus "latent_avg" when it starts from it)."""
    return isinstance(obj, dict) and "state_dict" in obj and "opts" in obj


def _check_psp_arch(arch):
    """--psp-arch's values, each in one line (a 0 divided by zero, a string
    reached arithmetic as a TypeError, true passed as 1 into psp_kwargs)."""
    def whole(v, lo):
        return isinstance(v, int) and not isinstance(v, bool) and lo <= v <= 1 << 20
    for key in ("units", "depths"):
        v = arch[key]
        if not isinstance(v, list) or len(v) != 4 or not all(whole(x, 1) for x in v):
            raise ConvertError(f"--psp-arch: {key} must be a list of 4 whole numbers >= 1 (the body's four stages), "
                               f"got {json.dumps(v)}")
    if not whole(arch["se_reduction"], 1):
        raise ConvertError(f"--psp-arch: se_reduction must be a whole number >= 1, got {json.dumps(arch['se_reduction'])}")
    size = arch["input_size"]
    if not whole(size, 16) or size & (size - 1):
        raise ConvertError(f"--psp-arch: input_size must be a power of two >= 16 (the body halves it four times), "
                           f"got {json.dumps(size)}")
    if arch["mode"] not in ("ir", "ir_se"):
        raise ConvertError(f"--psp-arch: mode must be \"ir\" or \"ir_se\", got {json.dumps(arch['mode'])}")


def psp_config(opts, path, arch_json):
    if isinstance(opts, Namespace):
        opts = vars(opts)
    if not isinstance(opts, dict):
        raise ConvertError(f"{path}: opts is a {type(opts).__name__}, not a dict of training options")
    arch = dict(PSP_ARCH)
    if arch_json:
        try:
            extra = json.loads(arch_json)
        except ValueError as e:
            raise ConvertError(f"--psp-arch is not JSON ({e})")
        if not isinstance(extra, dict):
            raise ConvertError(f"--psp-arch must be a JSON object, got {arch_json}")
        unknown = [k for k in extra if k not in PSP_ARCH]
        if unknown:
            raise ConvertError(f"--psp-arch: unknown key {unknown[0]}")
        arch.update(extra)
        _check_psp_arch(arch)
    encoder_type = opts.get("encoder_type", "GradualStyleEncoder")
    if encoder_type not in psp_ref.ENCODER_TYPES:
        raise ConvertError(f"{path}: encoder_type '{encoder_type}' is not one of pSp's encoders")
    def opt_int(key, default):
        # pSp's argparse makes these ints; a string or a bool (True read as
        # output_size 1) is a damaged or hand-made opts, which pSp's own
        # code would fail on.
        v = opts.get(key, default)
        if v is None:
            return default
        if isinstance(v, bool) or not isinstance(v, int):
            raise ConvertError(f"{path}: opts {key} is {v!r}, not a whole number (pSp's argparse makes it an int)")
        return v

    if opt_int("label_nc", 0) != 0:
        raise ConvertError(f"{path}: label_nc {opts['label_nc']}: label-map inputs (segmentation, sketches) are "
                           "not supported; ganforge's pSp reads images")
    # As scripts/inference.py: a checkpoint without these keys predates them.
    output_size = opt_int("output_size", 1024)
    if output_size < 8 or output_size & (output_size - 1):
        raise ConvertError(f"{path}: output_size {output_size} is not a power of two")
    cfg = {"encoder_type": encoder_type, "mode": arch["mode"], "input_nc": opt_int("input_nc", 3),
           "input_size": int(arch["input_size"]), "n_styles": int(math.log2(output_size)) * 2 - 2,
           "units": list(arch["units"]), "depths": list(arch["depths"]), "se_reduction": int(arch["se_reduction"]),
           "start_from_latent_avg": bool(opts.get("start_from_latent_avg", False)),
           "learn_in_w": bool(opts.get("learn_in_w", False))}
    one_w = encoder_type == "BackboneEncoderUsingLastLayerIntoW"
    if cfg["learn_in_w"] != one_w:
        # pSp's forward reads learn_in_w only to add latent_avg (psp.py): without
        # start_from_latent_avg the flag does nothing, and the decoder repeats a
        # single w over its layers; with it the two shapes do not add up.
        if cfg["start_from_latent_avg"]:
            raise ConvertError(f"{path}: learn_in_w {cfg['learn_in_w']} with {encoder_type} and start_from_latent_avg: "
                               "pSp's forward only adds latent_avg with learn_in_w and "
                               "BackboneEncoderUsingLastLayerIntoW together")
        cfg["learn_in_w"] = one_w  # ganforge's learn_in_w: the encoder gives one w
    return cfg


def convert_psp(obj, path, args):
    """A pSp checkpoint -> (tensors, metadata) of a ganforge pSp file
    (models/psp/network_file.h): encoder.* with pSp's names, the rosinality
    decoder as G_ema.* with the official names, latent_avg; psp_kwargs and
    G_kwargs."""
    cfg = psp_config(obj["opts"], path, args.psp_arch)
    state = _as_state(obj["state_dict"], path, "state_dict")
    enc = collections.OrderedDict((k[8:], v) for k, v in state.items() if k.startswith("encoder."))
    dec = collections.OrderedDict((k[8:], v) for k, v in state.items() if k.startswith("decoder."))
    other = [k for k in state if not k.startswith(("encoder.", "decoder."))]
    if other:
        raise ConvertError(f"{path}: unexpected tensor {other[0]} (pSp holds encoder.* and decoder.*)")
    if not enc or not dec:
        raise ConvertError(f"{path}: no {'encoder' if not enc else 'decoder'} tensors in the state_dict")
    # torch's batch-count buffers: unused with momentum 0.1, and not float.
    enc = collections.OrderedDict((k, v) for k, v in enc.items() if not k.endswith(".num_batches_tracked"))
    want = psp_ref.make_encoder(cfg).state_dict()
    check_state(enc, types.SimpleNamespace(state_dict=lambda: collections.OrderedDict(
        (k, v) for k, v in want.items() if not k.endswith(".num_batches_tracked"))), f"{path}: encoder")
    w = cfg["depths"][3]
    latent = obj.get("latent_avg")
    if latent is not None:
        if not isinstance(latent, torch.Tensor) or not latent.is_floating_point():
            raise ConvertError(f"{path}: latent_avg is not a float tensor")
        shapes = [(w,), (1, w)] + ([] if cfg["learn_in_w"] else [(cfg["n_styles"], w)])
        if tuple(latent.shape) not in shapes:
            raise ConvertError(f"{path}: latent_avg has shape {list(latent.shape)}, expected one of "
                               f"{[list(s) for s in shapes]}")
    elif cfg["start_from_latent_avg"]:
        raise ConvertError(f"{path}: opts.start_from_latent_avg is set but the checkpoint has no latent_avg")
    # The decoder's w_avg (used only for truncation, which pSp never applies):
    # pSp's latent_avg is the generator's mean latent, repeated per style.
    w_avg = latent.reshape(-1, w).mean(0) if latent is not None else None
    g_state = rosinality_generator(dec, f"{path}: decoder", w_avg)
    tensors, meta = convert({"G_ema": g_state}, {"G": {"w_avg_from_mapping": w_avg is None}}, path, args)
    g_kwargs = json.loads(meta["G_kwargs"])
    num_ws = ref.Generator(**g_kwargs).synthesis.num_ws
    if num_ws != cfg["n_styles"]:
        raise ConvertError(f"{path}: the {g_kwargs['img_resolution']} px decoder takes {num_ws} styles, but "
                           f"opts.output_size gives {cfg['n_styles']}")
    if g_kwargs["w_dim"] != w:
        raise ConvertError(f"{path}: the decoder's w_dim {g_kwargs['w_dim']} differs from the encoder's {w}")
    for n, t in enc.items():
        tensors[f"encoder.{n}"] = t.detach().to(torch.float32).contiguous()
    if latent is not None:
        tensors["latent_avg"] = latent.detach().to(torch.float32).contiguous()
    meta["psp_kwargs"] = json.dumps(cfg)
    return tensors, meta
