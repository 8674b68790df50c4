"""The loss networks pSp trains with: LPIPS (its lin layers and torchvision's
AlexNet) and ArcFace (model_ir_se50.pth)."""
import collections
import json
import types

import torch

import perceptual_reference as perc_ref

from .config_inference import check_state, tensor_dims
from .errors import ConvertError
from .loss_network_kinds import _LPIPS_LIN
from .sources import load_source
from .state_dicts import _as_state


def convert_lpips(lin_obj, path, alexnet_path):
    """LPIPS v0.1 lin layers + torchvision AlexNet -> (tensors, metadata) with
    pSp's LPIPS names; the channel counts from the conv shapes."""
    if not alexnet_path:
        w0, w1 = lin_obj.get("lin0.model.1.weight"), lin_obj.get("lin1.model.1.weight")
        if (isinstance(w0, torch.Tensor) and isinstance(w1, torch.Tensor) and w0.dim() == w1.dim() == 4
                and w1.shape[1] == 2 * w0.shape[1]):  # VGG's 64, 128; AlexNet's 64, 192
            raise ConvertError(f"{path}: LPIPS's VGG lin layers (vgg.pth); they go with torchvision's VGG16: "
                               f"import vgg16-397923af.pth with --format vgg16 --lpips {path}")
        raise ConvertError(f"{path}: LPIPS lin layers; give torchvision's AlexNet state dict with --alexnet "
                           "(alexnet-owt-7be5be79.pth)")
    lin = _as_state(lin_obj, path, "the LPIPS file")
    _, alex_obj = load_source(alexnet_path, "state-dict-raw")
    alex = _as_state(alex_obj, alexnet_path, "the AlexNet file")
    convs = [0, 3, 6, 8, 10]
    for i in convs:
        if f"features.{i}.weight" not in alex:
            raise ConvertError(f"{alexnet_path}: not torchvision's AlexNet (no features.{i}.weight)")
    unknown = [k for k in alex if not k.startswith(("features.", "classifier."))]
    if unknown:
        raise ConvertError(f"{alexnet_path}: unexpected tensor {unknown[0]} in an AlexNet state dict")
    channels = [tensor_dims(alex[f"features.{i}.weight"], f"features.{i}.weight", alexnet_path, 4)[0] for i in convs]
    state = collections.OrderedDict()
    for k, v in alex.items():
        if k.startswith("features."):
            state["net.layers." + k[len("features."):]] = v
    for k, v in lin.items():
        state[f"lin.{_LPIPS_LIN.match(k).group(1)}.1.weight"] = v
    model = perc_ref.LPIPS(channels)
    want = collections.OrderedDict((k, v) for k, v in model.state_dict().items() if k not in ("net.mean", "net.std"))
    check_state(state, types.SimpleNamespace(state_dict=lambda: want), f"{path} + {alexnet_path}")
    tensors = {k: v.detach().to(torch.float32).contiguous() for k, v in state.items()}
    return tensors, {"perceptual": "lpips", "lpips_kwargs": json.dumps({"net": "alex", "version": "0.1",
                                                                        "channels": channels})}


def arcface_config(state, path):
    """Backbone settings from model_ir_se50.pth's names and shapes: a stage
    starts where the unit depth changes (IR-SE50's 64, 128, 256, 512)."""
    units, depths = [], []
    i = 0
    while f"body.{i}.res_layer.1.weight" in state:
        d = tensor_dims(state[f"body.{i}.res_layer.1.weight"], f"body.{i}.res_layer.1.weight", path, 4)[0]
        if depths and depths[-1] == d:
            units[-1] += 1
        else:
            units.append(1)
            depths.append(d)
        i += 1
    if len(units) != 4:
        raise ConvertError(f"{path}: an ArcFace body of {len(units)} stages of distinct depths {depths}; the "
                           "Backbone has 4")
    se = "body.0.res_layer.5.fc1.weight" in state
    red = depths[0] // max(tensor_dims(state["body.0.res_layer.5.fc1.weight"], "body.0.res_layer.5.fc1.weight",
                                       path, 4)[0], 1) if se else 16
    if "output_layer.3.weight" not in state:
        raise ConvertError(f"{path}: missing tensor output_layer.3.weight")
    emb = tensor_dims(state["output_layer.3.weight"], "output_layer.3.weight", path, 2)[0]
    return {"mode": "ir_se" if se else "ir", "units": units, "depths": depths, "se_reduction": red, "embedding": emb,
            "affine": "output_layer.4.weight" in state, "input_size": 112}


def convert_arcface(obj, path):
    state = _as_state(obj, path, "the ArcFace file")
    state = collections.OrderedDict((k, v) for k, v in state.items() if not k.endswith(".num_batches_tracked"))
    cfg = arcface_config(state, path)
    model = perc_ref.Backbone(**{k: v for k, v in cfg.items() if k != "input_size"})
    want = collections.OrderedDict((k, v) for k, v in model.state_dict().items()
                                   if not k.endswith(".num_batches_tracked"))
    check_state(state, types.SimpleNamespace(state_dict=lambda: want), path)
    tensors = {k: v.detach().to(torch.float32).contiguous() for k, v in state.items()}
    return tensors, {"perceptual": "arcface", "arcface_kwargs": json.dumps(cfg)}
