"""StyleGAN (v1)'s G_style (G_mapping + G_synthesis) and D_basic
(NVlabs/stylegan, training/networks_stylegan.py) in PyTorch, written from the
official semantics, for the parity tests and tools/convert_weights.py. Not a
copy of the TensorFlow code: the same definitions, in torch, over the TF
convolution helpers of tools/reference/pggan_reference.py.

Networks take their variables as the official pickles hold them, flattened:
G's by component ("G_mapping/Dense0/weight", "G_synthesis/4x4/Const/const",
"G_synthesis/noise0", "dlatent_avg", "lod"), D's as they are
("FromRGB_lod0/weight", "8x8/Conv1_down/weight"); arrays in the TF layouts
(dense [in, out], conv [k, k, in, out], Conv0_up's too: v1 transposes it at
run time). They run the official 'linear' structure (every level computed,
lerp_clip at each), which equals the 'recursive' structure ganforge runs.

  G(variables, **kwargs)(latents, labels, lod, psi, cutoff, noise) -> images
      noise: 'const' (the stored noise<i>), 'none' (zero noise), or a dict
      layer index -> noise [N, 1, H, W] (zero noise for the layers it lacks)
  G.mapping(latents, labels) -> w [N, dlatent_size]
  G.synthesis(ws [N, num_layers, dlatent], lod, noise) -> images
  D(variables, **kwargs)(images, labels, lod) -> scores [N, 1]
"""
import collections
import os
import sys

TOOLS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # tools/: the shared helpers
sys.path[:0] = [os.path.dirname(os.path.abspath(__file__)), TOOLS, os.path.join(TOOLS, "reference")]
import pydeps  # noqa: E402  (standard library only: one line, not a traceback, without NumPy/PyTorch)
pydeps.require("stylegan_reference", "numpy", "torch")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import pggan_reference as pg  # noqa: E402
from pggan_reference import downscale2d, lerp_clip, pixel_norm, tf_conv2d, tf_conv2d_transpose, upscale2d  # noqa: E402

G_DEFAULTS = dict(truncation_psi=0.7, truncation_cutoff=8, dlatent_avg_beta=0.995, style_mixing_prob=0.9,
                  latent_size=512, label_size=0, dlatent_size=512, mapping_layers=8, mapping_fmaps=512,
                  mapping_lrmul=0.01, mapping_nonlinearity="lrelu", normalize_latents=True, num_channels=3,
                  resolution=1024, fmap_base=8192, fmap_decay=1.0, fmap_max=512, use_noise=True,
                  nonlinearity="lrelu", use_wscale=True, use_pixel_norm=False, use_instance_norm=True,
                  fused_scale="auto", blur_filter=[1, 2, 1])
D_DEFAULTS = dict(num_channels=1, resolution=32, label_size=0, fmap_base=8192, fmap_decay=1.0, fmap_max=512,
                  nonlinearity="lrelu", use_wscale=True, mbstd_group_size=4, mbstd_num_features=1,
                  fused_scale="auto", blur_filter=[1, 2, 1])
SQRT2 = np.sqrt(2)


def nf(stage, kw):
    return pg.nf(stage, kw)


def _kwargs(defaults, kw):
    out = dict(defaults)
    out.update({k: v for k, v in kw.items() if k in defaults})
    return out


def fused(kw, res):
    f = kw["fused_scale"]
    return res >= 128 if f == "auto" else bool(f)


