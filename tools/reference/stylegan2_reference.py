"""A compact PyTorch reference of the StyleGAN2-ADA networks (training/networks.py
of NVlabs/stylegan2-ada-pytorch): generator (mapping + 'skip' synthesis) and
discriminator ('resnet' or 'orig', minibatch stddev, conditional projection).

Written from the published semantics, for checking ganforge and the weight
converter: equalized learning rate (weights stored N(0, 1), scaled at run time),
modulated convolution with demodulation, FIR resampling with the [1, 3, 3, 1]
filter (upfirdn2d = zero insertion, padding, depthwise convolution with the
flipped filter), bias + activation with gain and clamp. Only the unfused
modulated convolution is written: the official fused path computes the same
values. Attribute names are the official ones, so `state_dict()` yields the
official parameter and buffer names and `load_state_dict` accepts official
weights.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

SQRT2 = math.sqrt(2)


def setup_filter(taps=(1, 3, 3, 1)):
    f = torch.as_tensor(taps, dtype=torch.float32)
    f = torch.outer(f, f)
    return f / f.sum()


def upfirdn2d(x, f, up=1, down=1, pad=(0, 0, 0, 0), flip_filter=False, gain=1):
    """The official _upfirdn2d_ref: upsample by zero insertion, pad (x0, x1, y0,
    y1; negative crops), filter, keep every down-th pixel. f is 2-D, 1-D (applied
    separably) or None (identity); it is a true convolution (flipped) unless
    flip_filter. up and down are an int or an (x, y) pair. The golden-data
    scripts in tools/fixtures/ use this one definition too."""
    if f is None:
        f = torch.ones([1, 1], dtype=x.dtype)
    upx, upy = (up, up) if isinstance(up, int) else up
    downx, downy = (down, down) if isinstance(down, int) else down
    padx0, padx1, pady0, pady1 = pad
    n, c, h, w = x.shape
    x = x.reshape([n, c, h, 1, w, 1])
    x = F.pad(x, [0, upx - 1, 0, 0, 0, upy - 1])
    x = x.reshape([n, c, h * upy, w * upx])
    x = F.pad(x, [max(padx0, 0), max(padx1, 0), max(pady0, 0), max(pady1, 0)])
    x = x[:, :, max(-pady0, 0):x.shape[2] - max(-pady1, 0), max(-padx0, 0):x.shape[3] - max(-padx1, 0)]
    f = (f * (gain ** (f.ndim / 2))).to(x.dtype)
    if not flip_filter:
        f = f.flip(list(range(f.ndim)))
    f = f[None, None].repeat([c, 1] + [1] * f.ndim)
    if f.ndim == 4:
        x = F.conv2d(x, f, groups=c)
    else:
        x = F.conv2d(x, f.unsqueeze(2), groups=c)
        x = F.conv2d(x, f.unsqueeze(3), groups=c)
    return x[:, :, ::downy, ::downx]


def upsample2d(x, f):
    fw = f.shape[0]
    return upfirdn2d(x, f, up=2, pad=((fw + 1) // 2, (fw - 2) // 2) * 2, gain=4)


def conv2d_resample(x, w, f, up=1, down=1, padding=0, flip_weight=True):
    """conv2d with FIR up- or downsampling by 2. flip_weight False asks for a true
    convolution (the official synthesis layers ask for it when upsampling, and
    the transposed convolution then needs no flip)."""
    k = w.shape[-1]
    fw = f.shape[0] if f is not None else 0
    if up == 1 and down == 1:
        return F.conv2d(x, w if flip_weight else w.flip([2, 3]), padding=padding)
    if down == 2:
        p0, p1 = padding + (fw - 1) // 2, padding + (fw - 2) // 2
        if k == 1:
            return F.conv2d(upfirdn2d(x, f, down=2, pad=(p0, p1, p0, p1)), w)
        return F.conv2d(upfirdn2d(x, f, pad=(p0, p1, p0, p1)), w, stride=2)
    assert up == 2 and k > 1 and not flip_weight
    # Transposed stride-2 convolution, then the FIR filter; padding chosen as
    # the official conv2d_resample does (net: `padding` around the 2x output).
    p0 = padding + (fw + 1) // 2 - (k - 1)
    p1 = padding + (fw - 2) // 2 - (k - 2)
    pt = max(min(-p0, -p1), 0)
    x = F.conv_transpose2d(x, w.transpose(0, 1), stride=2, padding=pt)
    return upfirdn2d(x, f, pad=(p0 + pt, p1 + pt) * 2, gain=4)


def bias_act(x, b=None, act="linear", gain=None, clamp=None):
    if b is not None:
        x = x + b.reshape([1, -1] + [1] * (x.ndim - 2))
    if act == "lrelu":
        x = F.leaky_relu(x, 0.2)
        gain = SQRT2 if gain is None else gain
    gain = 1 if gain is None else gain
    if gain != 1:
        x = x * gain
    if clamp is not None:
        x = x.clamp(-clamp, clamp)
    return x


def normalize_2nd_moment(x, eps=1e-8):
    return x * (x.square().mean(dim=1, keepdim=True) + eps).rsqrt()


class FullyConnectedLayer(nn.Module):
    def __init__(self, in_features, out_features, bias=True, activation="linear", lr_multiplier=1, bias_init=0):
        super().__init__()
        self.activation = activation
        self.weight = nn.Parameter(torch.randn([out_features, in_features]) / lr_multiplier)
        self.bias = nn.Parameter(torch.full([out_features], float(bias_init))) if bias else None
        self.weight_gain = lr_multiplier / math.sqrt(in_features)
        self.bias_gain = lr_multiplier

    def forward(self, x):
        b = self.bias * self.bias_gain if self.bias is not None else None
        return bias_act(x.matmul((self.weight * self.weight_gain).t()), b, self.activation)


class Conv2dLayer(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, bias=True, activation="linear", down=1,
                 conv_clamp=None):
        super().__init__()
        self.register_buffer("resample_filter", setup_filter())
        self.weight = nn.Parameter(torch.randn([out_channels, in_channels, kernel_size, kernel_size]))
        self.bias = nn.Parameter(torch.zeros([out_channels])) if bias else None
        self.activation, self.down, self.conv_clamp = activation, down, conv_clamp
        self.padding = kernel_size // 2
        self.weight_gain = 1 / math.sqrt(in_channels * kernel_size ** 2)

    def forward(self, x, gain=1):
        x = conv2d_resample(x, self.weight * self.weight_gain, self.resample_filter.to(x.dtype), down=self.down,
                            padding=self.padding)
        act_gain = (SQRT2 if self.activation == "lrelu" else 1) * gain
        clamp = self.conv_clamp * gain if self.conv_clamp is not None else None
        return bias_act(x, self.bias, self.activation, act_gain, clamp)


class MappingNetwork(nn.Module):
    def __init__(self, z_dim, c_dim, w_dim, num_ws, num_layers=8, lr_multiplier=0.01, w_avg_beta=0.995):
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim, self.num_ws, self.num_layers = z_dim, c_dim, w_dim, num_ws, num_layers
        embed = w_dim if c_dim > 0 else 0
        if c_dim > 0:
            self.embed = FullyConnectedLayer(c_dim, embed)
        for i in range(num_layers):
            layer = FullyConnectedLayer(z_dim + embed if i == 0 else w_dim, w_dim, activation="lrelu",
                                        lr_multiplier=lr_multiplier)
            setattr(self, f"fc{i}", layer)
        self.w_avg_beta = w_avg_beta
        if num_ws is not None and w_avg_beta is not None:
            self.register_buffer("w_avg", torch.zeros([w_dim]))

    def forward(self, z, c, truncation_psi=1, truncation_cutoff=None, update_w_avg=False):
        """update_w_avg: move the tracked average of w, as the official network
        does in training mode unless skip_w_avg_update."""
        parts = []
        if self.z_dim > 0:
            parts.append(normalize_2nd_moment(z))
        if self.c_dim > 0:
            parts.append(normalize_2nd_moment(self.embed(c)))
        x = torch.cat(parts, dim=1)
        for i in range(self.num_layers):
            x = getattr(self, f"fc{i}")(x)
        if update_w_avg:
            self.w_avg.copy_(x.detach().mean(dim=0).lerp(self.w_avg, self.w_avg_beta))
        if self.num_ws is not None:
            x = x.unsqueeze(1).repeat(1, self.num_ws, 1)
        if truncation_psi != 1:
            w_avg = self.w_avg.to(x.dtype)
            if self.num_ws is None or truncation_cutoff is None:
                x = w_avg.lerp(x, truncation_psi)
            else:
                head = w_avg.lerp(x[:, :truncation_cutoff], truncation_psi)
                x = torch.cat([head, x[:, truncation_cutoff:]], dim=1)
        return x


def modulated_conv2d(x, weight, styles, demodulate=True, up=1, padding=0, f=None, flip_weight=True):
    x = x * styles[:, :, None, None]
    x = conv2d_resample(x, weight, f, up=up, padding=padding, flip_weight=flip_weight)
    if demodulate:
        w = weight[None] * styles[:, None, :, None, None]
        x = x * (w.square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt()[:, :, None, None]
    return x


class SynthesisLayer(nn.Module):
    def __init__(self, in_channels, out_channels, w_dim, resolution, up=1, use_noise=True, conv_clamp=None):
        super().__init__()
        self.resolution, self.up, self.use_noise, self.conv_clamp = resolution, up, use_noise, conv_clamp
        self.noise_name = f"b{resolution}.conv{0 if up == 2 else 1}"  # for a noise_mode function
        self.register_buffer("resample_filter", setup_filter())
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.weight = nn.Parameter(torch.randn([out_channels, in_channels, 3, 3]))
        if use_noise:
            self.register_buffer("noise_const", torch.randn([resolution, resolution]))
            self.noise_strength = nn.Parameter(torch.zeros([]))
        self.bias = nn.Parameter(torch.zeros([out_channels]))

    def forward(self, x, w, noise_mode="random"):
        """noise_mode: "random", "const", "none", or a function (layer name,
        shape) -> noise [N, 1, res, res] (a training step's recorded draws)."""
        styles = self.affine(w)
        x = modulated_conv2d(x, self.weight.to(x.dtype), styles, up=self.up, padding=1,
                             f=self.resample_filter.to(x.dtype), flip_weight=self.up == 1)
        shape = [x.shape[0], 1, self.resolution, self.resolution]
        if self.use_noise and callable(noise_mode):
            x = x + noise_mode(self.noise_name, shape).to(x.dtype) * self.noise_strength
        if self.use_noise and noise_mode == "random":
            x = x + torch.randn(shape, dtype=x.dtype) * self.noise_strength
        if self.use_noise and noise_mode == "const":
            x = x + self.noise_const * self.noise_strength
        return bias_act(x, self.bias, "lrelu", clamp=self.conv_clamp)


class ToRGBLayer(nn.Module):
    def __init__(self, in_channels, out_channels, w_dim, conv_clamp=None):
        super().__init__()
        self.conv_clamp = conv_clamp
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.weight = nn.Parameter(torch.randn([out_channels, in_channels, 1, 1]))
        self.bias = nn.Parameter(torch.zeros([out_channels]))
        self.weight_gain = 1 / math.sqrt(in_channels)

    def forward(self, x, w):
        styles = self.affine(w) * self.weight_gain
        x = modulated_conv2d(x, self.weight.to(x.dtype), styles, demodulate=False)
        return bias_act(x, self.bias, clamp=self.conv_clamp)


class SynthesisBlock(nn.Module):
    def __init__(self, in_channels, out_channels, w_dim, resolution, img_channels, use_noise=True, conv_clamp=None):
        super().__init__()
        self.in_channels = in_channels
        self.register_buffer("resample_filter", setup_filter())
        if in_channels == 0:
            self.const = nn.Parameter(torch.randn([out_channels, resolution, resolution]))
        else:
            self.conv0 = SynthesisLayer(in_channels, out_channels, w_dim, resolution, up=2, use_noise=use_noise,
                                        conv_clamp=conv_clamp)
        self.conv1 = SynthesisLayer(out_channels, out_channels, w_dim, resolution, use_noise=use_noise,
                                    conv_clamp=conv_clamp)
        self.torgb = ToRGBLayer(out_channels, img_channels, w_dim, conv_clamp=conv_clamp)
        self.num_conv = 1 if in_channels == 0 else 2

    def forward(self, x, img, ws, noise_mode):
        if self.in_channels == 0:
            x = self.const.to(ws.dtype)[None].repeat(ws.shape[0], 1, 1, 1)
            x = self.conv1(x, ws[:, 0], noise_mode)
        else:
            x = self.conv0(x, ws[:, 0], noise_mode)
            x = self.conv1(x, ws[:, 1], noise_mode)
        y = self.torgb(x, ws[:, self.num_conv])
        img = y if img is None else upsample2d(img, self.resample_filter.to(y.dtype)) + y
        return x, img


def channels(channel_base, channel_max, res):
    return min(channel_base // res, channel_max)


class SynthesisNetwork(nn.Module):
    def __init__(self, w_dim, img_resolution, img_channels, channel_base=32768, channel_max=512, use_noise=True,
                 conv_clamp=None):
        super().__init__()
        self.resolutions = [2 ** i for i in range(2, int(math.log2(img_resolution)) + 1)]
        self.num_ws = 0
        for res in self.resolutions:
            cin = channels(channel_base, channel_max, res // 2) if res > 4 else 0
            block = SynthesisBlock(cin, channels(channel_base, channel_max, res), w_dim, res, img_channels,
                                   use_noise, conv_clamp)
            setattr(self, f"b{res}", block)
            self.num_ws += block.num_conv + (1 if res == img_resolution else 0)

    def forward(self, ws, noise_mode="random"):
        x = img = None
        i = 0
        for res in self.resolutions:
            block = getattr(self, f"b{res}")
            x, img = block(x, img, ws[:, i:i + block.num_conv + 1], noise_mode)
            i += block.num_conv  # a block's ToRGB shares its w with the next block's first conv
        return img


class Generator(nn.Module):
    """kwargs: ganforge's G_kwargs (models/stylegan2/config.h)."""

    def __init__(self, z_dim=512, c_dim=0, w_dim=512, img_resolution=1024, img_channels=3, mapping_layers=8,
                 mapping_lr_multiplier=0.01, w_avg_beta=0.995, channel_base=32768, channel_max=512, conv_clamp=None,
                 use_noise=True):
        super().__init__()
        self.synthesis = SynthesisNetwork(w_dim, img_resolution, img_channels, channel_base, channel_max, use_noise,
                                          conv_clamp)
        self.mapping = MappingNetwork(z_dim, c_dim, w_dim, self.synthesis.num_ws, mapping_layers,
                                      mapping_lr_multiplier, w_avg_beta)

    def forward(self, z, c=None, truncation_psi=1, truncation_cutoff=None, noise_mode="const"):
        ws = self.mapping(z, c, truncation_psi, truncation_cutoff)
        return self.synthesis(ws, noise_mode)


DISCRIMINATOR_ARCHITECTURES = ("resnet", "orig")


def check_d_architecture(architecture):
    if architecture not in DISCRIMINATOR_ARCHITECTURES:
        raise ValueError(f"discriminator architecture {architecture!r}: ganforge's StyleGAN2 discriminator is "
                         f"'resnet' or 'orig' ('skip' is not supported)")


class DiscriminatorBlock(nn.Module):
    """'resnet': a 1x1 downsampling skip beside the two convolutions, both
    branches scaled by sqrt(0.5); 'orig': the two convolutions alone (gain 1),
    no skip layer. fromrgb in the first block only, for both."""

    def __init__(self, in_channels, tmp_channels, out_channels, img_channels, conv_clamp=None, architecture="resnet"):
        super().__init__()
        check_d_architecture(architecture)
        self.in_channels, self.architecture = in_channels, architecture
        self.register_buffer("resample_filter", setup_filter())
        if in_channels == 0:
            self.fromrgb = Conv2dLayer(img_channels, tmp_channels, 1, activation="lrelu", conv_clamp=conv_clamp)
        self.conv0 = Conv2dLayer(tmp_channels, tmp_channels, 3, activation="lrelu", conv_clamp=conv_clamp)
        self.conv1 = Conv2dLayer(tmp_channels, out_channels, 3, activation="lrelu", down=2, conv_clamp=conv_clamp)
        if architecture == "resnet":
            self.skip = Conv2dLayer(tmp_channels, out_channels, 1, bias=False, down=2)

    def forward(self, x, img):
        if self.in_channels == 0:
            x = self.fromrgb(img)
        if self.architecture == "orig":
            return self.conv1(self.conv0(x))
        y = self.skip(x, gain=math.sqrt(0.5))
        return y + self.conv1(self.conv0(x), gain=math.sqrt(0.5))


def minibatch_stddev(x, group_size, num_channels):
    n, c, h, w = x.shape
    g = min(group_size, n) if group_size else n
    y = x.reshape(g, -1, num_channels, c // num_channels, h, w)
    y = (y - y.mean(dim=0)).square().mean(dim=0)
    y = (y + 1e-8).sqrt().mean(dim=[2, 3, 4]).reshape(-1, num_channels, 1, 1)
    return torch.cat([x, y.repeat(g, 1, h, w)], dim=1)


class DiscriminatorEpilogue(nn.Module):
    def __init__(self, in_channels, cmap_dim, resolution, mbstd_group_size=4, mbstd_num_channels=1, conv_clamp=None):
        super().__init__()
        self.cmap_dim, self.mbstd_group_size, self.mbstd_num_channels = cmap_dim, mbstd_group_size, mbstd_num_channels
        self.conv = Conv2dLayer(in_channels + mbstd_num_channels, in_channels, 3, activation="lrelu",
                                conv_clamp=conv_clamp)
        self.fc = FullyConnectedLayer(in_channels * resolution ** 2, in_channels, activation="lrelu")
        self.out = FullyConnectedLayer(in_channels, 1 if cmap_dim == 0 else cmap_dim)

    def forward(self, x, cmap):
        if self.mbstd_num_channels > 0:
            x = minibatch_stddev(x, self.mbstd_group_size, self.mbstd_num_channels)
        x = self.out(self.fc(self.conv(x).flatten(1)))
        if self.cmap_dim > 0:
            x = (x * cmap).sum(dim=1, keepdim=True) / math.sqrt(self.cmap_dim)
        return x


class Discriminator(nn.Module):
    """kwargs: ganforge's D_kwargs (models/stylegan2/config.h); 0 stands for the official None.
    architecture: 'resnet' (the default, as a D_kwargs without the key) or 'orig'."""

    def __init__(self, c_dim=0, img_resolution=1024, img_channels=3, channel_base=32768, channel_max=512,
                 conv_clamp=None, mbstd_group_size=4, mbstd_num_channels=1, cmap_dim=0, mapping_layers=8,
                 freeze_layers=0, architecture="resnet"):
        super().__init__()
        check_d_architecture(architecture)
        self.c_dim, self.architecture = c_dim, architecture
        self.resolutions = [2 ** i for i in range(int(math.log2(img_resolution)), 2, -1)]
        ch = lambda res: channels(channel_base, channel_max, res)  # noqa: E731
        cmap_dim = 0 if c_dim == 0 else cmap_dim or ch(4)
        for res in self.resolutions:
            cin = ch(res) if res < img_resolution else 0
            setattr(self, f"b{res}", DiscriminatorBlock(cin, ch(res), ch(res // 2), img_channels, conv_clamp,
                                                        architecture))
        if c_dim > 0:
            self.mapping = MappingNetwork(0, c_dim, cmap_dim, None, mapping_layers, w_avg_beta=None)
        self.b4 = DiscriminatorEpilogue(ch(4), cmap_dim, 4, mbstd_group_size, mbstd_num_channels, conv_clamp)

    def forward(self, img, c=None):
        x = None
        for res in self.resolutions:
            x = getattr(self, f"b{res}")(x, img)
        cmap = self.mapping(None, c) if self.c_dim > 0 else None
        return self.b4(x, cmap)
