#!/usr/bin/python3
"""Golden values for data/images/image_resize.h: PIL's Image.resize(size,
Image.BILINEAR), which pSp's transforms.Resize((256, 256)) runs on every input,
and Image.resize(size, Image.LANCZOS), which the official projector.py runs on
its target (cases "lanczos_*", drawn after the bilinear ones), Image.BOX
("box_*") and Image.BICUBIC ("bicubic_*", Image.resize's default, with which
pSp's scripts size their side-by-side panels).

Random RGB uint8 images, resized down, up and along one axis, stored as
float32 HWC tensors of the 8-bit values in tests/data/pil_resize_golden.bin.
Needs Pillow (Debian python3-pil) and torch (for the writer).

Usage: /usr/bin/python3 tools/make_pil_resize_golden.py [out.bin]
"""
import os

import interrupts  # noqa: E402  (standard library only)
if __name__ == "__main__":
    interrupts.die_by_signals()  # Ctrl-C, SIGTERM: no traceback, exit status 128 + signal
import pydeps  # noqa: E402  (standard library only: one line, not a traceback, without PyTorch)
if __name__ == "__main__":  # the command line first: --help and a bad flag need neither NumPy nor PyTorch
    OUT = pydeps.output_file(__doc__, os.path.join(os.path.dirname(__file__), "..", "tests", "data",
                                                   "pil_resize_golden.bin"))

pydeps.require("make_pil_resize_golden", "numpy", "torch", "PIL")

import numpy as np  # noqa: E402
import PIL  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from golden_io import write_safetensors  # noqa: E402

CASES = [("down", (49, 31), (16, 16)), ("up", (5, 9), (17, 13)), ("wide", (40, 20), (16, 20)),
         ("tall", (20, 30), (20, 8)), ("odd", (23, 21), (17, 13)), ("same", (8, 8), (8, 8))]
# Lanczos: a square target down to G's resolution, up, and odd ratios (its
# negative lobes make the 8-bit clipping matter).
LANCZOS_CASES = [("lanczos_down", (36, 36), (24, 24)), ("lanczos_up", (7, 7), (32, 32)),
                 ("lanczos_odd", (29, 23), (11, 17)), ("lanczos_strong", (53, 53), (9, 9))]
# Box: whole and fractional reductions (taps on an output's edge), upscaling.
BOX_CASES = [("box_exact", (32, 32), (8, 8)), ("box_down", (37, 23), (16, 16)), ("box_up", (5, 7), (16, 16)),
             ("box_odd", (29, 23), (11, 17))]
# Bicubic (Image.resize's default, pSp's panels): down (antialiased), up to a
# panel, odd ratios (negative lobes: 8-bit clipping). Drawn after the box cases.
BICUBIC_CASES = [("bicubic_down", (96, 96), (21, 21)), ("bicubic_up", (16, 16), (40, 40)),
                 ("bicubic_odd", (29, 23), (11, 17)), ("bicubic_same", (8, 8), (8, 8))]


def main(out):
    rng = np.random.default_rng(15)
    t = {}
    for name, (w, h), (ow, oh) in CASES:
        img = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
        res = np.asarray(Image.fromarray(img).resize((ow, oh), Image.BILINEAR))
        t[name + ".in"] = torch.from_numpy(img.astype(np.float32))
        t[name + ".out"] = torch.from_numpy(res.astype(np.float32))
    for cases, resample in ((LANCZOS_CASES, Image.LANCZOS), (BOX_CASES, Image.BOX), (BICUBIC_CASES, Image.BICUBIC)):
        for name, (w, h), (ow, oh) in cases:
            img = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
            res = np.asarray(Image.fromarray(img).resize((ow, oh), resample))
            t[name + ".in"] = torch.from_numpy(img.astype(np.float32))
            t[name + ".out"] = torch.from_numpy(res.astype(np.float32))
    n = write_safetensors(out, t, {"generator": "tools/make_pil_resize_golden.py", "pillow": PIL.__version__})
    print(f"wrote {len(t)} tensors, {n} bytes to {out}")


if __name__ == "__main__":
    main(OUT)