def g_variables(**kw):
    """Flattened official variable names and TF shapes."""
    kw = _kwargs(G_DEFAULTS, kw)
    L, v = pg.log2_res(kw), collections.OrderedDict()
    v["lod"], v["dlatent_avg"] = [], [kw["dlatent_size"]]
    m = "G_mapping/"
    if kw["label_size"]:
        v[m + "LabelConcat/weight"] = [kw["label_size"], kw["latent_size"]]
    fin = kw["latent_size"] * (2 if kw["label_size"] else 1)
    for i in range(kw["mapping_layers"]):
        fout = kw["dlatent_size"] if i == kw["mapping_layers"] - 1 else kw["mapping_fmaps"]
        v[m + f"Dense{i}/weight"], v[m + f"Dense{i}/bias"] = [fin, fout], [fout]
        fin = fout
    s = "G_synthesis/"
    v[s + "lod"] = []
    if kw["use_noise"]:
        for i in range(2 * L - 2):
            r = 2 ** (i // 2 + 2)
            v[s + f"noise{i}"] = [1, 1, r, r]

    def epilogue(scope, c):
        if kw["use_noise"]:
            v[scope + "/Noise/weight"] = [c]
        v[scope + "/bias"] = [c]
        v[scope + "/StyleMod/weight"], v[scope + "/StyleMod/bias"] = [kw["dlatent_size"], 2 * c], [2 * c]

    for res in range(2, L + 1):
        n, c = s + f"{2 ** res}x{2 ** res}", nf(res - 1, kw)
        if res == 2:
            v[n + "/Const/const"] = [1, c, 4, 4]
            epilogue(n + "/Const", c)
            v[n + "/Conv/weight"] = [3, 3, c, c]
            epilogue(n + "/Conv", c)
        else:
            v[n + "/Conv0_up/weight"] = [3, 3, nf(res - 2, kw), c]
            epilogue(n + "/Conv0_up", c)
            v[n + "/Conv1/weight"] = [3, 3, c, c]
            epilogue(n + "/Conv1", c)
        v[s + f"ToRGB_lod{L - res}/weight"] = [1, 1, c, kw["num_channels"]]
        v[s + f"ToRGB_lod{L - res}/bias"] = [kw["num_channels"]]
    return v


def d_variables(**kw):
    kw = _kwargs(D_DEFAULTS, kw)
    L, v = pg.log2_res(kw), collections.OrderedDict()

    def fromrgb(res):
        v[f"FromRGB_lod{L - res}/weight"] = [1, 1, kw["num_channels"], nf(res - 1, kw)]
        v[f"FromRGB_lod{L - res}/bias"] = [nf(res - 1, kw)]

    fromrgb(L)
    for res in range(L, 2, -1):
        s = f"{2 ** res}x{2 ** res}"
        v[f"{s}/Conv0/weight"], v[f"{s}/Conv0/bias"] = [3, 3, nf(res - 1, kw), nf(res - 1, kw)], [nf(res - 1, kw)]
        v[f"{s}/Conv1_down/weight"] = [3, 3, nf(res - 1, kw), nf(res - 2, kw)]
        v[f"{s}/Conv1_down/bias"] = [nf(res - 2, kw)]
        fromrgb(res - 1)
    mbstd = kw["mbstd_num_features"] if kw["mbstd_group_size"] > 1 else 0
    v["4x4/Conv/weight"], v["4x4/Conv/bias"] = [3, 3, nf(1, kw) + mbstd, nf(1, kw)], [nf(1, kw)]
    v["4x4/Dense0/weight"], v["4x4/Dense0/bias"] = [nf(1, kw) * 16, nf(0, kw)], [nf(0, kw)]
    out = max(kw["label_size"], 1)
    v["4x4/Dense1/weight"], v["4x4/Dense1/bias"] = [nf(0, kw), out], [out]
    v["lod"] = []
    return v


# ---------------------------------------------------------------- layers (NCHW)

def get_weight(w, gain, use_wscale, lrmul=1.0):
    """The official get_weight's run-time coefficient (the stored value is the variable)."""
    fan_in = np.prod(w.shape[:-1])
    he_std = gain / np.sqrt(fan_in)
    return w * (he_std * lrmul if use_wscale else lrmul)


def act_fn(name):
    return (lambda x: torch.max(x * 0.2, x)) if name == "lrelu" else torch.relu


def blur2d(x, taps):
    """Depthwise correlation with the normalized outer-product filter, TF 'SAME' padding."""
    if not taps:
        return x
    f = torch.as_tensor(np.asarray(taps, dtype=np.float64), dtype=x.dtype)
    f = f[:, None] * f[None, :] if f.dim() == 1 else f
    f = f / f.sum()
    c = x.shape[1]
    ph, pw = pg._same_pads(x.shape[2], f.shape[0], 1), pg._same_pads(x.shape[3], f.shape[1], 1)
    x = F.pad(x, [pw[0], pw[1], ph[0], ph[1]])
    return F.conv2d(x, f[None, None].repeat(c, 1, 1, 1), groups=c)


def instance_norm(x, eps=1e-8):
    x = x - x.mean(dim=[2, 3], keepdim=True)
    return x * torch.rsqrt((x * x).mean(dim=[2, 3], keepdim=True) + eps)


def minibatch_stddev_layer(x, group_size=4, num_new_features=1):
    g, s, n = min(group_size, x.shape[0]), x.shape, num_new_features
    y = x.reshape(g, -1, n, s[1] // n, s[2], s[3])
    y = y - y.mean(dim=0, keepdim=True)
    y = torch.sqrt((y * y).mean(dim=0) + 1e-8)      # [M, n, c, H, W]
    y = y.mean(dim=[2, 3, 4], keepdim=True)         # [M, n, 1, 1, 1]
    y = y.mean(dim=2)                               # [M, n, 1, 1]
    y = y.repeat(g, 1, s[2], s[3])
    return torch.cat([x, y], dim=1)


class G:
    def __init__(self, variables, dtype=torch.float64, **kw):
        self.v = {k: torch.as_tensor(np.asarray(a), dtype=dtype) for k, a in variables.items()}
        self.kw = _kwargs(G_DEFAULTS, kw)
        self.L = pg.log2_res(self.kw)
        self.num_layers = 2 * self.L - 2

    def mapping(self, latents, labels):
        kw, v, m = self.kw, self.v, "G_mapping/"
        x = latents
        if kw["label_size"]:
            x = torch.cat([x, labels @ v[m + "LabelConcat/weight"]], dim=1)
        if kw["normalize_latents"]:
            x = pixel_norm(x)
        act = act_fn(kw["mapping_nonlinearity"])
        for i in range(kw["mapping_layers"]):
            w = get_weight(v[m + f"Dense{i}/weight"], SQRT2, kw["use_wscale"], kw["mapping_lrmul"])
            x = act(x @ w + v[m + f"Dense{i}/bias"] * kw["mapping_lrmul"])
        return x

    def truncate(self, ws, psi, cutoff):
        if psi is None or cutoff is None or psi == 1 or cutoff <= 0:
            return ws
        coefs = torch.tensor([psi if i < cutoff else 1.0 for i in range(self.num_layers)], dtype=ws.dtype)
        return lerp(self.v["dlatent_avg"][None, None], ws, coefs[None, :, None])

    def epilogue(self, x, scope, w, noise_in):
        kw, v = self.kw, self.v
        if kw["use_noise"] and noise_in is not None:
            x = x + noise_in * v[scope + "/Noise/weight"].reshape(1, -1, 1, 1)
        x = act_fn(kw["nonlinearity"])(x + v[scope + "/bias"].reshape(1, -1, 1, 1))
        if kw["use_pixel_norm"]:
            x = pixel_norm(x)
        if kw["use_instance_norm"]:
            x = instance_norm(x)
        style = w @ get_weight(v[scope + "/StyleMod/weight"], 1.0, kw["use_wscale"]) + v[scope + "/StyleMod/bias"]
        style = style.reshape(-1, 2, x.shape[1], 1, 1)
        return x * (style[:, 0] + 1) + style[:, 1]

    def conv(self, x, scope):
        return tf_conv2d(x, get_weight(self.v[scope + "/weight"], SQRT2, self.kw["use_wscale"]))

    def up_conv(self, x, scope, res):
        if not fused(self.kw, 2 ** res):
            return self.conv(upscale2d(x), scope)
        w = get_weight(self.v[scope + "/weight"], SQRT2, self.kw["use_wscale"]).permute(0, 1, 3, 2)
        w = F.pad(w.permute(2, 3, 0, 1), [1, 1, 1, 1]).permute(2, 3, 0, 1)
        w = w[1:, 1:] + w[:-1, 1:] + w[1:, :-1] + w[:-1, :-1]
        return tf_conv2d_transpose(x, w, (x.shape[2] * 2, x.shape[3] * 2), 2)

    def torgb(self, x, res):
        s = f"G_synthesis/ToRGB_lod{self.L - res}"
        return tf_conv2d(x, get_weight(self.v[s + "/weight"], 1.0, self.kw["use_wscale"])) + \
            self.v[s + "/bias"].reshape(1, -1, 1, 1)

    def synthesis(self, ws, lod, noise="const"):
        s = "G_synthesis/"

        def nz(i, x):
            if not self.kw["use_noise"]:
                return None
            if noise == "const":
                return self.v[s + f"noise{i}"]
            if isinstance(noise, dict):  # per-layer noise [N, 1, H, W] by index (training); a missing layer: none
                if i in noise:
                    return noise[i]
            else:
                assert noise == "none"
            return torch.zeros(1, 1, x.shape[2], x.shape[3], dtype=x.dtype)

        x = self.v[s + "4x4/Const/const"].repeat(ws.shape[0], 1, 1, 1)
        x = self.epilogue(x, s + "4x4/Const", ws[:, 0], nz(0, x))
        y = self.conv(x, s + "4x4/Conv")
        x = self.epilogue(y, s + "4x4/Conv", ws[:, 1], nz(1, y))
        images = self.torgb(x, 2)
        blur = self.kw["blur_filter"]
        for res in range(3, self.L + 1):
            n = s + f"{2 ** res}x{2 ** res}"
            y = blur2d(self.up_conv(x, n + "/Conv0_up", res), blur)
            x = self.epilogue(y, n + "/Conv0_up", ws[:, 2 * res - 4], nz(2 * res - 4, y))
            y = self.conv(x, n + "/Conv1")
            x = self.epilogue(y, n + "/Conv1", ws[:, 2 * res - 3], nz(2 * res - 3, y))
            images = lerp_clip(self.torgb(x, res), upscale2d(images), lod - (self.L - res))
        return images

    def __call__(self, latents, labels, lod, psi=None, cutoff=None, noise="const"):
        w = self.mapping(latents, labels)
        ws = w[:, None].repeat(1, self.num_layers, 1)
        return self.synthesis(self.truncate(ws, psi, cutoff), lod, noise)


def lerp(a, b, t):
    return a + (b - a) * t


class D:
    def __init__(self, variables, dtype=torch.float64, **kw):
        self.v = {k: torch.as_tensor(np.asarray(a), dtype=dtype) for k, a in variables.items()}
        self.kw = _kwargs(D_DEFAULTS, kw)
        self.L = pg.log2_res(self.kw)
        self.act = act_fn(self.kw["nonlinearity"])

    def layer(self, x, scope, gain=SQRT2, act=True):
        w = get_weight(self.v[scope + "/weight"], gain, self.kw["use_wscale"])
        y = (x.reshape(x.shape[0], -1) @ w if w.dim() == 2 else tf_conv2d(x, w)) if scope != "" else x
        b = self.v[scope + "/bias"]
        y = y + (b if y.dim() == 2 else b.reshape(1, -1, 1, 1))
        return self.act(y) if act else y

    def fromrgb(self, x, res):
        return self.layer(x, f"FromRGB_lod{self.L - res}")

    def block(self, x, res):
        kw, s = self.kw, f"{2 ** res}x{2 ** res}"
        if res >= 3:
            x = self.layer(x, s + "/Conv0")
            x = blur2d(x, kw["blur_filter"])
            w = get_weight(self.v[s + "/Conv1_down/weight"], SQRT2, kw["use_wscale"])
            if fused(kw, 2 ** res):
                w = F.pad(w.permute(2, 3, 0, 1), [1, 1, 1, 1]).permute(2, 3, 0, 1)
                w = (w[1:, 1:] + w[:-1, 1:] + w[1:, :-1] + w[:-1, :-1]) * 0.25
                y = tf_conv2d(x, w, stride=2)
            else:
                y = downscale2d(tf_conv2d(x, w))
            return self.act(y + self.v[s + "/Conv1_down/bias"].reshape(1, -1, 1, 1))
        if kw["mbstd_group_size"] > 1:
            x = minibatch_stddev_layer(x, kw["mbstd_group_size"], kw["mbstd_num_features"])
        x = self.layer(x, s + "/Conv")
        x = self.layer(x, s + "/Dense0")
        return self.layer(x, s + "/Dense1", gain=1.0, act=False)

    def __call__(self, images, labels, lod):
        img = images
        x = self.fromrgb(img, self.L)
        for res in range(self.L, 2, -1):
            x = self.block(x, res)
            img = downscale2d(img)
            x = lerp_clip(x, self.fromrgb(img, res - 1), lod - (self.L - res))
        out = self.block(x, 2)
        if self.kw["label_size"]:
            out = (out * labels).sum(dim=1, keepdim=True)
        return out


# ---------------------------------------------------------------- layouts

def to_ganforge(name, array):
    """An official v1 variable in ganforge's layout: dense [out, in], conv
    [out, in, k, k] (Conv0_up's stored [k, k, in, out] as well)."""
    a = np.asarray(array)
    if not name.endswith("/weight") or a.ndim == 1:
        return a
    return a.transpose(1, 0) if a.ndim == 2 else a.transpose(3, 2, 0, 1)


def _self_check():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 6, 6, dtype=torch.float64)
    # The normalized blur keeps a constant image's interior and is symmetric under a flip.
    ones = blur2d(torch.ones_like(x), [1, 2, 1])
    assert torch.allclose(ones[:, :, 1:-1, 1:-1], torch.ones(2, 3, 4, 4, dtype=torch.float64))
    assert torch.allclose(blur2d(x.flip(3), [1, 2, 1]), blur2d(x, [1, 2, 1]).flip(3))
    y = instance_norm(x)
    assert torch.allclose(y.mean(dim=[2, 3]), torch.zeros(2, 3, dtype=torch.float64), atol=1e-12)
    m = minibatch_stddev_layer(torch.randn(4, 4, 2, 2, dtype=torch.float64), 2, 2)
    assert m.shape == (4, 6, 2, 2)


if __name__ == "__main__":
    _self_check()
    print("stylegan_reference: self-check passed")
