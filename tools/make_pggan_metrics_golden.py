#!/usr/bin/python3
"""Golden values for Progressive GAN's two official image metrics, the
sliced Wasserstein distance (SWD) and MS-SSIM, computed as the official
PGGAN repository computes them (metrics/sliced_wasserstein.py and
metrics/ms_ssim.py, fed as util_scripts.evaluate_metrics feeds them).

SWD: every minibatch of uint8 NCHW images becomes a float32 Laplacian
pyramid (a 5x5 binomial kernel, scipy.ndimage.convolve with mode 'mirror',
one level per resolution >= 16 got by halving the side, level 0 the full
one). From each level 7x7x3 neighbourhoods are gathered at positions drawn
with randint (all x, then all y); note the official gather transposes each
patch: descriptor [n, c, i, j] is pixel (row y_n + j - 3, column x_n + i -
3). Each level's descriptors are standardized per channel over all of
them, then 147 columns. One np.random.RandomState(seed) serves the whole
case: the reals pass, then the fakes pass, then per level dir_repeats draws
of randn(147, dirs_per_repeat) directions (normalized per column, rounded to
float32), float32 projections, sorted, mean |difference|, x 1e3; the last
value is the mean over levels. Unlike the official API, no reals-vs-reals
SWD is computed between the two passes (it would consume directions).
<case>.swd64 repeats the directions on the same float32 descriptors with
float64 projections and means.

MS-SSIM: the official msssim() with its defaults (max_val 255, an 11-tap
sigma 1.5 Gaussian shrunk to the image at small scales, k1 0.01, k2 0.03,
five weights), images[0::2] against images[1::2]; per pair and as the API's
average over one minibatch.

For every SWD case <c> this stores <c>.reals and <c>.fakes (float32
[n, 3, H, W], integer pixel values), <c>.params (float64: seed, minibatch,
nhood_size, nhoods_per_image, dir_repeats, dirs_per_repeat), <c>.swd and
<c>.swd64 (float64 [levels + 1]), <c>.pyramid<l> (float32, level l of the
first reals minibatch) and <c>.real_desc<l>, <c>.fake_desc<l> (float32: the
level's N x 147 finalized descriptors, whole where N <= 80 as in swd_64,
else their first 48 rows, to keep the file small). For every MS-SSIM
case <c>: <c>.images (float32 [n, 3, H, W]), <c>.per_pair (float64
[n / 2]) and <c>.mean (float64 [1]); in tests/data/pggan_metrics_golden.bin.

Run from the repository root: /usr/bin/python3 tools/make_pggan_metrics_golden.py [out.bin]
"""
import os

import interrupts  # noqa: E402  (standard library only)
if __name__ == "__main__":
    interrupts.die_by_signals()
import pydeps  # noqa: E402
if __name__ == "__main__":  # the command line first: --help and a bad flag need neither NumPy nor PyTorch
    OUT = pydeps.output_file(__doc__, os.path.join(os.path.dirname(__file__), "..", "tests", "data",
                                                   "pggan_metrics_golden.bin"))

pydeps.require("make_pggan_metrics_golden", "numpy", "torch", "scipy")

import numpy as np  # noqa: E402
import scipy.ndimage  # noqa: E402
import scipy.signal  # noqa: E402
import torch  # noqa: E402

from golden_io import write_safetensors  # noqa: E402

NHOOD = 7
# Rows of each stored descriptor tensor: the whole where N <= 80 (swd_64), else the first 48 (the file's size).
WHOLE_DESC_MAX, DESC_HEAD = 80, 48

# The binomial 5x5 kernel (outer product of 1 4 6 4 1) over 256, in float32.
_BINOMIAL = np.array([1.0, 4.0, 6.0, 4.0, 1.0], dtype=np.float32)
_KERNEL = (np.outer(_BINOMIAL, _BINOMIAL).astype(np.float32) / 256.0).reshape(1, 1, 5, 5)


# ---------------------------------------------------------------------------- SWD

def swd_resolutions(side):
    """The sides the official API keeps: side, side / 2, ... while >= 16."""
    out = []
    while side >= 16:
        out.append(side)
        side //= 2
    return out


