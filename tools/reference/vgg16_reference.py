#!/usr/bin/python3
"""PyTorch reference of StyleGAN2-ADA's vgg16.pt (ganforge's
models/perceptual/vgg16.h), written from a description of what it computes
(summed up in vgg16.h), not from its code: torchvision's VGG16 and the LPIPS
v0.1 lin layers. torchvision is not needed: the network is laid out as
torchvision.models.vgg16 lays it out, and same_as_torchvision() checks that
against torchvision's own model where one is installed.

Vgg16Reference(width_divisor=1) has the state-dict names of torchvision's
VGG16 (features.N.*, classifier.{0,3,6}.*) and of LPIPS's lin layers
(lin{0..4}.model.1.weight); width_divisor > 1 thins every width (tests).
  - lpips_embedding(img): the rows whose squared distance is LPIPS;
  - lpips_distance(img0, img1): LPIPS computed the LPIPS way (lin conv of the
    squared difference of the unit-normalized taps, spatial mean, sum over
    the taps), the independent check of the embedding;
  - fc2_features(img): fc2 after its ReLU, after TF1's bilinear resize to 224.
img is a float [N, 3, H, W] holding 0..255.

hashed_state_dict() gives the deterministic weights the C++ tests derive
the same way (tests/test_vgg16.cpp); the images are inception_reference's
hashed_images.
"""
import math
from typing import List

import torch
import torch.nn as nn
import torch.nn.functional as F

from inception_reference import _uniform, tf1_resize_bilinear

RESOLUTION = 224
TAPS = (3, 8, 15, 22, 29)  # features indices of relu1_2, relu2_2, relu3_3, relu4_3, relu5_3
SHIFT = (-.030, -.088, -.188)  # LPIPS's ScalingLayer
SCALE = (.458, .448, .450)
EPS = 1e-10  # added to the norm of each tap


# torchvision's configuration "D": conv widths, "M" a 2x2 max pool.
CFG_D = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]


class Vgg16Reference(nn.Module):
    def __init__(self, width_divisor: int = 1):
        super().__init__()
        d = width_divisor
        # torchvision.models.vgg16's modules in its order (make_layers without
        # batch norm, AdaptiveAvgPool2d(7), the classifier), so the state-dict
        # names and shapes are torchvision's: same_as_torchvision() checks it.
        layers, cin = [], 3
        for v in CFG_D:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(cin, v // d, 3, padding=1), nn.ReLU(True)]
                cin = v // d
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(nn.Linear(512 // d * 7 * 7, 4096 // d), nn.ReLU(True), nn.Dropout(),
                                        nn.Linear(4096 // d, 4096 // d), nn.ReLU(True), nn.Dropout(),
                                        nn.Linear(4096 // d, 1000))
        for k, c in enumerate((64, 128, 256, 512, 512)):
            # LPIPS's NetLinLayer: model = Sequential(Dropout, Conv2d(C, 1, 1, bias=False)).
            lin = nn.Module()
            lin.model = nn.Sequential(nn.Dropout(), nn.Conv2d(c // d, 1, 1, 1, 0, bias=False))
            setattr(self, f"lin{k}", lin)
        self.eval()

    def _normalized(self, img):
        x = img.to(self.features[0].weight.dtype) / 127.5 - 1
        shift = torch.tensor(SHIFT, dtype=x.dtype).reshape(1, 3, 1, 1)
        scale = torch.tensor(SCALE, dtype=x.dtype).reshape(1, 3, 1, 1)
        return (x - shift) / scale

    def _taps(self, img) -> List[torch.Tensor]:
        x, taps = self._normalized(img), []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in TAPS:
                taps.append(x / (x.square().sum(1, keepdim=True).sqrt() + EPS))
            if i == TAPS[-1]:
                break
        return taps

    def _lin_weight(self, k):
        return getattr(self, f"lin{k}").model[1].weight  # [1, C, 1, 1]

    def lpips_embedding(self, img):
        parts = []
        for k, t in enumerate(self._taps(img)):
            h, w = t.shape[2:]
            parts.append((t * self._lin_weight(k).sqrt() / math.sqrt(h * w)).flatten(1))
        return torch.cat(parts, 1)

    def lpips_distance(self, img0, img1):
        total = 0
        for k, (a, b) in enumerate(zip(self._taps(img0), self._taps(img1))):
            d = getattr(self, f"lin{k}").model((a - b).square())  # [N, 1, h, w]
            total = total + d.mean([2, 3], keepdim=True)
        return total.reshape(-1)

    def fc2_features(self, img):
        x = self._normalized(tf1_resize_bilinear(img.to(self.features[0].weight.dtype), RESOLUTION))
        x = torch.flatten(self.avgpool(self.features(x)), 1)
        return self.classifier[:5](x)  # fc1, ReLU, Dropout (off), fc2, ReLU


def same_as_torchvision(net: Vgg16Reference, img):
    """None when torchvision is missing; else checks that net's VGG part has
    torchvision.models.vgg16's state-dict names and shapes (at the real
    widths) and that torchvision's model with net's weights gives net's
    features on img. Returns the features' max relative difference."""
    try:
        import torchvision
    except ImportError:
        return None
    tv = torchvision.models.vgg16().to(net.features[0].weight.dtype).eval()
    mine = {k: v for k, v in net.state_dict().items() if not k.startswith("lin")}
    want = {k: list(v.shape) for k, v in tv.state_dict().items()}
    assert {k: list(v.shape) for k, v in mine.items()} == want, "the layout differs from torchvision's vgg16"
    tv.load_state_dict(mine)
    with torch.no_grad():
        x = net._normalized(tf1_resize_bilinear(img.to(net.features[0].weight.dtype), RESOLUTION))
        tv.classifier = tv.classifier[:5]  # through fc2's ReLU
        f_tv, f = tv(x), net.fc2_features(img)
    return ((f_tv - f).abs().max() / f.abs().max()).item()


def hashed_tensor(name: str, shape: List[int]):
    """The test value of state-dict entry `name`, rounded to float32: He-uniform
    conv and linear weights, biases in [-0.1, 0.1), lin weights in [0, 0.5)."""
    u = _uniform(name, math.prod(shape))
    if name.startswith("lin"):
        v = u * 0.5
    elif name.endswith(".weight"):
        v = (u * 2 - 1) * math.sqrt(6.0 / math.prod(shape[1:]))
    else:
        v = (u * 2 - 1) * 0.1
    return v.to(torch.float32).reshape(shape)


def hashed_state_dict(module: nn.Module):
    return {k: hashed_tensor(k, list(t.shape)) for k, t in module.state_dict().items()}
