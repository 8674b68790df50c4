"""PGGAN's G_paper and D_paper (tkarras/progressive_growing_of_gans,
networks.py) in PyTorch, written from the official semantics, for the parity
tests and tools/convert_weights.py. Not a copy of the TensorFlow code: the same
definitions, in torch.

Networks take their variables as the official pickles hold them: a dict from
the TF variable name ("4x4/Dense/weight", "8x8/Conv0_up/weight", "lod") to an
array in the TF layout (dense [in, out], conv [k, k, in, out], the fused
upscale conv [k, k, out, in]). They run the official 'linear' structure (every
level computed, lerp_clip at each), which equals the 'recursive' structure
ganforge runs; TF's convolution semantics ('SAME' padding, conv2d_transpose as
the input gradient of conv2d) are formed from their definitions here.

  G(variables, **static_kwargs)(latents, labels, lod) -> images [N, C, R, R]
  D(variables, **static_kwargs)(images, lod) -> (scores [N, 1], label logits [N, label_size])
"""
import collections
import math
import os
import sys

TOOLS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # tools/: the shared helpers
sys.path[:0] = [os.path.dirname(os.path.abspath(__file__)), TOOLS, os.path.join(TOOLS, "reference")]
import pydeps  # noqa: E402  (standard library only: one line, not a traceback, without NumPy/PyTorch)
pydeps.require("pggan_reference", "numpy", "torch")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

G_DEFAULTS = dict(num_channels=1, resolution=32, label_size=0, fmap_base=8192, fmap_decay=1.0, fmap_max=512,
                  latent_size=None, normalize_latents=True, use_wscale=True, use_pixelnorm=True,
                  pixelnorm_epsilon=1e-8, use_leakyrelu=True, fused_scale=True)
D_DEFAULTS = dict(num_channels=1, resolution=32, label_size=0, fmap_base=8192, fmap_decay=1.0, fmap_max=512,
                  use_wscale=True, mbstd_group_size=4, fused_scale=True)


def nf(stage, kw):
    return min(int(kw["fmap_base"] / (2.0 ** (stage * kw["fmap_decay"]))), kw["fmap_max"])


def log2_res(kw):
    r = int(np.log2(kw["resolution"]))
    assert kw["resolution"] == 2 ** r and kw["resolution"] >= 4, kw["resolution"]
    return r


def g_kwargs(**kw):
    out = dict(G_DEFAULTS)
    out.update({k: v for k, v in kw.items() if k in G_DEFAULTS})
    if out["latent_size"] is None:
        out["latent_size"] = nf(0, out)
    return out


def d_kwargs(**kw):
    out = dict(D_DEFAULTS)
    out.update({k: v for k, v in kw.items() if k in D_DEFAULTS})
    return out


def g_variables(**kw):
    """Official variable names and TF shapes, in creation order (linear structure)."""
    kw = g_kwargs(**kw)
    L, v = log2_res(kw), collections.OrderedDict()
    for res in range(2, L + 1):
        s = f"{2 ** res}x{2 ** res}"
        if res == 2:
            v[f"{s}/Dense/weight"] = [kw["latent_size"] + kw["label_size"], nf(1, kw) * 16]
            v[f"{s}/Dense/bias"] = [nf(1, kw)]
            v[f"{s}/Conv/weight"] = [3, 3, nf(1, kw), nf(1, kw)]
            v[f"{s}/Conv/bias"] = [nf(1, kw)]
        else:
            if kw["fused_scale"]:
                v[f"{s}/Conv0_up/weight"] = [3, 3, nf(res - 1, kw), nf(res - 2, kw)]
                v[f"{s}/Conv0_up/bias"] = [nf(res - 1, kw)]
            else:
                v[f"{s}/Conv0/weight"] = [3, 3, nf(res - 2, kw), nf(res - 1, kw)]
                v[f"{s}/Conv0/bias"] = [nf(res - 1, kw)]
            v[f"{s}/Conv1/weight"] = [3, 3, nf(res - 1, kw), nf(res - 1, kw)]
            v[f"{s}/Conv1/bias"] = [nf(res - 1, kw)]
        v[f"ToRGB_lod{L - res}/weight"] = [1, 1, nf(res - 1, kw), kw["num_channels"]]
        v[f"ToRGB_lod{L - res}/bias"] = [kw["num_channels"]]
    v["lod"] = []
    return v


