"""The FID/IS Inception detector of the official metrics
(inception-2015-12-05.pt): its names and shapes, each checked."""
import collections
import json
import types

import torch

from .config_inference import check_state


# The official metrics' inception-2015-12-05.pt (a TorchScript archive; NVIDIA's
# translation of TensorFlow's Inception graph): every conv layer is a conv
# without bias and a batch norm without scale, stored as X.weight [O, I, kh, kw],
# X.beta, X.mean, X.var [O]. Names and shapes are from third-party readings of
# the archive's state dict (nobody here has the file), so every one is checked.
# Blocks by kind: (conv name, output channels (int or a key of the block's
# arguments), kh, kw, input: "in" or the conv it follows).
_INCEPTION_BLOCKS = {
    "A": [("conv", 64, 1, 1, "in"),
          ("tower.conv", 48, 1, 1, "in"), ("tower.conv_1", 64, 5, 5, "tower.conv"),
          ("tower_1.conv", 64, 1, 1, "in"), ("tower_1.conv_1", 96, 3, 3, "tower_1.conv"),
          ("tower_1.conv_2", 96, 3, 3, "tower_1.conv_1"),
          ("tower_2.conv", "pool_features", 1, 1, "in")],
    "B": [("conv", 384, 3, 3, "in"),
          ("tower.conv", 64, 1, 1, "in"), ("tower.conv_1", 96, 3, 3, "tower.conv"),
          ("tower.conv_2", 96, 3, 3, "tower.conv_1")],
    "C": [("conv", 192, 1, 1, "in"),
          ("tower.conv", "c7", 1, 1, "in"), ("tower.conv_1", "c7", 1, 7, "tower.conv"),
          ("tower.conv_2", 192, 7, 1, "tower.conv_1"),
          ("tower_1.conv", "c7", 1, 1, "in"), ("tower_1.conv_1", "c7", 7, 1, "tower_1.conv"),
          ("tower_1.conv_2", "c7", 1, 7, "tower_1.conv_1"), ("tower_1.conv_3", "c7", 7, 1, "tower_1.conv_2"),
          ("tower_1.conv_4", 192, 1, 7, "tower_1.conv_3"),
          ("tower_2.conv", 192, 1, 1, "in")],
    "D": [("tower.conv", 192, 1, 1, "in"), ("tower.conv_1", 320, 3, 3, "tower.conv"),
          ("tower_1.conv", 192, 1, 1, "in"), ("tower_1.conv_1", 192, 1, 7, "tower_1.conv"),
          ("tower_1.conv_2", 192, 7, 1, "tower_1.conv_1"), ("tower_1.conv_3", 192, 3, 3, "tower_1.conv_2")],
    "E": [("conv", 320, 1, 1, "in"),
          ("tower_conv", 384, 1, 1, "in"), ("tower_mixed_conv", 384, 1, 3, "tower_conv"),
          ("tower_mixed_conv_1", 384, 3, 1, "tower_conv"),
          ("tower_1_conv", 448, 1, 1, "in"), ("tower_1_conv_1", 384, 3, 3, "tower_1_conv"),
          ("tower_1_mixed_conv", 384, 1, 3, "tower_1_conv_1"), ("tower_1_mixed_conv_1", 384, 3, 1, "tower_1_conv_1"),
          ("tower_2_conv", 192, 1, 1, "in")],
}
# layers, in order: a stem conv (name, in, out, kh, kw), a pool (no tensors),
# or a mixed block (name, kind, input channels, its arguments).
INCEPTION_LAYERS = [
    ("conv", 3, 32, 3, 3), ("conv_1", 32, 32, 3, 3), ("conv_2", 32, 64, 3, 3), ("pool0",),
    ("conv_3", 64, 80, 1, 1), ("conv_4", 80, 192, 3, 3), ("pool1",),
    ("mixed", "A", 192, {"pool_features": 32}), ("mixed_1", "A", 256, {"pool_features": 64}),
    ("mixed_2", "A", 288, {"pool_features": 64}),
    ("mixed_3", "B", 288, {}),
    ("mixed_4", "C", 768, {"c7": 128}), ("mixed_5", "C", 768, {"c7": 160}), ("mixed_6", "C", 768, {"c7": 160}),
    ("mixed_7", "C", 768, {"c7": 192}),
    ("mixed_8", "D", 768, {}),
    ("mixed_9", "E", 1280, {}), ("mixed_10", "E", 2048, {}),
    ("pool2",),
]
INCEPTION_FEATURES, INCEPTION_CLASSES = 2048, 1008
# The C++ side's InceptionConfig (models/perceptual/inception.h): the official widths.
INCEPTION_KWARGS = {"width_divisor": 1, "classes": INCEPTION_CLASSES}


def inception_convs():
    """[(dotted conv name under layers., in, out, kh, kw)] in network order."""
    convs = []
    for layer in INCEPTION_LAYERS:
        if len(layer) == 5:
            convs.append(layer)
        elif len(layer) == 4:
            name, kind, cin, args = layer
            outs = {}
            for conv, out, kh, kw, src in _INCEPTION_BLOCKS[kind]:
                out = args[out] if isinstance(out, str) else out
                convs.append((f"{name}.{conv}", cin if src == "in" else outs[src], out, kh, kw))
                outs[conv] = out
    return convs


def inception_shapes():
    """{state-dict name: shape} of the detector, from the tables above."""
    shapes = collections.OrderedDict()
    for name, cin, out, kh, kw in inception_convs():
        shapes[f"layers.{name}.weight"] = (out, cin, kh, kw)
        for p in ("beta", "mean", "var"):
            shapes[f"layers.{name}.{p}"] = (out,)
    shapes["output.weight"] = (INCEPTION_CLASSES, INCEPTION_FEATURES)
    shapes["output.bias"] = (INCEPTION_CLASSES,)
    return shapes


def is_inception(state):
    return "layers.conv.weight" in state and "output.weight" in state


def convert_inception(state, path):
    """The detector's state dict -> (float32 tensors under the official names,
    metadata "perceptual" = "inception" and "inception_kwargs")."""
    want = inception_shapes()
    check_state(state, types.SimpleNamespace(state_dict=lambda: collections.OrderedDict(
        (n, torch.empty(s, device="meta")) for n, s in want.items())), f"{path}: Inception detector")
    tensors = {k: v.detach().to(torch.float32).contiguous() for k, v in state.items()}
    return tensors, {"perceptual": "inception", "inception_kwargs": json.dumps(INCEPTION_KWARGS)}
