#!/usr/bin/python3
"""Golden values for PGGAN's latent walk video, as the official
util_scripts.generate_interpolation_video makes it
(progressive_growing_of_gans): its latents, np.random.RandomState(seed).randn
of [frames, images, z_dim] as float32, scipy.ndimage.gaussian_filter with
sigma smoothing_sec * fps along the frames (0 along the others) in 'wrap'
mode, then divided by np.sqrt(np.mean(np.square(z))); and its frames'
enlargement, scipy.ndimage.zoom(grid, [zoom, zoom, 1], order=0) of 8-bit
[H, W, C] grids.

For every latent case <c> this stores <c>.params (float64: frames, images,
z_dim, sigma in frames, seed) and <c>.z (float32 [frames, images, z_dim]);
for every zoom case <c>, <c>.grid (float32 [H, W, C], the 8-bit values),
<c>.zoom (float64 [1]) and <c>.out (float32 [H * zoom, W * zoom, C]); in
tests/data/latent_walk_golden.bin.

Run from the repository root: /usr/bin/python3 tools/make_latent_walk_golden.py [out.bin]
"""
import os

import interrupts  # noqa: E402  (standard library only)
if __name__ == "__main__":
    interrupts.die_by_signals()
import pydeps  # noqa: E402
if __name__ == "__main__":  # the command line first: --help and a bad flag need neither NumPy nor PyTorch
    OUT = pydeps.output_file(__doc__, os.path.join(os.path.dirname(__file__), "..", "tests", "data",
                                                   "latent_walk_golden.bin"))

pydeps.require("make_latent_walk_golden", "numpy", "torch", "scipy")

import numpy as np  # noqa: E402
import scipy.ndimage  # noqa: E402
import torch  # noqa: E402

from golden_io import write_safetensors  # noqa: E402


def walk(frames, images, z_dim, sigma, seed):
    z = np.random.RandomState(seed).randn(frames, images, z_dim).astype(np.float32)
    z = scipy.ndimage.gaussian_filter(z, [sigma, 0, 0], mode="wrap")
    return z / np.sqrt(np.mean(np.square(z)))


def main(out):
    cases = {
        # A minute at 30 fps with 1 s of smoothing is frames 1800, sigma 30; shorter here.
        "walk_50": (50, 2, 8, 3.5, 1000),
        # Fewer frames than the kernel's radius (24): the wrap goes round more than once.
        "walk_short": (10, 1, 5, 6.0, 7),
        # No smoothing: the draws divided by their root mean square.
        "walk_sharp": (4, 3, 4, 0.0, 5),
    }
    t = {}
    for name, (frames, images, z_dim, sigma, seed) in cases.items():
        t[name + ".params"] = torch.tensor([frames, images, z_dim, sigma, seed], dtype=torch.float64)
        t[name + ".z"] = torch.from_numpy(np.ascontiguousarray(walk(frames, images, z_dim, sigma, seed)))
    rng = np.random.RandomState(11)
    for name, (h, w, c, zoom) in {"zoom_grey": (5, 7, 1, 3), "zoom_rgb": (16, 24, 3, 4)}.items():
        grid = rng.randint(0, 256, (h, w, c)).astype(np.uint8)
        t[name + ".grid"] = torch.from_numpy(grid.astype(np.float32))
        t[name + ".zoom"] = torch.tensor([zoom], dtype=torch.float64)
        t[name + ".out"] = torch.from_numpy(scipy.ndimage.zoom(grid, [zoom, zoom, 1], order=0).astype(np.float32))
    write_safetensors(out, t, {"generator": "tools/make_latent_walk_golden.py"})


if __name__ == "__main__":
    main(OUT)
