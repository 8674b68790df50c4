#!/usr/bin/python3
"""PyTorch's time for bench_precision_recall's measurement: the official
StyleGAN2-ADA metrics/precision_recall.py algorithm (k = 3, rows of 1024)
on the CPU, with torch.cdist in float32 on the float16-rounded features
(the official runs cdist in float16 on the GPU; the CPU's float16 cdist is
not what it measures). Random ReLU-like features of n rows per set, one
timed run after a small warm-up.

Usage: /usr/bin/python3 bench/torch_precision_recall.py [--rows 3072] [--dim 4096] [--threads 2]

Run under ganforge's libgomp spin policy (bench/openmp_spin.py): unless
GOMP_SPINCOUNT or OMP_WAIT_POLICY is set, GOMP_SPINCOUNT=2000 is set before
torch is imported, as the ganforge benchmark runs; the first line says which.
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import openmp_spin  # noqa: E402  (standard library only)
import pydeps  # noqa: E402  (standard library only: one-line flag errors)

SPIN = openmp_spin.prefer_short_spin()  # before torch is imported: libgomp reads it when loaded
import torch  # noqa: E402


def coverage(manifold, probes, k, rows):
    kth = []
    for batch in manifold.split(rows):
        d = torch.cdist(batch.unsqueeze(0), manifold.unsqueeze(0)).squeeze(0)
        kth.append(d.to(torch.float16).to(torch.float32).kthvalue(k + 1).values)
    kth = torch.cat(kth)
    inside = []
    for batch in probes.split(rows):
        d = torch.cdist(batch.unsqueeze(0), manifold.unsqueeze(0)).squeeze(0).to(torch.float16).to(torch.float32)
        inside.append((d <= kth.unsqueeze(0)).any(dim=1))
    return torch.cat(inside).to(torch.float32).mean().item()


def main():
    ap = pydeps.OneLineParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=pydeps.integer(4, 1000000), default=3072)  # bench_precision_recall's range
    ap.add_argument("--dim", type=pydeps.integer(1, 65536), default=4096)
    ap.add_argument("--threads", type=pydeps.integer(1, 4096), default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    g = torch.Generator().manual_seed(0)
    real = torch.randn(a.rows, a.dim, generator=g).clamp_min(0).to(torch.float16).to(torch.float32)
    gen = torch.randn(a.rows, a.dim, generator=g).clamp_min(0).to(torch.float16).to(torch.float32)
    coverage(real[:64], gen[:64], 3, 1024)
    t0 = time.perf_counter()
    precision, recall = coverage(real, gen, 3, 1024), coverage(gen, real, 3, 1024)
    t = time.perf_counter() - t0
    n = 4.0 * a.rows * a.rows
    print(f"torch {torch.__version__} cpu, {a.threads} threads, {SPIN}, {a.rows} rows per set, dim {a.dim}, k 3 "
          f"(precision {precision:.4f}, recall {recall:.4f})")
    print(f"  {'torch.cdist float32':22s} {t:8.2f} s  {n / t:8.3g} distances/s  {2 * a.dim * n / t / 1e9:7.1f} GFLOP/s")


if __name__ == "__main__":
    main()