def d_variables(**kw):
    kw = d_kwargs(**kw)
    L, v = log2_res(kw), collections.OrderedDict()

    def fromrgb(res):
        v[f"FromRGB_lod{L - res}/weight"] = [1, 1, kw["num_channels"], nf(res - 1, kw)]
        v[f"FromRGB_lod{L - res}/bias"] = [nf(res - 1, kw)]

    fromrgb(L)
    for res in range(L, 2, -1):
        s = f"{2 ** res}x{2 ** res}"
        v[f"{s}/Conv0/weight"] = [3, 3, nf(res - 1, kw), nf(res - 1, kw)]
        v[f"{s}/Conv0/bias"] = [nf(res - 1, kw)]
        c1 = "Conv1_down" if kw["fused_scale"] else "Conv1"
        v[f"{s}/{c1}/weight"] = [3, 3, nf(res - 1, kw), nf(res - 2, kw)]
        v[f"{s}/{c1}/bias"] = [nf(res - 2, kw)]
        fromrgb(res - 1)
    mbstd = 1 if kw["mbstd_group_size"] > 1 else 0
    v["4x4/Conv/weight"] = [3, 3, nf(1, kw) + mbstd, nf(1, kw)]
    v["4x4/Conv/bias"] = [nf(1, kw)]
    v["4x4/Dense0/weight"] = [nf(1, kw) * 16, nf(0, kw)]
    v["4x4/Dense0/bias"] = [nf(0, kw)]
    v["4x4/Dense1/weight"] = [nf(0, kw), 1 + kw["label_size"]]
    v["4x4/Dense1/bias"] = [1 + kw["label_size"]]
    v["lod"] = []
    return v


# ---------------------------------------------------------------- layers (NCHW)

