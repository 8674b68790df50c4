"""StyleGAN2-ADA's VGG16 (vgg16.pt): torchvision's VGG16 with the LPIPS v0.1 lin
layers."""
import collections
import json
import types

import torch

import vgg16_reference as vgg_ref

from .config_inference import check_state
from .errors import ConvertError
from .loss_network_kinds import is_lpips_lin
from .sources import load_source
from .state_dicts import _as_state


VGG16_TAP_WIDTHS = (64, 128, 256, 512, 512)  # the LPIPS lin layers' inputs


def vgg16_shapes(d):
    """{name: shape} of torchvision's VGG16 (without classifier.6) at widths / d,
    and the LPIPS lin layers, as models/perceptual/vgg16.h names them."""
    shapes, cin, i = collections.OrderedDict(), 3, 0
    for v in vgg_ref.CFG_D:
        if v == "M":
            i += 1
            continue
        shapes[f"features.{i}.weight"], shapes[f"features.{i}.bias"] = (v // d, cin, 3, 3), (v // d,)
        cin, i = v // d, i + 2  # the conv and its ReLU
    shapes["classifier.0.weight"], shapes["classifier.0.bias"] = (4096 // d, cin * 7 * 7), (4096 // d,)
    shapes["classifier.3.weight"], shapes["classifier.3.bias"] = (4096 // d, 4096 // d), (4096 // d,)
    for k, c in enumerate(VGG16_TAP_WIDTHS):
        shapes[f"lin{k}.model.1.weight"] = (1, c // d, 1, 1)
    return shapes


def convert_vgg16(vgg_obj, path, lpips_path):
    """torchvision's VGG16 state dict + LPIPS's vgg.pth -> (float32 tensors,
    metadata "perceptual" = "vgg16" and "vgg16_kwargs")."""
    if not lpips_path:
        raise ConvertError(f"{path}: torchvision's VGG16; StyleGAN2-ADA's vgg16.pt needs the LPIPS lin layers "
                           "too: give LPIPS's vgg.pth with --lpips")
    vgg = _as_state(vgg_obj, path, "the VGG16 file")
    _, lin_obj = load_source(lpips_path, "state-dict-raw")
    lin = _as_state(lin_obj, lpips_path, "the LPIPS file")
    if not is_lpips_lin(lin):
        raise ConvertError(f"{lpips_path}: not LPIPS's lin layers (linN.model.1.weight)")
    if "features.0.weight" not in vgg or vgg["features.0.weight"].dim() != 4:
        raise ConvertError(f"{path}: not torchvision's VGG16 (no features.0.weight [64, 3, 3, 3])")
    width = int(vgg["features.0.weight"].shape[0])
    d = 64 // width if width and 64 % width == 0 else 0
    if d not in (1, 2, 4, 8, 16):
        raise ConvertError(f"{path}: features.0.weight has {width} outputs; torchvision's VGG16 has 64")
    # The 1000-class layer pr50k3 never reads: checked, then dropped.
    for n, shape in (("classifier.6.weight", (1000, 4096 // d)), ("classifier.6.bias", (1000,))):
        if n in vgg and tuple(vgg[n].shape) != shape:
            raise ConvertError(f"{path}: VGG16: tensor {n} has shape {list(vgg[n].shape)}, expected {list(shape)}")
        vgg.pop(n, None)
    want = vgg16_shapes(d)

    def model(lins):  # check_state's reference: the names and shapes alone
        return types.SimpleNamespace(state_dict=lambda: collections.OrderedDict(
            (n, torch.empty(s, device="meta")) for n, s in want.items() if n.startswith("lin") == lins))
    check_state(vgg, model(False), f"{path}: VGG16")
    check_state(lin, model(True), f"{lpips_path}: LPIPS lin layers for VGG16")
    lin_names = [n for n in want if n.startswith("lin")]
    for n in lin_names:
        bad = (~(lin[n] >= 0)).nonzero()
        if len(bad):
            i = [int(v) for v in bad[0]]
            raise ConvertError(f"{lpips_path}: tensor {n}{i} is {lin[n][tuple(i)].item():g}; LPIPS lin weights "
                               "are non-negative (the VGG16 embedding takes their square roots)")
    tensors = {n: (vgg[n] if n in vgg else lin[n]).detach().to(torch.float32).contiguous() for n in want}
    return tensors, {"perceptual": "vgg16", "vgg16_kwargs": json.dumps({"width_divisor": d})}
