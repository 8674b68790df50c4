"""A PyTorch reference of StyleGAN2-ADA's augmentation pipeline (AugmentPipe of
training/augment.py in NVlabs/stylegan2-ada-pytorch), written from its
semantics, for tests/test_augment_pipe.cpp (through
tools/fixtures/make_augment_fixtures.py) and the StyleGAN2 training-step reference,
whose run_D applies it.

Every torch.rand/randn call of the official forward is a call of the
caller's draw(name, shape, kind) instead (kind "rand": uniform [0, 1),
"randn": normal), which returns a float32 tensor of that shape: fresh, or
looked up in a draw log under prefix + name, so that a pipe ganforge ran
can be replayed here and the other way round. The names are those of
train/augment_pipe.h (DRAWS below, in call order).

Precision, as the official code runs it: every parameter (the geometric
matrix G_inv, the padding, the color matrix C, the filter gains, noise
strengths and cutout mask) is computed in float32; the pixel work
(padding, resampling, color, filtering) runs in the images' dtype, float32
or float64, with those float32 parameters converted to it. The resampling
is differentiable to any order (grid_sample's input gradient is linear in
the incoming gradient; its own gradient is grid_sample again, as the
official grid_sample_gradfix).
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

TOOLS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # tools/: the shared helpers
sys.path[:0] = [os.path.dirname(os.path.abspath(__file__)), TOOLS, os.path.join(TOOLS, "reference")]
from stylegan2_reference import upfirdn2d  # noqa: E402

# Low-pass filters of the Daubechies symlets (PyWavelets' decomposition taps).
SYM2 = [-0.12940952255092145, 0.22414386804185735, 0.836516303737469, 0.48296291314469025]
SYM6 = [0.015404109327027373, 0.0034907120842174702, -0.11799011114819057, -0.048311742585633,
        0.4910559419267466, 0.787641141030194, 0.3379294217276218, -0.07263752278646252,
        -0.021060292512300564, 0.04472490177066578, 0.0017677118642428036, -0.007800708325034148]

# Constructor arguments and defaults of the official class (train.py's
# augpipe_specs sets the probability multipliers below to 1).
DEFAULTS = dict(
    xflip=0, rotate90=0, xint=0, xint_max=0.125,
    scale=0, rotate=0, aniso=0, xfrac=0, scale_std=0.2, rotate_max=1, aniso_std=0.2, xfrac_std=0.125,
    brightness=0, contrast=0, lumaflip=0, hue=0, saturation=0, brightness_std=0.2, contrast_std=0.5,
    hue_max=1, saturation_std=1,
    imgfilter=0, imgfilter_bands=(1, 1, 1, 1), imgfilter_std=1,
    noise=0, cutout=0, noise_std=0.1, cutout_size=0.5,
)

_BLIT = dict(xflip=1, rotate90=1, xint=1)
_GEOM = dict(scale=1, rotate=1, aniso=1, xfrac=1)
_COLOR = dict(brightness=1, contrast=1, lumaflip=1, hue=1, saturation=1)
SPECS = {
    "blit": _BLIT, "geom": _GEOM, "color": _COLOR,
    "filter": dict(imgfilter=1), "noise": dict(noise=1), "cutout": dict(cutout=1),
    "bg": {**_BLIT, **_GEOM},
    "bgc": {**_BLIT, **_GEOM, **_COLOR},
    "bgcf": {**_BLIT, **_GEOM, **_COLOR, "imgfilter": 1},
    "bgcfn": {**_BLIT, **_GEOM, **_COLOR, "imgfilter": 1, "noise": 1},
    "bgcfnc": {**_BLIT, **_GEOM, **_COLOR, "imgfilter": 1, "noise": 1, "cutout": 1},
}


def draws(spec, n, c, h, w):
    """[(name, shape, kind)] the pipe asks for, in call order, for images
    [n, c, h, w] (a spec as SPECS gives it; missing options take the defaults)."""
    s = {**DEFAULTS, **spec}
    out = []

    def pair(name, value_shape, p_shape, value_kind):
        out.append((name + "_" + value_shape[0], value_shape[1], value_kind))
        out.append((name + "_p", p_shape, "rand"))

    if s["xflip"] > 0:
        pair("xflip", ("i", [n]), [n], "rand")
    if s["rotate90"] > 0:
        pair("rotate90", ("i", [n]), [n], "rand")
    if s["xint"] > 0:
        pair("xint", ("t", [n, 2]), [n, 1], "rand")
    if s["scale"] > 0:
        pair("scale", ("s", [n]), [n], "randn")
    if s["rotate"] > 0:
        pair("rotate_pre", ("theta", [n]), [n], "rand")
    if s["aniso"] > 0:
        pair("aniso", ("s", [n]), [n], "randn")
    if s["rotate"] > 0:
        pair("rotate_post", ("theta", [n]), [n], "rand")
    if s["xfrac"] > 0:
        pair("xfrac", ("t", [n, 2]), [n, 1], "randn")
    if s["brightness"] > 0:
        pair("brightness", ("b", [n]), [n], "randn")
    if s["contrast"] > 0:
        pair("contrast", ("c", [n]), [n], "randn")
    if s["lumaflip"] > 0:
        pair("lumaflip", ("i", [n, 1, 1]), [n, 1, 1], "rand")
    if s["hue"] > 0 and c > 1:
        pair("hue", ("theta", [n]), [n], "rand")
    if s["saturation"] > 0 and c > 1:
        pair("saturation", ("s", [n, 1, 1]), [n, 1, 1], "randn")
    if s["imgfilter"] > 0:
        for i in range(len(s["imgfilter_bands"])):
            pair(f"imgfilter{i}", ("t", [n]), [n], "randn")
    if s["noise"] > 0:
        pair("noise", ("sigma", [n, 1, 1, 1]), [n, 1, 1, 1], "randn")
        out.append(("noise", [n, c, h, w], "randn"))
    if s["cutout"] > 0:
        out.append(("cutout_p", [n, 1, 1, 1, 1], "rand"))
        out.append(("cutout_center", [n, 2, 1, 1, 1], "rand"))
    return out


def fresh_draw(name, shape, kind):
    """A draw(name, shape, kind) with the official distributions (torch's generator)."""
    return torch.rand(shape) if kind == "rand" else torch.randn(shape)


# ---- 3x3 and 4x4 homogeneous matrices, float32, batched over the leading dims ----

def _matrix(*rows):
    """Rows of numbers and float32 tensors (all of one shape) -> [..., r, c]."""
    ref = next((e for row in rows for e in row if isinstance(e, torch.Tensor)), None)
    if ref is None:
        return torch.tensor(rows, dtype=torch.float32)
    elems = [e if isinstance(e, torch.Tensor) else torch.full(ref.shape, float(e)) for row in rows for e in row]
    return torch.stack(elems, dim=-1).reshape(ref.shape + (len(rows), -1))


def _translate2d(tx, ty):
    return _matrix([1, 0, tx], [0, 1, ty], [0, 0, 1])


def _scale2d(sx, sy):
    return _matrix([sx, 0, 0], [0, sy, 0], [0, 0, 1])


def _rotate2d(a):
    return _matrix([torch.cos(a), torch.sin(-a), 0], [torch.sin(a), torch.cos(a), 0], [0, 0, 1])


def _translate3d(tx, ty, tz):
    return _matrix([1, 0, 0, tx], [0, 1, 0, ty], [0, 0, 1, tz], [0, 0, 0, 1])


def _scale3d(sx, sy, sz):
    return _matrix([sx, 0, 0, 0], [0, sy, 0, 0], [0, 0, sz, 0], [0, 0, 0, 1])


def _rotate3d(v, a):
    """Rotation by a about the unit axis v (Rodrigues)."""
    vx, vy, vz = v[0], v[1], v[2]
    s, c = torch.sin(a), torch.cos(a)
    cc = 1 - c
    return _matrix(
        [vx * vx * cc + c, vx * vy * cc - vz * s, vx * vz * cc + vy * s, 0],
        [vy * vx * cc + vz * s, vy * vy * cc + c, vy * vz * cc - vx * s, 0],
        [vz * vx * cc - vy * s, vz * vy * cc + vx * s, vz * vz * cc + c, 0],
        [0, 0, 0, 1])


# The inverses as the official helpers form them (1 / x is torch's reciprocal).
def _translate2d_inv(tx, ty):
    return _translate2d(-tx, -ty)


def _scale2d_inv(sx, sy):
    return _scale2d(1 / sx, 1 / sy)


def _rotate2d_inv(a):
    return _rotate2d(-a)


def filter_bank():
    """[4, 43] float32: the official image-space filter bank, band i's
    amplitude response a band-pass of the sym2 wavelet (band 0 the lowest)."""
    lo = np.asarray(SYM2)
    hi = lo * (-1.0) ** np.arange(lo.size)
    lo2 = np.convolve(lo, lo[::-1]) / 2
    hi2 = np.convolve(hi, hi[::-1]) / 2
    bank = np.eye(4, 1)
    for i in range(1, bank.shape[0]):
        spread = np.zeros((bank.shape[0], 2 * bank.shape[1] - 1))
        spread[:, ::2] = bank  # zero insertion: one octave down
        bank = np.stack([np.convolve(row, lo2) for row in spread])
        start = (bank.shape[1] - hi2.size) // 2
        bank[i, start:start + hi2.size] += hi2
    return torch.as_tensor(bank, dtype=torch.float32)


def geom_filter():
    """[12] float32: sym6 normalized to sum 1, as setup_filter makes it."""
    f = torch.as_tensor(SYM6, dtype=torch.float32)
    return f / f.sum()


class _GridSampleBackward(torch.autograd.Function):
    """grid_sample's input gradient for the incoming gradient g; linear in g,
    so its own gradient is grid_sample of the incoming second-order gradient."""

    @staticmethod
    def forward(ctx, g, x_shape, grid):
        ctx.save_for_backward(grid)
        with torch.enable_grad():
            x = torch.zeros(x_shape, dtype=g.dtype, requires_grad=True)
            y = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
            return torch.autograd.grad(y, x, g)[0]

    @staticmethod
    def backward(ctx, gg):
        grid, = ctx.saved_tensors
        return _GridSample.apply(gg, grid), None, None


class _GridSample(torch.autograd.Function):
    """grid_sample(bilinear, zeros, align_corners=False) with the grid a constant."""

    @staticmethod
    def forward(ctx, x, grid):
        ctx.save_for_backward(grid)
        ctx.x_shape = x.shape
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)

    @staticmethod
    def backward(ctx, g):
        grid, = ctx.saved_tensors
        return _GridSampleBackward.apply(g, ctx.x_shape, grid), None


