"""The --max-images subset is the official one, for the program tests:
  max_images_subset.py TRAINER WORKDIR
Makes 32 flat grey 8x8 images (image i has the value 8 i), trains 0 kimg on
4 of them with --seed 7 (train_stylegan) and reads which images reals.png
shows; they must be the ones StyleGAN2-ADA's dataset.py keeps for
train.py --subset 4 --seed 7: np.random.RandomState(7) shuffles the indices,
the first 4 are kept. Then the run's checkpoint resumed with --max-images 4
and no --seed must find the same images (the checkpoint's seed draws them).
Exits 0 when both hold, else prints what differs and exits 1."""
import glob
import os
import shutil
import subprocess
import sys

import numpy as np
import PIL.Image


def shown_images(run_dir):
    grid = np.array(PIL.Image.open(os.path.join(run_dir, "reals.png")))
    values = grid.reshape(-1, grid.shape[-1])[:, 0] if grid.ndim == 3 else grid.ravel()
    return sorted(set(int(v) // 8 for v in values))


def main(trainer, work):
    shutil.rmtree(work, ignore_errors=True)
    data = os.path.join(work, "grey")
    os.makedirs(data)
    for i in range(32):
        PIL.Image.fromarray(np.full((8, 8), 8 * i, np.uint8)).save(os.path.join(data, "%02d.png" % i))
    idx = np.arange(32)
    np.random.RandomState(7).shuffle(idx)
    expected = sorted(int(i) for i in idx[:4])
    flags = ["--data", data, "--cfg", "tiny", "--kimg", "0", "--max-images", "4"]
    subprocess.run([trainer] + flags + ["--seed", "7", "--outdir", os.path.join(work, "first")], check=True,
                   stdout=subprocess.DEVNULL)
    first = glob.glob(os.path.join(work, "first", "*"))[0]
    if shown_images(first) != expected:
        print("--max-images 4 --seed 7 trained on images %s; numpy's subset is %s" % (shown_images(first), expected))
        return 1
    subprocess.run([trainer] + flags + ["--resume", os.path.join(first, "checkpoint.bin"), "--outdir",
                                        os.path.join(work, "resumed")], check=True, stdout=subprocess.DEVNULL)
    resumed = glob.glob(os.path.join(work, "resumed", "*"))[0]
    if shown_images(resumed) != expected:
        print("the resumed run trained on images %s; its checkpoint's run on %s" % (shown_images(resumed), expected))
        return 1
    print("the subset is numpy's %s" % expected)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