def blur_mirror(x, gain=1.0):
    """scipy.ndimage.convolve with the binomial kernel (times gain) over the last two axes, mode 'mirror'."""
    return scipy.ndimage.convolve(x, _KERNEL * gain, mode="mirror")


def reduce_half(x):
    return blur_mirror(x)[:, :, ::2, ::2]


def expand_double(x):
    n, c, h, w = x.shape
    up = np.zeros((n, c, 2 * h, 2 * w), dtype=x.dtype)
    up[:, :, ::2, ::2] = x
    return blur_mirror(up, 4.0)


def laplacian_levels(batch, count):
    """float32 levels, finest first; the last is the low-pass remainder."""
    gauss = [batch.astype(np.float32)]
    for _ in range(count - 1):
        gauss.append(reduce_half(gauss[-1]))
    out = []
    for k in range(count):
        if k + 1 < count:
            level = gauss[k].copy()
            level -= expand_double(gauss[k + 1])
            out.append(level)
        else:
            out.append(gauss[k])
    return out


def gather_patches(level, per_image, rs):
    """[N, 3, 7, 7] neighbourhoods of level [m, 3, h, w] at randint positions
    (x over the width first, then y over the height); axis 2 walks x, axis 3 y."""
    m, c, h, w = level.shape
    r = NHOOD // 2
    count = per_image * m
    cx = rs.randint(r, w - r, size=(count, 1, 1, 1))
    cy = rs.randint(r, h - r, size=(count, 1, 1, 1))
    step = np.arange(-r, r + 1)
    image = (np.arange(count) // per_image).reshape(count, 1, 1, 1)
    channel = np.arange(c).reshape(1, c, 1, 1)
    col = cx + step.reshape(1, 1, NHOOD, 1)
    row = cy + step.reshape(1, 1, 1, NHOOD)
    return level[image, channel, row, col]


def standardized(patches):
    d = np.concatenate(patches, axis=0)
    d -= d.mean(axis=(0, 2, 3), keepdims=True)
    d /= d.std(axis=(0, 2, 3), keepdims=True)
    return d.reshape(len(d), -1)


def descriptors(images, minibatch, per_image, levels, rs, first_pyramid=None):
    """Every level's finalized descriptors of images fed minibatch by minibatch."""
    per_level = [[] for _ in range(levels)]
    for start in range(0, len(images), minibatch):
        pyr = laplacian_levels(images[start:start + minibatch], levels)
        if first_pyramid is not None and start == 0:
            first_pyramid.extend(p.copy() for p in pyr)
        for k, level in enumerate(pyr):
            per_level[k].append(gather_patches(level, per_image, rs))
    return [standardized(p) for p in per_level]


def sliced_wasserstein(a, b, repeats, per_repeat, rs):
    """(official float32 value, the float64 one) with the same directions."""
    r32, r64 = [], []
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    for _ in range(repeats):
        dirs = rs.randn(a.shape[1], per_repeat)
        dirs = (dirs / np.sqrt(np.square(dirs).sum(axis=0, keepdims=True))).astype(np.float32)
        pa, pb = np.sort(a @ dirs, axis=0), np.sort(b @ dirs, axis=0)
        r32.append(np.abs(pa - pb).mean())
        d64 = dirs.astype(np.float64)
        pa, pb = np.sort(a64 @ d64, axis=0), np.sort(b64 @ d64, axis=0)
        r64.append(np.abs(pa - pb).mean())
    return np.mean(r32), float(np.mean(np.array(r64, dtype=np.float64)))


def swd_case(reals, fakes, seed, minibatch, per_image, repeats, per_repeat):
    rs = np.random.RandomState(seed)
    levels = len(swd_resolutions(reals.shape[2]))
    pyramid = []
    real_d = descriptors(reals, minibatch, per_image, levels, rs, pyramid)
    fake_d = descriptors(fakes, minibatch, per_image, levels, rs)
    v32, v64 = [], []
    for ra, fa in zip(real_d, fake_d):
        a, b = sliced_wasserstein(ra, fa, repeats, per_repeat, rs)
        v32.append(a * 1e3)
        v64.append(b * 1e3)
    swd = np.array(v32 + [np.mean(v32)], dtype=np.float64)
    swd64 = np.array(v64 + [np.mean(np.array(v64))], dtype=np.float64)
    return swd, swd64, pyramid, real_d, fake_d


# ---------------------------------------------------------------------------- MS-SSIM

def gauss_window(size, sigma):
    """MATLAB fspecial('gaussian') as the official builds it: an even size
    samples the half-integer offsets -size/2 + 0.5 ... size/2 - 0.5."""
    half = (size - 1) / 2.0 if size % 2 == 0 else float(size // 2)
    t = np.arange(size, dtype=np.float64) - half
    g = np.exp(-(t[:, None] ** 2 + t[None, :] ** 2) / (2.0 * sigma ** 2))
    return g / g.sum()


def ssim_and_cs(x, y, max_val=255, filter_size=11, filter_sigma=1.5, k1=0.01, k2=0.03):
    """Per image (NHWC float32 batches) mean SSIM and contrast-structure over the valid window positions."""
    x, y = x.astype(np.float32), y.astype(np.float32)
    size = min(filter_size, x.shape[1], x.shape[2])
    sigma = size * filter_sigma / filter_size
    win = gauss_window(size, sigma).reshape(1, size, size, 1)

    def blur(z):
        return scipy.signal.fftconvolve(z, win, mode="valid")

    mx, my = blur(x), blur(y)
    vxx, vyy, vxy = blur(x * x), blur(y * y), blur(x * y)
    mxx, myy, mxy = mx * mx, my * my, mx * my
    vxx -= mxx
    vyy -= myy
    vxy -= mxy
    c1, c2 = (k1 * max_val) ** 2, (k2 * max_val) ** 2
    num_cs = 2.0 * vxy + c2
    den_cs = vxx + vyy + c2
    ssim = (((2.0 * mxy + c1) * num_cs) / ((mxx + myy + c1) * den_cs)).mean(axis=(1, 2, 3))
    cs = (num_cs / den_cs).mean(axis=(1, 2, 3))
    return ssim, cs


def half_box(z):
    return (z[:, 0::2, 0::2, :] + z[:, 1::2, 0::2, :] + z[:, 0::2, 1::2, :] + z[:, 1::2, 1::2, :]) * 0.25


def msssim(a, b):
    """The official msssim() of two NHWC batches with its defaults: the mean over the batch."""
    w = np.array([0.0448, 0.2856, 0.3001, 0.2363, 0.1333])
    x, y = a.astype(np.float32), b.astype(np.float32)
    ss, cc = [], []
    for _ in range(len(w)):
        s, c = ssim_and_cs(x, y)
        ss.append(s)
        cc.append(c)
        x, y = half_box(x), half_box(y)
    ss = np.maximum(np.asarray(ss), 0.0)
    cc = np.maximum(np.asarray(cc), 0.0)
    per_image = np.prod(cc[:-1] ** w[:-1, None], axis=0) * ss[-1] ** w[-1]
    return np.mean(per_image)


def msssim_case(images):
    """images: uint8 [n, 3, H, W]; (per pair values, the API's value for one minibatch of all)."""
    nhwc = images.transpose(0, 2, 3, 1)
    pairs = [float(msssim(nhwc[i:i + 1], nhwc[i + 1:i + 2])) for i in range(0, len(images), 2)]
    n_pairs = len(images) // 2
    total = 0.0 + msssim(nhwc[0::2], nhwc[1::2]) * n_pairs
    return pairs, float(total / n_pairs)


# ---------------------------------------------------------------------------- images

def structured(rng, n, side, kind):
    """uint8 [n, 3, side, side]: kind 'a' smooth gradients and sinusoids with
    light noise; kind 'b' blobs on a flatter ground with more noise."""
    t = np.linspace(0.0, 1.0, side)
    yy, xx = np.meshgrid(t, t, indexing="ij")
    out = np.empty((n, 3, side, side))
    for i in range(n):
        for c in range(3):
            if kind == "a":
                gx, gy = rng.uniform(-120, 120, 2)
                f = rng.uniform(1.0, 4.0, 2)
                ph = rng.uniform(0, 2 * np.pi, 2)
                v = 128 + gx * (xx - 0.5) + gy * (yy - 0.5)
                v += 40 * np.sin(2 * np.pi * f[0] * xx + ph[0]) * np.cos(2 * np.pi * f[1] * yy + ph[1])
                v += rng.normal(0, 6, (side, side))
            else:
                v = np.full((side, side), rng.uniform(60, 190))
                for _ in range(3):
                    cy, cx = rng.uniform(0, 1, 2)
                    r = rng.uniform(0.08, 0.3)
                    v += rng.uniform(-90, 90) * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r * r))
                v += rng.normal(0, 18, (side, side))
            out[i, c] = v
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def f32(a):
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))


