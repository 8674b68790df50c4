#!/usr/bin/python3
"""The baseline of bench_pggan_metrics: PGGAN's official SWD and MS-SSIM
code (numpy and scipy, progressive_growing_of_gans metrics/
sliced_wasserstein.py and ms_ssim.py, as tools/fixtures/make_pggan_metrics_golden.py
restates them) on the same sizes, one row per part:
  - descriptors: one minibatch of random 8-bit images through the Laplacian
    pyramid and the patch gather, ms per image, at 32 and 256 px;
  - sliced_wasserstein: one repeat of 128 directions over two sets of rows
    x 147 normal values (a float32 matmul and np.sort per column), s a call;
  - ms_ssim: one pair, ms per pair, at 32 and 256 px.
Medians of --samples timed calls after one warm-up.

Usage: /usr/bin/python3 bench/numpy_pggan_metrics.py [--quick] [--threads 2] [--samples 3]
(--quick: 65536 rows; else 2^21, swd16k's rows a set). --threads sets the
BLAS threads (the matmul's; the rest of numpy runs on one thread).
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools", "fixtures"))
from median_time import median_time  # noqa: E402  (bench/, the script's own folder; standard library only)
import pydeps  # noqa: E402  (standard library only: one-line flag errors)


def main():
    ap = pydeps.OneLineParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--threads", type=pydeps.integer(1, 4096), default=2)
    ap.add_argument("--samples", type=pydeps.integer(1, 1000), default=3)
    a = ap.parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(a.threads)  # before numpy loads its BLAS
    import numpy as np
    import make_pggan_metrics_golden as official

    rng = np.random.default_rng(0)
    print(f"numpy {np.__version__}, {a.threads} BLAS threads")
    for side in (32, 256):
        mb = min(256, max(4, 8192 // side))
        images = rng.integers(0, 256, (mb, 3, side, side), dtype=np.uint8)
        levels = len(official.swd_resolutions(side))

        def descriptors():
            rs = np.random.RandomState(1)
            for level in official.laplacian_levels(images, levels):
                official.gather_patches(level, 128, rs)
        t = median_time(descriptors, a.samples)
        print(f"descriptors        {side:4d} px  minibatch {mb:3d}   {1e3 * t / mb:8.3f} ms/image")
    rows = 65536 if a.quick else 1 << 21
    x = rng.standard_normal((rows, 147), dtype=np.float32)
    y = rng.standard_normal((rows, 147), dtype=np.float32) * np.float32(1.1)

    def swd():
        rs = np.random.RandomState(3)
        dirs = rs.randn(147, 128)
        dirs = (dirs / np.sqrt(np.sum(np.square(dirs), axis=0, keepdims=True))).astype(np.float32)
        return np.mean(np.abs(np.sort(np.matmul(x, dirs), axis=0) - np.sort(np.matmul(y, dirs), axis=0)))
    t = median_time(swd, a.samples)
    print(f"sliced_wasserstein rows {rows:8d}  1 x 128 dirs  {t:8.3f} s a call")
    for side in (32, 256):
        pair = rng.integers(0, 256, (2, side, side, 3), dtype=np.uint8)
        t = median_time(lambda: official.msssim(pair[0:1], pair[1:2]), a.samples)
        print(f"ms_ssim            {side:4d} px  {1e3 * t:8.3f} ms/pair")


if __name__ == "__main__":
    main()
