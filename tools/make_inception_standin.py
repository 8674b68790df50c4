#!/usr/bin/python3
"""A stand-in for the official FID/IS detector inception-2015-12-05.pt, which
nothing here can download: tools/inception_reference.py's network (the
official state-dict names) with the hashed weights tests/test_inception.cpp
checks the C++ network on, scripted and written by torch.jit.save as the
official file is. The tests convert it with tools/convert_weights.py and run
the metrics programs on the result; it gives no meaningful FID.

Run from the repository root: /usr/bin/python3 tools/make_inception_standin.py [out.pt]
"""
import io

import interrupts  # noqa: E402  (standard library only)
if __name__ == "__main__":
    interrupts.die_by_signals()
import pydeps  # noqa: E402
pydeps.require("make_inception_standin", "numpy", "torch")

import torch  # noqa: E402

from golden_io import write_atomically  # noqa: E402
from inception_reference import InceptionReference, hashed_state_dict  # noqa: E402


def main():
    out = pydeps.output_file(__doc__, "inception-2015-12-05-standin.pt")
    net = InceptionReference().eval()
    net.load_state_dict(hashed_state_dict(net))
    archive = io.BytesIO()
    torch.jit.save(torch.jit.script(net), archive)
    write_atomically(out, [archive.getvalue()])  # as every golden-data script writes


if __name__ == "__main__":
    main()
