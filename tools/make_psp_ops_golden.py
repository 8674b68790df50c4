#!/usr/bin/python3
"""Golden values for the ops pSp's encoder adds: batch norm (2-D and 1-D,
training and eval), PReLU, adaptive average pooling, max pooling and bilinear
resizing.

Runs torch's own functional ops (F.batch_norm, F.prelu, F.adaptive_avg_pool2d,
F.max_pool2d, F.interpolate) in float64 on fixed random inputs and stores
inputs, outputs, updated running statistics and the gradients for a fixed
upstream gradient in tests/data/psp_ops_golden.bin (safetensors layout).

Usage: /usr/bin/python3 tools/make_psp_ops_golden.py [out.bin]
"""
import os

import interrupts  # noqa: E402  (standard library only)
if __name__ == "__main__":
    interrupts.die_by_signals()  # Ctrl-C, SIGTERM: no traceback, exit status 128 + signal
import pydeps  # noqa: E402  (standard library only: one line, not a traceback, without PyTorch)
if __name__ == "__main__":  # the command line first: --help and a bad flag need neither NumPy nor PyTorch
    OUT = pydeps.output_file(__doc__, os.path.join(os.path.dirname(__file__), "..", "tests", "data",
                                                   "psp_ops_golden.bin"))

pydeps.require("make_psp_ops_golden", "numpy", "torch")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from golden_io import write_safetensors  # noqa: E402


def main(out):
    g = torch.Generator().manual_seed(15)
    rnd = lambda *s: torch.randn(*s, generator=g, dtype=torch.float64)  # noqa: E731
    t = {}

    def grads(prefix, y, inputs):
        gy = rnd(*y.shape)
        gs = torch.autograd.grad(y, [v for _, v in inputs], gy)
        t[prefix + ".y"] = y.detach()
        t[prefix + ".gy"] = gy
        for (name, _), gv in zip(inputs, gs):
            t[prefix + ".g" + name] = gv

    # Batch norm: a channel offset so the mean matters, non-trivial running stats.
    for name, shape in (("bn2d", (3, 4, 5, 6)), ("bn1d", (6, 5)), ("bn1d3", (4, 3, 7))):
        C = shape[1]
        view = (1, C) + (1,) * (len(shape) - 2)
        x = (rnd(*shape) * 2 + torch.arange(C, dtype=torch.float64).reshape(view) * 3).requires_grad_()
        w = (rnd(C) * 0.5 + 1).requires_grad_()
        b = rnd(C).requires_grad_()
        rm0, rv0 = rnd(C), rnd(C).abs() + 0.5
        t[name + ".x"], t[name + ".w"], t[name + ".b"] = x.detach(), w.detach(), b.detach()
        t[name + ".rm0"], t[name + ".rv0"] = rm0, rv0
        for mode in ("train", "eval"):
            rm, rv = rm0.clone(), rv0.clone()
            y = F.batch_norm(x, rm, rv, w, b, training=mode == "train", momentum=0.1, eps=1e-5)
            grads(f"{name}.{mode}", y, [("x", x), ("w", w), ("b", b)])
            t[f"{name}.{mode}.rm"], t[f"{name}.{mode}.rv"] = rm, rv
        # affine=False, no running stats (ArcFace's last BatchNorm1d is affine=False).
        y = F.batch_norm(x, None, None, None, None, training=True, momentum=0.1, eps=1e-5)
        grads(f"{name}.plain", y, [("x", x)])

    x = rnd(2, 3, 4, 5).requires_grad_()
    a = (rnd(3) * 0.3).requires_grad_()
    t["prelu.x"], t["prelu.a"] = x.detach(), a.detach()
    grads("prelu", F.prelu(x, a), [("x", x), ("a", a)])

    for name, shape, size in (("aap_16_7", (2, 3, 16, 16), (7, 7)), ("aap_11x13_5x4", (1, 2, 11, 13), (5, 4)),
                              ("aap_47_28", (1, 1, 47, 47), (28, 28)), ("aap_6_1", (2, 4, 6, 6), (1, 1)),
                              ("aap_5_8", (1, 2, 5, 5), (8, 8))):
        x = rnd(*shape).requires_grad_()
        t[name + ".x"] = x.detach()
        grads(name, F.adaptive_avg_pool2d(x, size), [("x", x)])

    for name, shape, k, s, p in (("mp_3s2p1", (2, 3, 9, 10), 3, 2, 1), ("mp_3s2p0", (1, 2, 8, 7), 3, 2, 0),
                                 ("mp_1s2", (2, 3, 7, 8), 1, 2, 0), ("mp_2s2", (1, 2, 6, 6), 2, 2, 0)):
        x = rnd(*shape).requires_grad_()
        t[name + ".x"] = x.detach()
        grads(name, F.max_pool2d(x, k, s, p), [("x", x)])

    for align in (True, False):
        for name, shape, size in (("up", (2, 3, 5, 7), (9, 13)), ("down", (1, 2, 9, 8), (4, 3)),
                                  ("x2", (1, 2, 4, 4), (8, 8)), ("one", (1, 1, 3, 5), (1, 2))):
            key = f"rs_{name}_{'ac' if align else 'hp'}"
            x = rnd(*shape).requires_grad_()
            t[key + ".x"] = x.detach()
            grads(key, F.interpolate(x, size=size, mode="bilinear", align_corners=align), [("x", x)])

    n = write_safetensors(out, t, {"generator": "tools/make_psp_ops_golden.py", "torch": torch.__version__})
    print(f"wrote {len(t)} tensors, {n} bytes to {out}")


if __name__ == "__main__":
    main(OUT)
