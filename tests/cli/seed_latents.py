"""generate --seeds draws each seed's z as the official scripts do,
numpy's RandomState(seed).randn(1, z_dim) (generate.py, style_mixing.py,
StyleGAN's generate_figures.py): the images of --seeds equal, bit for bit,
those of --z with those latents, made here by numpy itself. For each family.

    seed_latents.py GENERATE OUTDIR NETWORK [generate flags...]
"""
import json
import os
import struct
import subprocess
import sys

import numpy as np

generate, outdir, network, flags = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
SEEDS = [0, 85, 4294967295]
with open(network, "rb") as f:
    meta = json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))["__metadata__"]
kwargs = json.loads(meta["G_kwargs"])
z_dim = kwargs.get("z_dim", kwargs.get("latent_size"))
os.makedirs(outdir, exist_ok=True)
latents = os.path.join(outdir, "latents.npy")
np.save(latents, np.concatenate([np.random.RandomState(s).randn(1, z_dim) for s in SEEDS]))
raw = {}
for mode, arg in (("seeds", ",".join(map(str, SEEDS))), ("z", latents)):
    raw[mode] = os.path.join(outdir, mode + "_raw.npy")
    subprocess.run([generate, "--network", network, "--" + mode, arg, "--raw", raw[mode],
                    "--outdir", os.path.join(outdir, mode)] + flags, check=True, stdout=subprocess.DEVNULL)
a, b = np.load(raw["seeds"]), np.load(raw["z"])
assert a.shape[0] == len(SEEDS) and a.shape == b.shape, (a.shape, b.shape)
assert a.tobytes() == b.tobytes(), np.abs(a - b).max()
# Different seeds, different images (a constant z would pass the above).
assert all(np.abs(a[i] - a[0]).max() > 0 for i in range(1, len(SEEDS)))
print("seeds draw numpy's latents")
