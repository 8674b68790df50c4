#!/usr/bin/python3
"""Expected outputs of StyleGAN2-ADA's VGG16 for tests/test_vgg16.cpp, from
tools/vgg16_reference.py.

Weights: vgg16_reference.hashed_state_dict (the C++ test forms the same
floats); images: inception_reference.hashed_images (integer pixels). Per
network (the real widths, "full"; widths / 8, "thin") and case it stores
the LPIPS embedding, the LPIPS distance of a pair computed the LPIPS way,
and the fc2 features, computed in float64 from the float32 weights and
stored as float32 (the test's tolerance is 1e-4), and in the metadata the
full network's state-dict names and shapes (without classifier.6, which
the converter drops), in tests/data/vgg16_golden.bin (safetensors layout).
Also checks, in float64, that the embedding's squared distance is the LPIPS
distance, and, where torchvision is installed, that the reference's VGG is
torchvision's vgg16 (names, shapes, features).

Usage: /usr/bin/python3 tools/make_vgg16_fixtures.py [out.bin]
"""
import json
import os

import interrupts  # noqa: E402  (standard library only)
if __name__ == "__main__":
    interrupts.die_by_signals()  # Ctrl-C, SIGTERM: no traceback, exit status 128 + signal
import pydeps  # noqa: E402  (standard library only: one line, not a traceback, without PyTorch)
pydeps.require("make_vgg16_fixtures", "numpy", "torch")

import torch  # noqa: E402

from golden_io import write_safetensors  # noqa: E402
from inception_reference import hashed_images  # noqa: E402
from vgg16_reference import Vgg16Reference, hashed_state_dict, same_as_torchvision  # noqa: E402

# (network, width_divisor, embedding case, features case): the full network
# on one small image (its embedding alone is 31232 values), the thin one on
# a pair and on a downscale.
CASES = (("full", 1, ("pair16", [2, 3, 16, 16]), ("rect20x24", [1, 3, 20, 24])),
         ("thin", 8, ("pair24x20", [2, 3, 24, 20]), ("down300x260", [2, 3, 300, 260])))


def main():
    out = pydeps.output_file(__doc__, os.path.join(os.path.dirname(__file__), "..", "tests", "data",
                                                   "vgg16_golden.bin"))
    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    t, meta = {}, {"generator": "tools/make_vgg16_fixtures.py", "torch": torch.__version__}
    for net_name, divisor, (emb_case, emb_shape), (feat_case, feat_shape) in CASES:
        net = Vgg16Reference(divisor)
        net.load_state_dict(hashed_state_dict(net))
        if divisor == 1:
            meta["state_dict"] = json.dumps([[k, list(v.shape)] for k, v in net.state_dict().items()
                                             if not k.startswith("classifier.6.")])
        net.double()
        with torch.no_grad():
            img = hashed_images(emb_case, emb_shape).double()
            e = net.lpips_embedding(img)
            d = net.lpips_distance(img[:1], img[1:])
            de = (e[:1] - e[1:]).square().sum(1)
            err = ((de - d).abs() / d).max().item()
            assert err < 1e-12, f"{net_name}: the embedding's squared distance is off LPIPS by {err:.1e}"
            f = net.fc2_features(hashed_images(feat_case, feat_shape).double())
        if divisor == 1:
            tv = same_as_torchvision(net, hashed_images(feat_case, feat_shape))
            print("torchvision: not installed, layout not cross-checked" if tv is None else
                  f"torchvision's vgg16 with these weights: same names and shapes, features relative error {tv:.1e}")
            assert tv is None or tv < 1e-12
        key = f"{net_name}.{emb_case}"
        # The full network's first image only: the second is in the distance.
        t[key + ".embedding"] = (e[:1] if divisor == 1 else e).float()
        t[key + ".distance"] = d.float()
        t[f"{net_name}.{feat_case}.features"] = f.float()
        print(f"{net_name}: embedding {list(e.shape)}, LPIPS {d.item():.6f} (embedding: relative error {err:.1e}), "
              f"features {list(f.shape)} max {f.abs().max().item():.3f}")
    n = write_safetensors(out, t, meta)
    print(f"wrote {len(t)} tensors, {n} bytes to {out}")


if __name__ == "__main__":
    main()
