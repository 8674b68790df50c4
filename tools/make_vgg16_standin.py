#!/usr/bin/python3
"""A stand-in for the files StyleGAN2-ADA's VGG16 is converted from
(torchvision's vgg16-397923af.pth and LPIPS's vgg.pth), which nothing here
can download: tools/vgg16_reference.py's network at widths / 16 with the
hashed weights tests/test_vgg16.cpp checks the C++ network on, written by
torch.save as the two state dicts. The tests convert them with
tools/convert_weights.py import --format vgg16 --lpips and run pr50k3 and
the PPLs on the result; its values mean nothing.

Run from the repository root:
/usr/bin/python3 tools/make_vgg16_standin.py VGG16_OUT.pth LPIPS_OUT.pth
"""
import collections
import io
import sys

import interrupts  # noqa: E402  (standard library only)
if __name__ == "__main__":
    interrupts.die_by_signals()
import pydeps  # noqa: E402
pydeps.require("make_vgg16_standin", "numpy", "torch")

import torch  # noqa: E402

from golden_io import write_atomically  # noqa: E402
from vgg16_reference import Vgg16Reference, hashed_state_dict  # noqa: E402

WIDTH_DIVISOR = 16


def saved(state):
    buf = io.BytesIO()
    torch.save(state, buf)
    return buf.getvalue()


def main():
    if len(sys.argv) != 3 or sys.argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        sys.exit(0 if len(sys.argv) == 2 else 2)
    net = Vgg16Reference(WIDTH_DIVISOR)
    state = hashed_state_dict(net)
    vgg = collections.OrderedDict((k, v) for k, v in state.items() if not k.startswith("lin"))
    lin = collections.OrderedDict((k, v) for k, v in state.items() if k.startswith("lin"))
    write_atomically(sys.argv[1], [saved(vgg)])
    write_atomically(sys.argv[2], [saved(lin)])


if __name__ == "__main__":
    main()
