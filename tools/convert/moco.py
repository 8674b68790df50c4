"""MoCo's ResNet-50 (pSp's MoCo loss network) from MoCo's checkpoint."""
import collections
import json
import sys
import types

import torch

import perceptual_reference as perc_ref

from .config_inference import check_state, tensor_dims
from .errors import ConvertError, one_line
from .state_dicts import _as_state


MOCO_PREFIX = "module.encoder_q."


def is_moco(obj):
    """MoCo's checkpoint (moco_v2_800ep_pretrain.pth.tar): {"epoch", "arch",
    "state_dict": module.encoder_q.* and module.encoder_k.*, the queue, ...,
    "optimizer"}."""
    return isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict) and \
        f"{MOCO_PREFIX}conv1.weight" in obj["state_dict"]


def convert_moco(obj, path):
    """What MocoLoss.__load_model keeps: the query encoder's tensors without
    its fc head, under torchvision's names; the ResNet's block counts and width
    read off them and every tensor checked against the reference's."""
    if not is_moco(obj):
        raise ConvertError(f"{path}: not a MoCo checkpoint (no state_dict with {MOCO_PREFIX}conv1.weight)")
    if obj.get("arch", "resnet50") != "resnet50":
        raise ConvertError(f"{path}: a MoCo checkpoint of {one_line(str(obj['arch']))[:40]}; pSp's MoCo loss builds "
                           "a resnet50")
    fc = MOCO_PREFIX + "fc"
    picked = {k[len(MOCO_PREFIX):]: v for k, v in obj["state_dict"].items()
              if isinstance(k, str) and k.startswith(MOCO_PREFIX) and not k.startswith(fc)}
    state = _as_state(picked, path, "the MoCo query encoder")
    state = collections.OrderedDict((k, v) for k, v in state.items() if not k.endswith(".num_batches_tracked"))
    layers = []
    for s in range(1, 5):
        n = 0
        while f"layer{s}.{n}.conv1.weight" in state:
            n += 1
        layers.append(n)
    if 0 in layers:
        raise ConvertError(f"{path}: the MoCo encoder has no layer{layers.index(0) + 1}.0 (a ResNet has four stages)")
    if "conv1.weight" not in state:
        raise ConvertError(f"{path}: missing tensor conv1.weight")
    cfg = {"layers": layers, "width": tensor_dims(state["conv1.weight"], "conv1.weight", path, 4)[0]}
    model = perc_ref.ResNet(**cfg)
    want = collections.OrderedDict((k, v) for k, v in model.state_dict().items()
                                   if not k.endswith(".num_batches_tracked"))
    check_state(state, types.SimpleNamespace(state_dict=lambda: want), path)
    if cfg != {"layers": list(perc_ref.RESNET50["layers"]), "width": perc_ref.RESNET50["width"]}:
        print(f"convert_weights: note: {path}: a ResNet of blocks {layers}, width {cfg['width']}, not ResNet-50 "
              "(pSp builds resnet50; this file serves tests)", file=sys.stderr)
    tensors = {k: v.detach().to(torch.float32).contiguous() for k, v in state.items()}
    return tensors, {"perceptual": "moco", "moco_kwargs": json.dumps(cfg)}
