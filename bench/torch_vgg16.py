#!/usr/bin/python3
"""PyTorch's time for bench_vgg16's two measurements, on the same network
(tools/reference/vgg16_reference.py at the real widths, random weights, float32, eager):
the LPIPS embedding of a batch of 256x256 images, its squared distance to a
fixed target and the gradient in the images; and the fc2 features of a
batch (no_grad). Median of 3 after a warm-up.

Usage: /usr/bin/python3 bench/torch_vgg16.py [--lpips-batch 1] [--features-batch 8] [--res 256] [--threads 2]

Run under ganforge's libgomp spin policy (bench/openmp_spin.py): unless
GOMP_SPINCOUNT or OMP_WAIT_POLICY is set, GOMP_SPINCOUNT=2000 is set before
torch is imported, as the ganforge benchmark runs; the first line says which.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools", "reference"))
from median_time import median_time  # noqa: E402  (bench/, the script's own folder; standard library only)
import openmp_spin  # noqa: E402  (standard library only)
import pydeps  # noqa: E402  (standard library only: one-line flag errors)

SPIN = openmp_spin.prefer_short_spin()  # before torch is imported: libgomp reads it when loaded
import torch  # noqa: E402

from vgg16_reference import Vgg16Reference  # noqa: E402


def main():
    # bench_vgg16's ranges (--res: the LPIPS embedding's smallest input is 16).
    p = pydeps.OneLineParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--lpips-batch", type=pydeps.integer(1, 4096), default=1)
    p.add_argument("--features-batch", type=pydeps.integer(1, 4096), default=8)
    p.add_argument("--res", type=pydeps.integer(16, 4096), default=256)
    p.add_argument("--threads", type=pydeps.integer(1, 4096), default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    net = Vgg16Reference(1)
    for k in range(5):  # non-negative lin weights (square roots)
        getattr(net, f"lin{k}").model[1].weight.data.abs_()
    net.requires_grad_(False)
    with torch.no_grad():
        target = net.lpips_embedding(torch.rand(1, 3, a.res, a.res) * 255)
    img = torch.rand(a.lpips_batch, 3, a.res, a.res) * 255
    batch = torch.rand(a.features_batch, 3, a.res, a.res) * 255

    def lpips_step():
        x = img.clone().requires_grad_()
        dist = (net.lpips_embedding(x) - target).square().sum()
        torch.autograd.grad(dist, [x])

    def features():
        with torch.no_grad():
            net.fc2_features(batch)

    t1, t2 = median_time(lpips_step), median_time(features)
    print(f"torch {torch.__version__}, {a.threads} threads, {a.res}x{a.res} inputs, {SPIN}")
    print(f"  lpips_embedding fwd+bwd, batch {a.lpips_batch:<3d} {t1:8.3f} s/batch  {a.lpips_batch / t1:8.2f} images/s")
    print(f"  features [N, 4096], batch {a.features_batch:<3d}      {t2:8.3f} s/batch  {a.features_batch / t2:8.2f} images/s")


if __name__ == "__main__":
    main()
