#!/usr/bin/python3
"""PyTorch reference of the FID/IS Inception-v3 detector (ganforge's
models/perceptual/inception.h), written from a description of what the
official inception-2015-12-05.pt computes (summed up in inception.h), not
from its code.

InceptionReference(width_divisor=1) has exactly the state-dict names of the
official TorchScript archive (layers.conv.weight, layers.conv.beta,
layers.conv.mean, layers.conv.var, ..., output.weight, output.bias) and its
call signature: forward(img, return_features=False, no_output_bias=False),
img a float [N, 3, H, W] holding 0..255. It is scriptable with
torch.jit.script (torch 1.13), so a test can stand in for the official
archive. width_divisor > 1 gives a thin copy (every width divided) for tests.

hashed_state_dict() and hashed_images() give the deterministic values the
C++ tests derive the same way (tests/test_inception.cpp): no weights are
committed.
"""
import math
from collections import OrderedDict
from typing import List

import torch
import torch.nn as nn
import torch.nn.functional as F

RESOLUTION = 299
PIXEL_CENTER = 128.0  # the TF graph's Sub and Mul constants: (x - 128) * (1 / 128)
BN_EPS = 1e-3


def tf1_resize_bilinear(x, r: int):
    """TF1's ResizeBilinear of x [N, C, H, W] to r x r (align_corners=False:
    source = dst * in / r), as an affine grid shifted by 1/in - 1/r."""
    n, c, h, w = x.shape
    theta = torch.eye(2, 3, dtype=x.dtype, device=x.device)
    theta[0, 2] += 1.0 / float(w) - 1.0 / float(r)
    theta[1, 2] += 1.0 / float(h) - 1.0 / float(r)
    theta = theta.unsqueeze(0).repeat(n, 1, 1)
    grid = F.affine_grid(theta, [n, c, r, r], align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


class Conv2dLayer(nn.Module):
    """conv2d without bias, batch norm without scale (beta, mean, var; eps 1e-3), ReLU."""

    def __init__(self, cin: int, cout: int, kh: int, kw: int, stride: int = 1, pad_h: int = 0, pad_w: int = 0):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(cout, cin, kh, kw))
        self.beta = nn.Parameter(torch.zeros(cout))
        self.register_buffer("mean", torch.zeros(cout))
        self.register_buffer("var", torch.ones(cout))
        self.stride = stride
        self.padding = [pad_h, pad_w]
        self.eps = BN_EPS  # TorchScript reads attributes, not module globals

    def forward(self, x):
        x = F.conv2d(x, self.weight, None, [self.stride, self.stride], self.padding)
        x = F.batch_norm(x, self.mean, self.var, None, self.beta, False, 0.0, self.eps)
        return F.relu(x)


def avg_pool_3x3():
    # TF's SAME average pool: the padding is not counted.
    return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)


def Tower(specs, pool=None):
    """A chain of conv layers named conv, conv_1, conv_2, ..., after `pool` (named pool) if given."""
    named = [("pool", pool)] if pool is not None else []
    named += [("conv" if i == 0 else f"conv_{i}", Conv2dLayer(*spec)) for i, spec in enumerate(specs)]
    return nn.Sequential(OrderedDict(named))