def _same_pads(size, k, stride):
    """TF 'SAME': output ceil(size / stride); the odd pixel of padding goes last."""
    out = -(-size // stride)
    total = max((out - 1) * stride + k - size, 0)
    return total // 2, total - total // 2


def tf_conv2d(x, w, stride=1):
    """tf.nn.conv2d(x, w [kh, kw, in, out], 'SAME', NCHW): a correlation."""
    kh, kw = w.shape[0], w.shape[1]
    ph, pw = _same_pads(x.shape[2], kh, stride), _same_pads(x.shape[3], kw, stride)
    x = F.pad(x, [pw[0], pw[1], ph[0], ph[1]])
    return F.conv2d(x, w.permute(3, 2, 0, 1), stride=stride)


def tf_conv2d_transpose(x, w, out_hw, stride):
    """tf.nn.conv2d_transpose(x, w [kh, kw, out, in], output [out_hw], 'SAME'):
    by definition the gradient of tf_conv2d(z, w, stride) with respect to z."""
    z = torch.zeros([x.shape[0], w.shape[2], out_hw[0], out_hw[1]], dtype=x.dtype, requires_grad=True)
    with torch.enable_grad():
        y = tf_conv2d(z, w, stride)
        assert y.shape == x.shape, (y.shape, x.shape)
        (g,) = torch.autograd.grad(y, z, x, create_graph=x.requires_grad or w.requires_grad)
    return g


def get_weight(w, gain, use_wscale, fan_in=None):
    fan_in = np.prod(w.shape[:-1]) if fan_in is None else fan_in
    return w * (gain / np.sqrt(fan_in)) if use_wscale else w


def apply_bias(x, b):
    return x + (b if x.dim() == 2 else b.reshape(1, -1, 1, 1))


def leaky_relu(x, alpha=0.2):
    return torch.max(x * alpha, x)


def upscale2d(x, factor=2):
    if factor == 1:
        return x
    s = x.shape
    x = x.reshape(-1, s[1], s[2], 1, s[3], 1).expand(-1, -1, -1, factor, -1, factor)
    return x.reshape(-1, s[1], s[2] * factor, s[3] * factor)


def downscale2d(x, factor=2):
    return x if factor == 1 else F.avg_pool2d(x, factor, factor)


def pixel_norm(x, eps=1e-8):
    return x * torch.rsqrt(torch.mean(x * x, dim=1, keepdim=True) + eps)


def minibatch_stddev_layer(x, group_size=4):
    g = min(group_size, x.shape[0])
    s = x.shape
    y = x.reshape(g, -1, s[1], s[2], s[3])
    y = y - y.mean(dim=0, keepdim=True)
    y = torch.sqrt((y * y).mean(dim=0) + 1e-8)
    y = y.mean(dim=[1, 2, 3], keepdim=True)        # [M, 1, 1, 1]
    y = y.repeat(g, 1, s[2], s[3])                 # [N, 1, H, W]: sample n gets group n % M
    return torch.cat([x, y], dim=1)


def lerp(a, b, t):
    return a + (b - a) * t


def lerp_clip(a, b, t):
    return a + (b - a) * min(max(t, 0.0), 1.0)


class _Net:
    def __init__(self, variables, dtype):
        self.v = {k: torch.as_tensor(np.asarray(a), dtype=dtype) for k, a in variables.items()}

    def dense(self, x, scope, gain=np.sqrt(2)):
        if x.dim() > 2:
            x = x.reshape(x.shape[0], -1)
        return x @ get_weight(self.v[scope + "/weight"], gain, self.kw["use_wscale"])

    def conv(self, x, scope, gain=np.sqrt(2)):
        return tf_conv2d(x, get_weight(self.v[scope + "/weight"], gain, self.kw["use_wscale"]))

    def bias(self, x, scope):
        return apply_bias(x, self.v[scope + "/bias"])


class G(_Net):
    def __init__(self, variables, dtype=torch.float64, **kw):
        super().__init__(variables, dtype)
        self.kw = g_kwargs(**kw)
        self.L = log2_res(self.kw)

    def act(self, x):
        return leaky_relu(x) if self.kw["use_leakyrelu"] else torch.relu(x)

    def PN(self, x):
        return pixel_norm(x, self.kw["pixelnorm_epsilon"]) if self.kw["use_pixelnorm"] else x

    def block(self, x, res):
        kw, s = self.kw, f"{2 ** res}x{2 ** res}"
        if res == 2:
            if kw["normalize_latents"]:
                x = pixel_norm(x, kw["pixelnorm_epsilon"])
            x = self.dense(x, s + "/Dense", gain=np.sqrt(2) / 4).reshape(-1, nf(1, kw), 4, 4)
            x = self.PN(self.act(self.bias(x, s + "/Dense")))
            return self.PN(self.act(self.bias(self.conv(x, s + "/Conv"), s + "/Conv")))
        if kw["fused_scale"]:
            w = self.v[s + "/Conv0_up/weight"]
            w = get_weight(w, np.sqrt(2), kw["use_wscale"], fan_in=w.shape[0] * w.shape[1] * x.shape[1])
            w = F.pad(w.permute(2, 3, 0, 1), [1, 1, 1, 1]).permute(2, 3, 0, 1)  # pad the two kernel dims
            w = w[1:, 1:] + w[:-1, 1:] + w[1:, :-1] + w[:-1, :-1]
            y = tf_conv2d_transpose(x, w, (x.shape[2] * 2, x.shape[3] * 2), 2)
            x = self.PN(self.act(self.bias(y, s + "/Conv0_up")))
        else:
            x = self.PN(self.act(self.bias(self.conv(upscale2d(x), s + "/Conv0"), s + "/Conv0")))
        return self.PN(self.act(self.bias(self.conv(x, s + "/Conv1"), s + "/Conv1")))

    def torgb(self, x, res):
        scope = f"ToRGB_lod{self.L - res}"
        return self.bias(self.conv(x, scope, gain=1), scope)

    def __call__(self, latents, labels, lod):
        x = torch.cat([latents, labels], dim=1) if labels is not None else latents
        x = self.block(x, 2)
        images = self.torgb(x, 2)
        for res in range(3, self.L + 1):
            x = self.block(x, res)
            images = lerp_clip(self.torgb(x, res), upscale2d(images), lod - (self.L - res))
        return images


class D(_Net):
    def __init__(self, variables, dtype=torch.float64, **kw):
        super().__init__(variables, dtype)
        self.kw = d_kwargs(**kw)
        self.L = log2_res(self.kw)

    def fromrgb(self, x, res):
        scope = f"FromRGB_lod{self.L - res}"
        return leaky_relu(self.bias(self.conv(x, scope), scope))

    def block(self, x, res):
        kw, s = self.kw, f"{2 ** res}x{2 ** res}"
        if res >= 3:
            x = leaky_relu(self.bias(self.conv(x, s + "/Conv0"), s + "/Conv0"))
            if kw["fused_scale"]:
                w = get_weight(self.v[s + "/Conv1_down/weight"], np.sqrt(2), kw["use_wscale"])
                w = F.pad(w.permute(2, 3, 0, 1), [1, 1, 1, 1]).permute(2, 3, 0, 1)
                w = (w[1:, 1:] + w[:-1, 1:] + w[1:, :-1] + w[:-1, :-1]) * 0.25
                return leaky_relu(self.bias(tf_conv2d(x, w, stride=2), s + "/Conv1_down"))
            x = leaky_relu(self.bias(self.conv(x, s + "/Conv1"), s + "/Conv1"))
            return downscale2d(x)
        if kw["mbstd_group_size"] > 1:
            x = minibatch_stddev_layer(x, kw["mbstd_group_size"])
        x = leaky_relu(self.bias(self.conv(x, s + "/Conv"), s + "/Conv"))
        x = leaky_relu(self.bias(self.dense(x, s + "/Dense0"), s + "/Dense0"))
        return self.bias(self.dense(x, s + "/Dense1", gain=1), s + "/Dense1")

    def __call__(self, images, lod):
        img = images
        x = self.fromrgb(img, self.L)
        for res in range(self.L, 2, -1):
            x = self.block(x, res)
            img = downscale2d(img)
            x = lerp_clip(x, self.fromrgb(img, res - 1), lod - (self.L - res))
        out = self.block(x, 2)
        return out[:, :1], out[:, 1:]


# ---------------------------------------------------------------- layouts

def to_ganforge(name, array):
    """An official variable in ganforge's layout: dense [out, in], conv
    [out, in, k, k] (the fused upscale conv's [k, k, out, in] as well)."""
    a = np.asarray(array)
    if not name.endswith("/weight"):
        return a
    if a.ndim == 2:
        return a.transpose(1, 0)
    if name.endswith("Conv0_up/weight"):
        return a.transpose(2, 3, 0, 1)
    return a.transpose(3, 2, 0, 1)


def from_ganforge(name, array):
    a = np.asarray(array)
    if not name.endswith("/weight"):
        return a
    if a.ndim == 2:
        return a.transpose(1, 0)
    if name.endswith("Conv0_up/weight"):
        return a.transpose(2, 3, 0, 1)
    return a.transpose(2, 3, 1, 0)


def ganforge_shape(name, tf_shape):
    return list(to_ganforge(name, np.zeros(tf_shape, dtype=np.float32)).shape)


def _self_check():
    # The fused ops equal resampling and convolving separately: conv2d_transpose
    # is the adjoint of a correlation, so the upscale conv's kernel acts flipped.
    torch.manual_seed(0)
    x = torch.randn(2, 3, 5, 4, dtype=torch.float64)
    w = torch.randn(3, 3, 4, 3, dtype=torch.float64)  # [k, k, out, in]
    wp = F.pad(w.permute(2, 3, 0, 1), [1, 1, 1, 1]).permute(2, 3, 0, 1)
    w4 = wp[1:, 1:] + wp[:-1, 1:] + wp[1:, :-1] + wp[:-1, :-1]
    fused = tf_conv2d_transpose(x, w4, (10, 8), 2)
    separate = tf_conv2d(upscale2d(x), w.flip(0, 1).permute(0, 1, 3, 2))
    assert torch.allclose(fused, separate), (fused - separate).abs().max()
    w = torch.randn(3, 3, 3, 4, dtype=torch.float64)  # [k, k, in, out]
    wp = F.pad(w.permute(2, 3, 0, 1), [1, 1, 1, 1]).permute(2, 3, 0, 1)
    w4 = (wp[1:, 1:] + wp[:-1, 1:] + wp[1:, :-1] + wp[:-1, :-1]) * 0.25
    x = torch.randn(2, 3, 6, 8, dtype=torch.float64)
    assert torch.allclose(tf_conv2d(x, w4, 2), downscale2d(tf_conv2d(x, w)))
    assert math.isclose(nf(1, G_DEFAULTS), 512)


if __name__ == "__main__":
    _self_check()
    print("pggan_reference: self-check passed")
