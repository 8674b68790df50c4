#!/usr/bin/env python3
"""PyTorch's CPU time for the ops of bench_cpu_simd, at its shapes (float32):
F.prelu at the pSp encoder's shapes, and pixel norm as the official
normalize_2nd_moment writes it (x * rsqrt(mean(x^2, dim=1) + eps)) with its
backward through autograd (the gradient pixel_norm_grad computes in one
kernel). Medians of timed samples after warm-up, with the same batch and
threads as given to bench_cpu_simd, so the two programs' rows line up:

  OMP_NUM_THREADS=1 build/bin/bench_cpu_simd
  /usr/bin/python3 bench/torch_cpu_simd.py --threads 1

--quick: batch 1 as bench_cpu_simd --quick.

Run under ganforge's libgomp spin policy (bench/openmp_spin.py): unless
GOMP_SPINCOUNT or OMP_WAIT_POLICY is set, GOMP_SPINCOUNT=2000 is set before
torch is imported, as the ganforge benchmark runs; the first line says which.
"""
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import openmp_spin  # noqa: E402  (standard library only)
import pydeps  # noqa: E402  (standard library only: one-line flag errors)

SPIN = openmp_spin.prefer_short_spin()  # before torch is imported: libgomp reads it when loaded
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402


def per_call(fn, warmup, samples, calls):
    for _ in range(warmup):
        fn()
    t = []
    for _ in range(samples):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        t.append((time.perf_counter() - t0) / calls)
    return statistics.median(t)


def main():
    ap = pydeps.OneLineParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=pydeps.integer(1, 4096), default=1)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    batch = 1 if a.quick else 4
    reps = (2, 5, 2) if a.quick else (2, 9, 5)
    torch.manual_seed(0)
    print(f"PyTorch {torch.__version__} CPU, float32, batch {batch}, {a.threads} thread(s), {SPIN}")

    def row(op, shape, nbytes, fn):
        t = per_call(fn, *reps)
        print(f"  {op:<16} {shape:<18} {t * 1e3:9.4f} ms {nbytes / t / 1e9:7.1f} GB/s", flush=True)

    for c, res in [(64, 128), (128, 64), (256, 32), (512, 16)]:
        x = torch.randn(batch, c, res, res)
        w = torch.randn(c)
        row("prelu", f"[{batch},{c},{res},{res}]", 8.0 * x.numel(), lambda: F.prelu(x, w))
    for res in [0, 8, 32, 64]:
        x = torch.randn((batch, 512, res, res) if res else (batch, 512))
        g = torch.randn_like(x)
        shape = f"[{batch},512,{res},{res}]" if res else f"[{batch},512]"

        def norm(t):
            return t * (t.square().mean(dim=1, keepdim=True) + 1e-8).rsqrt()

        with torch.no_grad():
            row("pixel_norm", shape, 8.0 * x.numel(), lambda: norm(x))
        xr = x.clone().requires_grad_()
        y = norm(xr)
        row("pixel_norm_grad", shape, 12.0 * x.numel(),
            lambda: torch.autograd.grad(y, xr, g, retain_graph=True))


if __name__ == "__main__":
    main()
