#!/usr/bin/python3
"""Expected outputs of the FID/IS Inception-v3 detector for
tests/test_inception.cpp, from tools/inception_reference.py.

For the real widths and a thin copy (widths / 8), the weights are the
deterministic hashed values of inception_reference.hashed_state_dict (the C++
test forms the same floats), the images the hashed integer pixels of
hashed_images: two 32x32, one 48x40 (H x W), one 512x512 (a downscale) and
one 299x299 (no resize). Stores, per network and case, the features
(return_features=True) and the probabilities (no_output_bias=True), computed
in float64 from the float32 weights, and in the metadata the full network's
state-dict names and shapes, in tests/data/inception_golden.bin (safetensors
layout). Also checks that torch.jit.script of the reference runs and agrees.

Usage: /usr/bin/python3 tools/make_inception_fixtures.py [out.bin]
"""
import json
import os

import interrupts  # noqa: E402  (standard library only)
if __name__ == "__main__":
    interrupts.die_by_signals()  # Ctrl-C, SIGTERM: no traceback, exit status 128 + signal
import pydeps  # noqa: E402  (standard library only: one line, not a traceback, without PyTorch)
pydeps.require("make_inception_fixtures", "numpy", "torch")

import torch  # noqa: E402

from golden_io import write_safetensors  # noqa: E402
from inception_reference import InceptionReference, hashed_images, hashed_state_dict  # noqa: E402

CASES = (("pair32", [2, 3, 32, 32]), ("rect48x40", [1, 3, 48, 40]), ("down512", [1, 3, 512, 512]),
         ("exact299", [1, 3, 299, 299]))
NETWORKS = (("full", 1), ("thin", 8))


def main():
    out = pydeps.output_file(__doc__, os.path.join(os.path.dirname(__file__), "..", "tests", "data",
                                                   "inception_golden.bin"))
    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    t, meta = {}, {"generator": "tools/make_inception_fixtures.py", "torch": torch.__version__}
    for net_name, divisor in NETWORKS:
        net = InceptionReference(divisor).eval()
        net.load_state_dict(hashed_state_dict(net))
        if divisor == 1:
            meta["state_dict"] = json.dumps([[k, list(v.shape)] for k, v in net.state_dict().items()])
        scripted = torch.jit.script(net)
        net64 = InceptionReference(divisor).eval()
        net64.load_state_dict(net.state_dict())
        net64.double()
        with torch.no_grad():
            for case, shape in CASES:
                img = hashed_images(case, shape)
                key = f"{net_name}.{case}"
                f = net64(img.double(), return_features=True)
                p = net64(img.double(), no_output_bias=True)
                t[key + ".features"], t[key + ".probabilities"] = f, p
                # The float32 reference and its TorchScript agree with the float64 one.
                f32 = scripted(img, return_features=True)
                err = ((f32.double() - f).abs().max() / f.abs().max()).item()
                assert err < 1e-5, f"{key}: scripted float32 features differ by {err:.2e} (relative to the max)"
                print(f"{key}: features max {f.abs().max().item():.3f}, top probability "
                      f"{p.max().item():.3f}, scripted float32 relative error {err:.1e}")
    n = write_safetensors(out, t, meta)
    print(f"wrote {len(t)} tensors, {n} bytes to {out}")


if __name__ == "__main__":
    main()