def affine_grid_sample(x, theta, out_h, out_w):
    """ganforge's affine_grid_sample: theta [N, 2, 3] in x's dtype."""
    grid = F.affine_grid(theta, [x.shape[0], x.shape[1], out_h, out_w], align_corners=False)
    return _GridSample.apply(x, grid)


class AugmentPipeRef:
    """AugmentPipeRef(p=0, **spec) with the official constructor arguments
    (spec_kwargs(name) gives an augpipe's) and p, the official buffer (a
    float32 scalar; 0 as the training loop starts it; may be set later);
    forward(images, draw) -> the augmented images, differentiable with
    respect to images to any order. draw(name, shape, kind) is called once
    per name of draws(), in that order; e.g. over training_step_reference's
    Draws: lambda n, s, k: draws.take(prefix + n, s, lambda: fresh_draw(n, s, k))."""

    def __init__(self, p=0.0, **spec):
        unknown = set(spec) - set(DEFAULTS)
        if unknown:
            raise TypeError(f"unknown augment options {sorted(unknown)}")
        self.spec = {k: (list(map(float, v)) if k == "imgfilter_bands" else float(v))
                     for k, v in {**DEFAULTS, **spec}.items()}
        self.p = torch.tensor(p, dtype=torch.float32)
        self.Hz_geom = geom_filter()
        self.Hz_fbank = filter_bank()

    def forward(self, images, draw):
        s, p = self.spec, torch.as_tensor(self.p, dtype=torch.float32)
        caller_draw = draw

        def draw(name, shape, kind):  # the draws are float32 values, whatever dtype a log keeps them in
            return caller_draw(name, shape, kind).to(torch.float32)
        n, c, h, w = images.shape
        if c not in (1, 3):
            raise ValueError("images must have 1 or 3 channels")
        dt, dev = images.dtype, images.device  # parameters on the CPU, pixel work on the images' device

        def f32(v):
            return torch.tensor(float(v), dtype=torch.float32)

        def chance(name, shape, prob):
            """The official `torch.rand(shape) < prob` (prob a float32 tensor)."""
            return draw(name, shape, "rand") < prob

        # ---- pixel blitting and general geometric transformations: G_inv @ pixel_out -> pixel_in ----
        I_3 = torch.eye(3)
        G = I_3
        if s["xflip"] > 0:
            i = torch.floor(draw("xflip_i", [n], "rand") * 2)
            i = torch.where(chance("xflip_p", [n], f32(s["xflip"]) * p), i, torch.zeros_like(i))
            G = G @ _scale2d_inv(1 - 2 * i, 1)
        if s["rotate90"] > 0:
            i = torch.floor(draw("rotate90_i", [n], "rand") * 4)
            i = torch.where(chance("rotate90_p", [n], f32(s["rotate90"]) * p), i, torch.zeros_like(i))
            G = G @ _rotate2d_inv(-np.pi / 2 * i)
        if s["xint"] > 0:
            t = (draw("xint_t", [n, 2], "rand") * 2 - 1) * s["xint_max"]
            t = torch.where(chance("xint_p", [n, 1], f32(s["xint"]) * p), t, torch.zeros_like(t))
            G = G @ _translate2d_inv(torch.round(t[:, 0] * w), torch.round(t[:, 1] * h))
        if s["scale"] > 0:
            v = torch.exp2(draw("scale_s", [n], "randn") * s["scale_std"])
            v = torch.where(chance("scale_p", [n], f32(s["scale"]) * p), v, torch.ones_like(v))
            G = G @ _scale2d_inv(v, v)
        p_rot = 1 - torch.sqrt((1 - f32(s["rotate"]) * p).clamp(0, 1))  # P(pre or post) = rotate * p
        if s["rotate"] > 0:
            theta = (draw("rotate_pre_theta", [n], "rand") * 2 - 1) * np.pi * s["rotate_max"]
            theta = torch.where(chance("rotate_pre_p", [n], p_rot), theta, torch.zeros_like(theta))
            G = G @ _rotate2d_inv(-theta)
        if s["aniso"] > 0:
            v = torch.exp2(draw("aniso_s", [n], "randn") * s["aniso_std"])
            v = torch.where(chance("aniso_p", [n], f32(s["aniso"]) * p), v, torch.ones_like(v))
            G = G @ _scale2d_inv(v, 1 / v)
        if s["rotate"] > 0:
            theta = (draw("rotate_post_theta", [n], "rand") * 2 - 1) * np.pi * s["rotate_max"]
            theta = torch.where(chance("rotate_post_p", [n], p_rot), theta, torch.zeros_like(theta))
            G = G @ _rotate2d_inv(-theta)
        if s["xfrac"] > 0:
            t = draw("xfrac_t", [n, 2], "randn") * s["xfrac_std"]
            t = torch.where(chance("xfrac_p", [n, 1], f32(s["xfrac"]) * p), t, torch.zeros_like(t))
            G = G @ _translate2d_inv(t[:, 0] * w, t[:, 1] * h)

        if G is not I_3:  # any geometric option enabled, whatever p
            images = self._resample(images, G)

        # ---- color: C @ [r, g, b, 1] ----
        I_4 = torch.eye(4)
        C = I_4
        if s["brightness"] > 0:
            b = draw("brightness_b", [n], "randn") * s["brightness_std"]
            b = torch.where(chance("brightness_p", [n], f32(s["brightness"]) * p), b, torch.zeros_like(b))
            C = _translate3d(b, b, b) @ C
        if s["contrast"] > 0:
            k = torch.exp2(draw("contrast_c", [n], "randn") * s["contrast_std"])
            k = torch.where(chance("contrast_p", [n], f32(s["contrast"]) * p), k, torch.ones_like(k))
            C = _scale3d(k, k, k) @ C
        v = torch.as_tensor(np.asarray([1, 1, 1, 0]) / np.sqrt(3), dtype=torch.float32)  # luma axis
        vv = torch.outer(v, v)
        if s["lumaflip"] > 0:
            i = torch.floor(draw("lumaflip_i", [n, 1, 1], "rand") * 2)
            i = torch.where(chance("lumaflip_p", [n, 1, 1], f32(s["lumaflip"]) * p), i, torch.zeros_like(i))
            C = (I_4 - 2 * vv * i) @ C  # mirrors colours through the plane normal to v
        if s["hue"] > 0 and c > 1:
            theta = (draw("hue_theta", [n], "rand") * 2 - 1) * np.pi * s["hue_max"]
            theta = torch.where(chance("hue_p", [n], f32(s["hue"]) * p), theta, torch.zeros_like(theta))
            C = _rotate3d(v, theta) @ C
        if s["saturation"] > 0 and c > 1:
            k = torch.exp2(draw("saturation_s", [n, 1, 1], "randn") * s["saturation_std"])
            k = torch.where(chance("saturation_p", [n, 1, 1], f32(s["saturation"]) * p), k, torch.ones_like(k))
            C = (vv + (I_4 - vv) * k) @ C

        if C is not I_4:
            x = images.reshape([n, c, h * w])
            if c == 3:
                x = C[:, :3, :3].to(dev, dt) @ x + C[:, :3, 3:].to(dev, dt)
            else:
                C = C[:, :3, :].mean(dim=1, keepdim=True)
                x = x * C[:, :, :3].sum(dim=2, keepdim=True).to(dev, dt) + C[:, :, 3:].to(dev, dt)
            images = x.reshape([n, c, h, w])

        # ---- image-space filtering ----
        if s["imgfilter"] > 0:
            bands = self.Hz_fbank.shape[0]
            if len(s["imgfilter_bands"]) != bands:
                raise ValueError(f"imgfilter_bands needs {bands} entries")
            expected_power = torch.as_tensor(np.array([10, 1, 1, 1]) / 13, dtype=torch.float32)  # 1/f spectrum
            g = torch.ones([n, bands])
            for i, band_strength in enumerate(s["imgfilter_bands"]):
                t_i = torch.exp2(draw(f"imgfilter{i}_t", [n], "randn") * s["imgfilter_std"])
                t_i = torch.where(chance(f"imgfilter{i}_p", [n], f32(s["imgfilter"]) * p * band_strength),
                                  t_i, torch.ones_like(t_i))
                t = torch.ones([n, bands])
                t[:, i] = t_i
                t = t / (expected_power * t.square()).sum(dim=-1, keepdim=True).sqrt()  # keep the power
                g = g * t
            taps = (g @ self.Hz_fbank).unsqueeze(1).repeat([1, c, 1]).reshape([n * c, 1, -1]).to(dev, dt)
            r = self.Hz_fbank.shape[1] // 2
            x = images.reshape([1, n * c, h, w])
            x = F.pad(x, [r, r, r, r], mode="reflect")
            x = F.conv2d(x, taps.unsqueeze(2), groups=n * c)
            x = F.conv2d(x, taps.unsqueeze(3), groups=n * c)
            images = x.reshape([n, c, h, w])

        # ---- image-space corruptions ----
        if s["noise"] > 0:
            sigma = draw("noise_sigma", [n, 1, 1, 1], "randn").abs() * s["noise_std"]
            sigma = torch.where(chance("noise_p", [n, 1, 1, 1], f32(s["noise"]) * p), sigma, torch.zeros_like(sigma))
            images = images + (draw("noise", [n, c, h, w], "randn") * sigma).to(dev, dt)
        if s["cutout"] > 0:
            size = torch.full([n, 2, 1, 1, 1], s["cutout_size"])
            size = torch.where(chance("cutout_p", [n, 1, 1, 1, 1], f32(s["cutout"]) * p), size, torch.zeros_like(size))
            center = draw("cutout_center", [n, 2, 1, 1, 1], "rand")
            cx = torch.arange(w).reshape([1, 1, 1, -1])
            cy = torch.arange(h).reshape([1, 1, -1, 1])
            keep_x = ((cx + 0.5) / w - center[:, 0]).abs() >= size[:, 0] / 2
            keep_y = ((cy + 0.5) / h - center[:, 1]).abs() >= size[:, 1] / 2
            images = images * torch.logical_or(keep_x, keep_y).to(dev, dt)
        return images

    def _resample(self, images, G):
        """Pads (reflect), upsamples 2x with sym6, samples at G_inv, downsamples and crops."""
        n, c, h, w = images.shape
        dt, dev = images.dtype, images.device
        cx, cy = (w - 1) / 2, (h - 1) / 2
        corners = torch.tensor([[-cx, -cy, 1], [cx, -cy, 1], [cx, cy, 1], [-cx, cy, 1]], dtype=torch.float32)
        corners = G @ corners.t()  # [n, xyz, corner]
        reach = self.Hz_geom.shape[0] // 4  # the filter's reach in input pixels, on each side
        xs, ys = corners[:, 0, :].flatten(), corners[:, 1, :].flatten()  # every image's corners
        need = torch.stack([(-xs).max(), (-ys).max(), xs.max(), ys.max()])  # left, top, right, bottom
        need = need + torch.tensor([2 * reach - cx, 2 * reach - cy] * 2, dtype=torch.float32)
        limit = torch.tensor([w - 1, h - 1] * 2, dtype=torch.float32)  # reflection needs pad < size
        left, top, right, bottom = (int(v) for v in need.clamp(min=0).minimum(limit).ceil())

        images = F.pad(images, [left, right, top, bottom], mode="reflect")
        G = _translate2d((left - right) / 2, (top - bottom) / 2) @ G
        images = upfirdn2d(images, self.Hz_geom.to(dev, dt), up=2, pad=(6, 5, 6, 5), gain=4)
        G = _scale2d(2, 2) @ G @ _scale2d_inv(2, 2)
        G = _translate2d(-0.5, -0.5) @ G @ _translate2d_inv(-0.5, -0.5)
        out_h, out_w = (h + reach * 2) * 2, (w + reach * 2) * 2
        G = _scale2d(2 / images.shape[3], 2 / images.shape[2]) @ G @ _scale2d_inv(2 / out_w, 2 / out_h)
        images = affine_grid_sample(images, G[:, :2, :].to(dev, dt), out_h, out_w)
        k = self.Hz_geom.shape[0]
        crop = [-reach * 2 + (k - 1) // 2, -reach * 2 + (k - 2) // 2] * 2
        return upfirdn2d(images, self.Hz_geom.to(dev, dt), down=2, pad=crop, flip_filter=True)


def spec_kwargs(name):
    """The official augpipe_specs entry `name` (KeyError naming the valid ones)."""
    if name not in SPECS:
        raise KeyError(f"unknown augpipe '{name}'; valid: {', '.join(SPECS)}")
    return dict(SPECS[name])

