#!/usr/bin/python3
"""generate --lerp-video's frames against the official recipe (tests/cli/generate.cmake):
  lerp_video_frames.py GENERATE NETWORK DUMP DURATION FPS SMOOTHING SEED GW GH ZOOM Z_DIM WORK
DUMP holds the raw RGB frames generate sent to (a stand-in) ffmpeg: as
moviepy writes them, one for each t of np.arange(0, DURATION, 1 / FPS),
showing the walk's frame clip(round(t * FPS), 0, frames - 1) of frames =
int(np.rint(DURATION * FPS)). For the first, a middle and the last frame
written this makes the official latents
(tools/fixtures/make_latent_walk_golden.py's walk: numpy's draws, scipy's
gaussian_filter, the rms), renders them with `GENERATE --z ... --raw`, makes
them 8-bit as PGGAN's Gs.run (rint(x * 127.5 + 127.5), clipped), lays them
out as misc.create_image_grid, enlarges with scipy.ndimage.zoom(order=0),
repeats grey to RGB, and compares: at most one level apart (the latents
agree to 1e-6, which can move a value across a rounding edge), in at most
0.1% of the values. Prints "lerp video frames match" when they do.
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools", "fixtures"))
import numpy as np  # noqa: E402
import scipy.ndimage  # noqa: E402

import make_latent_walk_golden as golden  # noqa: E402


def expected_frame(gen, net, z, gw, gh, zoom, work):
    np.save(os.path.join(work, "z.npy"), z.astype(np.float32))
    subprocess.run([gen, "--network", net, "--z", os.path.join(work, "z.npy"), "--raw", os.path.join(work, "imgs.npy"),
                    "--outdir", work], check=True, stdout=subprocess.DEVNULL)
    imgs = np.load(os.path.join(work, "imgs.npy"))
    u8 = np.clip(np.rint(imgs * np.float32(127.5) + np.float32(127.5)), 0, 255).astype(np.uint8)
    c, h, w = u8.shape[1:]
    grid = np.zeros((gh * h, gw * w, c), np.uint8)
    for i in range(gw * gh):
        grid[(i // gw) * h:(i // gw + 1) * h, (i % gw) * w:(i % gw + 1) * w] = u8[i].transpose(1, 2, 0)
    grid = scipy.ndimage.zoom(grid, [zoom, zoom, 1], order=0)
    return grid.repeat(3, 2) if c == 1 else grid


def main():
    gen, net, dump = sys.argv[1:4]
    duration, fps = float(sys.argv[4]), int(sys.argv[5])
    smoothing = float(sys.argv[6])
    seed, gw, gh, zoom, z_dim = (int(v) for v in sys.argv[7:12])
    work = sys.argv[12]
    os.makedirs(work, exist_ok=True)
    frames = int(np.rint(duration * fps))
    times = np.arange(0, duration, 1.0 / fps)
    raw = np.fromfile(dump, dtype=np.uint8)
    per_frame = raw.size // len(times)
    if raw.size != per_frame * len(times):
        print(f"{raw.size} bytes are not {len(times)} frames")
        return 1
    walk = golden.walk(frames, gw * gh, z_dim, smoothing * fps, seed)
    for f in sorted({0, len(times) // 2, len(times) - 1}):
        shown = int(np.clip(np.round(times[f] * fps), 0, frames - 1))
        want = expected_frame(gen, net, walk[shown], gw, gh, zoom, work)
        if want.size != per_frame:
            print(f"a frame holds {per_frame} bytes, the recipe's {want.size}")
            return 1
        got = raw[f * per_frame:(f + 1) * per_frame].reshape(want.shape)
        diff = np.abs(got.astype(np.int32) - want.astype(np.int32))
        if diff.max() > 1 or np.count_nonzero(diff) > diff.size // 1000:
            print(f"frame {f}: {np.count_nonzero(diff)} of {diff.size} values differ, by up to {diff.max()}")
            return 1
    print("lerp video frames match")
    return 0


if __name__ == "__main__":
    sys.exit(main())