def f64(a):
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float64))


def main(out):
    t = {}
    rng = np.random.default_rng(4242)
    # name: side, images of each kind, minibatch, seed, nhoods per image, direction repeats, directions per repeat
    swd_cases = {
        "swd_32": (32, 12, 8, 1000, 128, 4, 128),
        "swd_64": (64, 5, 4, 7, 16, 2, 32),
        "swd_16": (16, 3, 3, 123, 128, 4, 128),
    }
    for name, (side, n, mb, seed, per_image, repeats, per_repeat) in swd_cases.items():
        reals = structured(rng, n, side, "a")
        fakes = structured(rng, n, side, "b")
        swd, swd64, pyramid, real_d, fake_d = swd_case(reals, fakes, seed, mb, per_image, repeats, per_repeat)
        t[name + ".reals"] = f32(reals)
        t[name + ".fakes"] = f32(fakes)
        t[name + ".params"] = f64([seed, mb, NHOOD, per_image, repeats, per_repeat])
        t[name + ".swd"] = f64(swd)
        t[name + ".swd64"] = f64(swd64)
        for k, level in enumerate(pyramid):
            t[f"{name}.pyramid{k}"] = f32(level)
        kept = len(real_d[0]) if len(real_d[0]) <= WHOLE_DESC_MAX else DESC_HEAD
        for k, (ra, fa) in enumerate(zip(real_d, fake_d)):
            t[f"{name}.real_desc{k}"] = f32(ra[:kept])
            t[f"{name}.fake_desc{k}"] = f32(fa[:kept])
        rel = np.abs(swd - swd64) / np.abs(swd64)
        print(f"{name}: swd {np.array2string(swd, precision=9)} swd64 {np.array2string(swd64, precision=9)} "
              f"rel {np.array2string(rel, precision=2)}")

    mrng = np.random.default_rng(4343)
    a32, b32 = structured(mrng, 4, 32, "a"), structured(mrng, 4, 32, "b")
    # Related but different images (unrelated ones mostly clip to 0): a blend,
    # a shift by 2 pixels, two independent images, a blend of the two kinds.
    blend = np.round(0.7 * a32[0] + 0.3 * b32[0]).astype(np.uint8)
    mixed = np.round(0.5 * a32[3] + 0.5 * b32[3]).astype(np.uint8)
    m32 = np.stack([a32[0], blend, b32[1], np.roll(b32[1], 2, axis=2), a32[1], a32[2], a32[3], mixed])
    c0 = np.full((1, 3, 16, 16), 40, dtype=np.uint8)
    c1 = np.full((1, 3, 16, 16), 200, dtype=np.uint8)
    inv = structured(mrng, 1, 16, "a")
    m16 = np.concatenate([c0, c1, inv, 255 - inv, structured(mrng, 2, 16, "b")])
    base = structured(mrng, 2, 64, "a")
    noisy = np.clip(base[1:2].astype(np.int64) + mrng.integers(-3, 4, base[1:2].shape), 0, 255).astype(np.uint8)
    m64 = np.concatenate([base[0:1], base[0:1], base[1:2], noisy])
    for name, images in {"msssim_32": m32, "msssim_16": m16, "msssim_64": m64}.items():
        pairs, mean = msssim_case(images)
        t[name + ".images"] = f32(images)
        t[name + ".per_pair"] = f64(pairs)
        t[name + ".mean"] = f64([mean])
        print(f"{name}: per pair {pairs} mean {mean!r}")
    size = write_safetensors(out, t, {"generator": "tools/make_pggan_metrics_golden.py"})
    print(f"{os.path.relpath(out)}: {size} bytes, {len(t)} tensors")


if __name__ == "__main__":
    main(OUT)