class BlockA(nn.Module):
    def __init__(self, cin: int, pf: int, d: int):
        super().__init__()
        self.conv = Conv2dLayer(cin, 64 // d, 1, 1)
        self.tower = Tower([(cin, 48 // d, 1, 1), (48 // d, 64 // d, 5, 5, 1, 2, 2)])
        self.tower_1 = Tower([(cin, 64 // d, 1, 1), (64 // d, 96 // d, 3, 3, 1, 1, 1),
                              (96 // d, 96 // d, 3, 3, 1, 1, 1)])
        self.tower_2 = Tower([(cin, pf // d, 1, 1)], avg_pool_3x3())

    def forward(self, x):
        return torch.cat([self.conv(x), self.tower(x), self.tower_1(x), self.tower_2(x)], 1)


class BlockB(nn.Module):
    def __init__(self, cin: int, d: int):
        super().__init__()
        self.conv = Conv2dLayer(cin, 384 // d, 3, 3, 2)
        self.tower = Tower([(cin, 64 // d, 1, 1), (64 // d, 96 // d, 3, 3, 1, 1, 1), (96 // d, 96 // d, 3, 3, 2)])
        self.pool = nn.MaxPool2d(3, stride=2)

    def forward(self, x):
        return torch.cat([self.conv(x), self.tower(x), self.pool(x)], 1)


class BlockC(nn.Module):
    def __init__(self, cin: int, c7: int, d: int):
        super().__init__()
        m, o = c7 // d, 192 // d
        self.conv = Conv2dLayer(cin, o, 1, 1)
        self.tower = Tower([(cin, m, 1, 1), (m, m, 1, 7, 1, 0, 3), (m, o, 7, 1, 1, 3, 0)])
        self.tower_1 = Tower([(cin, m, 1, 1), (m, m, 7, 1, 1, 3, 0), (m, m, 1, 7, 1, 0, 3), (m, m, 7, 1, 1, 3, 0),
                              (m, o, 1, 7, 1, 0, 3)])
        self.tower_2 = Tower([(cin, o, 1, 1)], avg_pool_3x3())

    def forward(self, x):
        return torch.cat([self.conv(x), self.tower(x), self.tower_1(x), self.tower_2(x)], 1)


class BlockD(nn.Module):
    def __init__(self, cin: int, d: int):
        super().__init__()
        o = 192 // d
        self.tower = Tower([(cin, o, 1, 1), (o, 320 // d, 3, 3, 2)])
        self.tower_1 = Tower([(cin, o, 1, 1), (o, o, 1, 7, 1, 0, 3), (o, o, 7, 1, 1, 3, 0), (o, o, 3, 3, 2)])
        self.pool = nn.MaxPool2d(3, stride=2)

    def forward(self, x):
        return torch.cat([self.tower(x), self.tower_1(x), self.pool(x)], 1)


class BlockE(nn.Module):
    def __init__(self, cin: int, max_pool: bool, d: int):
        super().__init__()
        w = 384 // d
        self.conv = Conv2dLayer(cin, 320 // d, 1, 1)
        self.tower_conv = Conv2dLayer(cin, w, 1, 1)
        self.tower_mixed_conv = Conv2dLayer(w, w, 1, 3, 1, 0, 1)
        self.tower_mixed_conv_1 = Conv2dLayer(w, w, 3, 1, 1, 1, 0)
        self.tower_1_conv = Conv2dLayer(cin, 448 // d, 1, 1)
        self.tower_1_conv_1 = Conv2dLayer(448 // d, w, 3, 3, 1, 1, 1)
        self.tower_1_mixed_conv = Conv2dLayer(w, w, 1, 3, 1, 0, 1)
        self.tower_1_mixed_conv_1 = Conv2dLayer(w, w, 3, 1, 1, 1, 0)
        self.tower_2_pool = nn.MaxPool2d(3, stride=1, padding=1) if max_pool else avg_pool_3x3()
        self.tower_2_conv = Conv2dLayer(cin, 192 // d, 1, 1)

    def forward(self, x):
        t = self.tower_conv(x)
        u = self.tower_1_conv_1(self.tower_1_conv(x))
        return torch.cat([self.conv(x), self.tower_mixed_conv(t), self.tower_mixed_conv_1(t),
                          self.tower_1_mixed_conv(u), self.tower_1_mixed_conv_1(u),
                          self.tower_2_conv(self.tower_2_pool(x))], 1)


class InceptionReference(nn.Module):
    def __init__(self, width_divisor: int = 1):
        super().__init__()
        d = width_divisor
        self.features_dim = 2048 // d
        self.resolution = RESOLUTION  # TorchScript reads attributes, not module globals
        self.pixel_center = PIXEL_CENTER
        self.layers = nn.Sequential(OrderedDict([
            ("conv", Conv2dLayer(3, 32 // d, 3, 3, 2)),
            ("conv_1", Conv2dLayer(32 // d, 32 // d, 3, 3)),
            ("conv_2", Conv2dLayer(32 // d, 64 // d, 3, 3, 1, 1, 1)),
            ("pool0", nn.MaxPool2d(3, stride=2)),
            ("conv_3", Conv2dLayer(64 // d, 80 // d, 1, 1)),
            ("conv_4", Conv2dLayer(80 // d, 192 // d, 3, 3)),
            ("pool1", nn.MaxPool2d(3, stride=2)),
            ("mixed", BlockA(192 // d, 32, d)),
            ("mixed_1", BlockA(256 // d, 64, d)),
            ("mixed_2", BlockA(288 // d, 64, d)),
            ("mixed_3", BlockB(288 // d, d)),
            ("mixed_4", BlockC(768 // d, 128, d)),
            ("mixed_5", BlockC(768 // d, 160, d)),
            ("mixed_6", BlockC(768 // d, 160, d)),
            ("mixed_7", BlockC(768 // d, 192, d)),
            ("mixed_8", BlockD(768 // d, d)),
            ("mixed_9", BlockE(1280 // d, False, d)),
            ("mixed_10", BlockE(2048 // d, True, d)),
            ("pool2", nn.AvgPool2d(8, stride=8)),
        ]))
        self.output = nn.Linear(2048 // d, 1008)

    def forward(self, img, return_features: bool = False, no_output_bias: bool = False):
        x = tf1_resize_bilinear(img.to(self.output.weight.dtype), self.resolution)
        x = (x - self.pixel_center) / self.pixel_center
        features = self.layers(x).reshape(-1, self.features_dim)
        if return_features:
            return features
        if no_output_bias:
            logits = F.linear(features, self.output.weight)
        else:
            logits = self.output(features)
        return F.softmax(logits, dim=1)


# ---- deterministic values shared with tests/test_inception.cpp ----
_M64 = (1 << 64) - 1


def fnv1a64(text: str) -> int:
    h = 0xCBF29CE484222325
    for b in text.encode():
        h = ((h ^ b) * 0x100000001B3) & _M64
    return h


def _uniform(key: str, count: int):
    """u_i = splitmix64(fnv1a64(key) + i) >> 40, over 2^24: [0, 1) as float64, exactly."""
    import numpy as np
    with np.errstate(over="ignore"):
        z = np.arange(count, dtype=np.uint64) + np.uint64(fnv1a64(key)) + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return torch.from_numpy((z >> np.uint64(40)).astype(np.float64) / float(1 << 24))


def hashed_tensor(name: str, shape: List[int]):
    """The test value of state-dict entry `name`: v = 2u - 1 in [-1, 1), scaled per kind, rounded to float32."""
    v = _uniform(name, math.prod(shape)) * 2 - 1
    if name == "output.weight":
        v = v * math.sqrt(12.0 / shape[1])
    elif name == "output.bias":
        pass
    elif name.endswith(".weight"):
        v = v * math.sqrt(6.0 / (shape[1] * shape[2] * shape[3]))
    elif name.endswith(".var"):
        v = v * 0.5 + 1.0
    else:  # beta, mean
        v = v * 0.1
    return v.to(torch.float32).reshape(shape)


def hashed_state_dict(module: nn.Module):
    return {k: hashed_tensor(k, list(t.shape)) for k, t in module.state_dict().items()}


def hashed_images(key: str, shape: List[int]):
    """Integer pixel values 0..255 (the top byte of the hash), float32."""
    return (_uniform("image:" + key, math.prod(shape)) * 256).floor().to(torch.float32).reshape(shape)
