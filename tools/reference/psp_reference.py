"""A compact PyTorch reference of pSp's encoders (pixel2style2pixel,
models/encoders/psp_encoders.py and helpers.py; models/psp.py for the latent
average, the decoder call and the output pooling).

Written from pSp's semantics, for checking ganforge and the weight converter.
Module and attribute names are pSp's, so `state_dict()` yields the official
names (input_layer.*, body.N.res_layer.*, styles.N.convs.*, latlayer1.*, ...)
and `load_state_dict` accepts an official checkpoint's encoder. Beyond pSp,
the IR-SE body's units and depths, the input size and the style count are
parameters, so tests can use small networks of the same architecture:
  units=(3, 4, 14, 3), depths=(64, 128, 256, 512), input_size=256 is IR-SE50
  as pSp builds it; the feature pyramid taps the last unit of stages 2, 3 and
  4 (body indices 6, 20, 23), the map2style blocks start at input_size / 16,
  / 8, / 4 (16, 32, 64 px), and the style width is depths[3] (512).
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

ENCODER_TYPES = ("GradualStyleEncoder", "BackboneEncoderUsingLastLayerIntoW",
                 "BackboneEncoderUsingLastLayerIntoWPlus")


def ir_units(units, depths):
    """(in_channel, depth, stride) of every body unit: the first unit of each
    stage strides by 2 (pSp's get_block)."""
    out, cin = [], 64
    for n, d in zip(units, depths):
        out.append((cin, d, 2))
        out += [(d, d, 1)] * (n - 1)
        cin = d
    return out


class SEModule(nn.Module):
    def __init__(self, channels, reduction):
        super().__init__()
        self.fc1 = nn.Conv2d(channels, channels // reduction, 1, bias=False)
        self.fc2 = nn.Conv2d(channels // reduction, channels, 1, bias=False)

    def forward(self, x):
        s = F.adaptive_avg_pool2d(x, 1)
        return x * torch.sigmoid(self.fc2(F.relu(self.fc1(s))))


class BottleneckIR(nn.Module):
    """bottleneck_IR (se=False) or bottleneck_IR_SE: BN, 3x3 conv, PReLU, strided
    3x3 conv, BN[, SE]; plus a shortcut (1x1 max pool with the stride when the
    depth is kept, else a strided 1x1 conv and BN). No activation after the sum."""

    def __init__(self, cin, depth, stride, se=True, reduction=16):
        super().__init__()
        self.stride = stride
        if cin == depth:
            self.shortcut_layer = nn.MaxPool2d(1, stride)
        else:
            self.shortcut_layer = nn.Sequential(nn.Conv2d(cin, depth, 1, stride, bias=False), nn.BatchNorm2d(depth))
        layers = [nn.BatchNorm2d(cin), nn.Conv2d(cin, depth, 3, 1, 1, bias=False), nn.PReLU(depth),
                  nn.Conv2d(depth, depth, 3, stride, 1, bias=False), nn.BatchNorm2d(depth)]
        if se:
            layers.append(SEModule(depth, reduction))
        self.res_layer = nn.Sequential(*layers)

    def forward(self, x):
        return self.res_layer(x) + self.shortcut_layer(x)


class EqualLinear(nn.Module):
    """rosinality's EqualLinear without activation: weight scaled by
    lr_mul / sqrt(in) at run time, bias by lr_mul."""

    def __init__(self, cin, cout, lr_mul=1.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin) / lr_mul)
        self.bias = nn.Parameter(torch.zeros(cout))
        self.scale = lr_mul / math.sqrt(cin)
        self.lr_mul = lr_mul

    def forward(self, x):
        return F.linear(x, self.weight * self.scale, self.bias * self.lr_mul)


class GradualStyleBlock(nn.Module):
    """map2style: log2(spatial) stride-2 3x3 convs with bias, each followed by
    LeakyReLU(0.01), down to 1x1, then an EqualLinear."""

    def __init__(self, cin, cout, spatial):
        super().__init__()
        self.out_c = cout
        mods = []
        for i in range(int(math.log2(spatial))):
            mods += [nn.Conv2d(cin if i == 0 else cout, cout, 3, 2, 1), nn.LeakyReLU()]
        self.convs = nn.Sequential(*mods)
        self.linear = EqualLinear(cout, cout, lr_mul=1)

    def forward(self, x):
        return self.linear(self.convs(x).view(-1, self.out_c))


class _Body(nn.Module):
    def _make_body(self, cfg):
        self.input_layer = nn.Sequential(nn.Conv2d(cfg["input_nc"], 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64),
                                         nn.PReLU(64))
        se = cfg.get("mode", "ir_se") == "ir_se"
        self.body = nn.Sequential(*[BottleneckIR(a, b, s, se, cfg.get("se_reduction", 16))
                                    for a, b, s in ir_units(cfg["units"], cfg["depths"])])


class GradualStyleEncoder(_Body):
    def __init__(self, cfg):
        super().__init__()
        self._make_body(cfg)
        d, size, n = cfg["depths"], cfg["input_size"], cfg["n_styles"]
        self.taps = [sum(cfg["units"][:k + 1]) - 1 for k in (1, 2, 3)]
        self.styles = nn.ModuleList(
            GradualStyleBlock(d[3], d[3], size // (16 if i < 3 else 8 if i < 7 else 4)) for i in range(n))
        self.latlayer1 = nn.Conv2d(d[2], d[3], 1)
        self.latlayer2 = nn.Conv2d(d[1], d[3], 1)

    def forward(self, x):
        x = self.input_layer(x)
        feats = {}
        for i, unit in enumerate(self.body):
            x = unit(x)
            feats[i] = x
        c1, c2, c3 = (feats[t] for t in self.taps)
        up = lambda a, b: F.interpolate(a, size=b.shape[2:], mode="bilinear", align_corners=True) + b  # noqa: E731
        codes = [self.styles[j](c3) for j in range(min(3, len(self.styles)))]
        p2 = up(c3, self.latlayer1(c2))
        codes += [self.styles[j](p2) for j in range(3, min(7, len(self.styles)))]
        p1 = up(p2, self.latlayer2(c1))
        codes += [self.styles[j](p1) for j in range(7, len(self.styles))]
        return torch.stack(codes, dim=1)


class BackboneEncoderUsingLastLayerIntoW(_Body):
    def __init__(self, cfg):
        super().__init__()
        self._make_body(cfg)
        self.linear = EqualLinear(cfg["depths"][3], cfg["depths"][3], lr_mul=1)

    def forward(self, x):
        x = self.body(self.input_layer(x))
        return self.linear(F.adaptive_avg_pool2d(x, 1).flatten(1))


class BackboneEncoderUsingLastLayerIntoWPlus(_Body):
    def __init__(self, cfg):
        super().__init__()
        self._make_body(cfg)
        d = cfg["depths"][3]
        self.n_styles = cfg["n_styles"]
        self.output_layer_2 = nn.Sequential(nn.BatchNorm2d(d), nn.AdaptiveAvgPool2d((7, 7)), nn.Flatten(),
                                            nn.Linear(d * 49, d))
        self.linear = EqualLinear(d, d * self.n_styles, lr_mul=1)

    def forward(self, x):
        x = self.output_layer_2(self.body(self.input_layer(x)))
        return self.linear(x).view(-1, self.n_styles, self.linear.weight.shape[0] // self.n_styles)


def make_encoder(cfg):
    return globals()[cfg.get("encoder_type", "GradualStyleEncoder")](cfg)


def psp_codes(encoder, x, latent_avg=None, learn_in_w=False):
    """pSp.forward's codes: encoder(x) plus the latent average (when the
    checkpoint starts from it): W+ [N, n_styles, w], or W [N, w] with
    learn_in_w, as the encoder gives it (rosinality's generator, and
    ganforge's Psp::encode, repeat a W code over the layers)."""
    codes = encoder(x)
    if latent_avg is not None:
        codes = codes + (latent_avg.reshape(1, -1) if learn_in_w else latent_avg)
    return codes


def face_pool(img):
    """pSp's resize_outputs: AdaptiveAvgPool2d((256, 256))."""
    return F.adaptive_avg_pool2d(img, (256, 256))
