"""Checks that generate's PNGs hold its --raw images made 8-bit as each
family's official generation script makes them.

    png_8_bit.py RULE RAW.npy GRID.png GW

RULE: 'tf_round' (PGGAN's util_scripts.generate_fake_images: Gs.run with
out_mul=127.5, out_add=127.5, out_dtype=uint8, i.e. tf.round, half to even,
then saturate) or 'truncate' (generate.py and StyleGAN's
convert_images_to_uint8: x * 127.5 + 128, clamped, truncated). The grid is
GW images wide, row-major in N. Prints how many values the two rules make
differently (exact halves, mostly), so a caller can tell that the check had teeth."""
import sys

import numpy as np
from PIL import Image

rule, raw_path, grid_path, gw = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
raw = np.load(raw_path).astype(np.float32)  # [N, C, H, W]
n, c, h, w = raw.shape
gh = n // gw
tiles = raw.reshape(gh, gw, c, h, w).transpose(0, 3, 1, 4, 2).reshape(gh * h, gw * w, c)
tf_round = np.clip(np.rint(tiles * np.float32(127.5) + np.float32(127.5)), 0, 255).astype(np.uint8)
truncate = np.clip(tiles * np.float32(127.5) + np.float32(128), 0, 255).astype(np.uint8)
want = {'tf_round': tf_round, 'truncate': truncate}[rule]
got = np.asarray(Image.open(grid_path))
got = got.reshape(got.shape[0], got.shape[1], -1)
assert got.shape == want.shape, (got.shape, want.shape)
bad = int((got != want).sum())
assert bad == 0, '%d of %d values differ from the %s rule' % (bad, want.size, rule)
print('as the %s rule, %d values where the two rules differ' % (rule, int((tf_round != truncate).sum())))
