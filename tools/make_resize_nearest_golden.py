#!/usr/bin/python3
"""Golden values for resize_nearest (engine/ops/resize.h): torch's
F.interpolate(x, size=(H', W'), mode='nearest') in float32 and float64, on
fixed random inputs: pSp's MoCo loss sizes (256 -> 224 and a small image up to
224, one axis at a time), down, up, twice, the same size, to one pixel and non-square. Stores the
input, the output, a fixed upstream gradient and the input's gradient in
tests/data/resize_nearest_golden.bin (safetensors layout). The float32 cases
matter: torch forms the source index as floor(j * s) with s = float(in) /
float(out) in float, whatever the tensor's dtype.

Usage: /usr/bin/python3 tools/make_resize_nearest_golden.py [out.bin]
"""
import os

import interrupts  # noqa: E402  (standard library only)
if __name__ == "__main__":
    interrupts.die_by_signals()  # Ctrl-C, SIGTERM: no traceback, exit status 128 + signal
import pydeps  # noqa: E402  (standard library only: one line, not a traceback, without PyTorch)
pydeps.require("make_resize_nearest_golden", "numpy", "torch")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from golden_io import write_safetensors  # noqa: E402

# (name, input [N, C, H, W], output (H', W'))
# The axes are independent: the MoCo sizes are checked one axis at a time.
# Where the float product rounds across an integer the index differs from
# exact division (248 -> 224: 6 outputs, 62 -> 224: 1, 2 -> 82: output 41
# reads source 0): those pin the float rule.
CASES = (("moco_w", (1, 2, 3, 256), (2, 224)), ("moco_h", (1, 1, 256, 3), (224, 2)),
         ("moco_up_w", (1, 1, 2, 32), (3, 224)), ("moco_up_h", (1, 1, 32, 2), (224, 3)),
         ("float_248_w", (1, 1, 2, 248), (2, 224)), ("float_62_h", (1, 1, 62, 2), (224, 2)),
         ("float_2_82_w", (1, 1, 1, 2), (1, 82)),
         ("down", (2, 3, 9, 8), (4, 3)), ("up", (1, 2, 5, 7), (9, 13)), ("x2", (1, 1, 6, 6), (12, 12)),
         ("same", (1, 1, 5, 6), (5, 6)), ("one", (1, 1, 3, 5), (1, 2)), ("odd", (1, 1, 13, 11), (31, 29)))


def main():
    out = pydeps.output_file(__doc__, os.path.join(os.path.dirname(__file__), "..", "tests", "data",
                                                   "resize_nearest_golden.bin"))
    g = torch.Generator().manual_seed(224)
    t = {}
    for dtype, suffix in ((torch.float32, "f32"), (torch.float64, "f64")):
        for name, shape, (oh, ow) in CASES:
            x = torch.randn(*shape, generator=g, dtype=dtype).requires_grad_()
            y = F.interpolate(x, size=(oh, ow), mode="nearest")
            gy = torch.randn(*y.shape, generator=g, dtype=dtype)
            (gx,) = torch.autograd.grad(y, [x], gy)
            key = f"nearest_{name}_{suffix}"
            t[key + ".x"], t[key + ".y"], t[key + ".gy"], t[key + ".gx"] = x.detach(), y.detach(), gy, gx
    n = write_safetensors(out, t, {"generator": "tools/make_resize_nearest_golden.py", "torch": torch.__version__})
    print(f"wrote {len(t)} tensors, {n} bytes to {out}")


if __name__ == "__main__":
    main()
