#!/usr/bin/python3
"""Golden values for modulated_conv2d.

Transcribes the official StyleGAN2-ADA training/networks.py `modulated_conv2d`
(without noise and without the float16 pre-normalization), with
torch_utils/ops/conv2d_resample.py `conv2d_resample` and
torch_utils/ops/upfirdn2d.py `_upfirdn2d_ref`, in PyTorch. Runs both the fused
(grouped conv) and the unfused path in float64 on fixed random inputs, checks
they agree, and stores inputs, output and the gradients of x, weight and
styles for a fixed upstream gradient in tests/data/modconv_golden.bin
(safetensors layout, written with struct + json).

Usage: /usr/bin/python3 tools/make_modconv_golden.py [out.bin]
"""
import os

import interrupts  # noqa: E402  (standard library only)
if __name__ == "__main__":
    interrupts.die_by_signals()  # Ctrl-C, SIGTERM: no traceback, exit status 128 + signal
import pydeps  # noqa: E402  (standard library only: one line, not a traceback, without PyTorch)
if __name__ == "__main__":  # the command line first: --help and a bad flag need neither NumPy nor PyTorch
    OUT = pydeps.output_file(__doc__, os.path.join(os.path.dirname(__file__), "..", "tests", "data", "modconv_golden.bin"))

pydeps.require("make_modconv_golden", "numpy", "torch")

import torch
import torch.nn.functional as F

from golden_io import write_safetensors
from stylegan2_reference import upfirdn2d as upfirdn2d_ref


def _conv2d_wrapper(x, w, stride=1, padding=0, groups=1, transpose=False, flip_weight=True):
    if not flip_weight:
        w = w.flip([2, 3])
    op = F.conv_transpose2d if transpose else F.conv2d
    return op(x, w, stride=stride, padding=padding, groups=groups)


def conv2d_resample(x, w, f=None, up=1, down=1, padding=0, groups=1, flip_weight=True, flip_filter=False):
    out_channels, in_channels_per_group, kh, kw = w.shape
    fw, fh = (1, 1) if f is None else (f.shape[-1], f.shape[0])
    px0 = px1 = py0 = py1 = padding
    if up > 1:
        px0 += (fw + up - 1) // 2
        px1 += (fw - up) // 2
        py0 += (fh + up - 1) // 2
        py1 += (fh - up) // 2
    if down > 1:
        px0 += (fw - down + 1) // 2
        px1 += (fw - down) // 2
        py0 += (fh - down + 1) // 2
        py1 += (fh - down) // 2
    if kw == 1 and kh == 1 and (down > 1 and up == 1):
        x = upfirdn2d_ref(x, f, down=down, pad=[px0, px1, py0, py1], flip_filter=flip_filter)
        return _conv2d_wrapper(x, w, groups=groups, flip_weight=flip_weight)
    if kw == 1 and kh == 1 and (up > 1 and down == 1):
        x = _conv2d_wrapper(x, w, groups=groups, flip_weight=flip_weight)
        return upfirdn2d_ref(x, f, up=up, pad=[px0, px1, py0, py1], gain=up ** 2, flip_filter=flip_filter)
    if down > 1 and up == 1:
        x = upfirdn2d_ref(x, f, pad=[px0, px1, py0, py1], flip_filter=flip_filter)
        return _conv2d_wrapper(x, w, stride=down, groups=groups, flip_weight=flip_weight)
    if up > 1:
        if groups == 1:
            w = w.transpose(0, 1)
        else:
            w = w.reshape(groups, out_channels // groups, in_channels_per_group, kh, kw)
            w = w.transpose(1, 2)
            w = w.reshape(groups * in_channels_per_group, out_channels // groups, kh, kw)
        px0 -= kw - 1
        px1 -= kw - up
        py0 -= kh - 1
        py1 -= kh - up
        pxt = max(min(-px0, -px1), 0)
        pyt = max(min(-py0, -py1), 0)
        x = _conv2d_wrapper(x, w, stride=up, padding=[pyt, pxt], groups=groups, transpose=True,
                            flip_weight=(not flip_weight))
        x = upfirdn2d_ref(x, f, pad=[px0 + pxt, px1 + pxt, py0 + pyt, py1 + pyt], gain=up ** 2,
                          flip_filter=flip_filter)
        if down > 1:
            x = upfirdn2d_ref(x, f, down=down, flip_filter=flip_filter)
        return x
    if up == 1 and down == 1:
        if px0 == px1 and py0 == py1 and px0 >= 0 and py0 >= 0:
            return _conv2d_wrapper(x, w, padding=[py0, px0], groups=groups, flip_weight=flip_weight)
    x = upfirdn2d_ref(x, (f if up > 1 else None), up=up, pad=[px0, px1, py0, py1], gain=up ** 2,
                      flip_filter=flip_filter)
    x = _conv2d_wrapper(x, w, groups=groups, flip_weight=flip_weight)
    if down > 1:
        x = upfirdn2d_ref(x, f, down=down, flip_filter=flip_filter)
    return x


def modulated_conv2d(x, weight, styles, up=1, down=1, padding=0, resample_filter=None, demodulate=True,
                     flip_weight=True, fused_modconv=True):
    batch_size = x.shape[0]
    out_channels, in_channels, kh, kw = weight.shape
    w = None
    dcoefs = None
    if demodulate or fused_modconv:
        w = weight.unsqueeze(0)
        w = w * styles.reshape(batch_size, 1, -1, 1, 1)
    if demodulate:
        dcoefs = (w.square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt()
    if demodulate and fused_modconv:
        w = w * dcoefs.reshape(batch_size, -1, 1, 1, 1)
    if not fused_modconv:
        x = x * styles.reshape(batch_size, -1, 1, 1)
        x = conv2d_resample(x, weight, f=resample_filter, up=up, down=down, padding=padding, flip_weight=flip_weight)
        if demodulate:
            x = x * dcoefs.reshape(batch_size, -1, 1, 1)
        return x
    x = x.reshape(1, -1, *x.shape[2:])
    w = w.reshape(-1, in_channels, kh, kw)
    x = conv2d_resample(x, w, f=resample_filter, up=up, down=down, padding=padding, groups=batch_size,
                        flip_weight=flip_weight)
    return x.reshape(batch_size, -1, *x.shape[2:])


def main(out):
    torch.manual_seed(2024)
    d = torch.float64
    k = torch.tensor([1.0, 3.0, 3.0, 1.0], dtype=d)
    f = torch.outer(k, k)
    f = f / f.sum()
    tensors = {"f": f}
    # name: (N, Cin, Cout, H, W, kernel, up, down, padding, demodulate, flip_weight)
    cases = {
        "up1_k3": (2, 3, 4, 5, 6, 3, 1, 1, 1, True, True),
        "up2_k3": (2, 3, 4, 5, 5, 3, 2, 1, 1, True, True),
        "down2_k3": (2, 3, 4, 6, 6, 3, 1, 2, 1, True, True),
        "up2_k3_noflip": (1, 3, 2, 4, 5, 3, 2, 1, 1, False, False),
        "up1_k1_nodemod": (2, 3, 3, 5, 5, 1, 1, 1, 0, False, True),
        "up2_k1": (2, 3, 4, 4, 4, 1, 2, 1, 0, True, True),
        "down2_k1": (2, 3, 4, 6, 6, 1, 1, 2, 0, True, True),
        "crop_k3": (2, 3, 2, 6, 6, 3, 1, 1, -1, True, True),
    }
    for name, (n, cin, cout, h, w_, ks, up, down, pad, demod, flip) in cases.items():
        x = torch.randn(n, cin, h, w_, dtype=d, requires_grad=True)
        weight = torch.randn(cout, cin, ks, ks, dtype=d, requires_grad=True)
        styles = (torch.randn(n, cin, dtype=d) + 1).requires_grad_()
        kw = dict(up=up, down=down, padding=pad, resample_filter=f, demodulate=demod, flip_weight=flip)
        y = modulated_conv2d(x, weight, styles, fused_modconv=True, **kw)
        y_unfused = modulated_conv2d(x, weight, styles, fused_modconv=False, **kw)
        assert torch.allclose(y, y_unfused, rtol=1e-10, atol=1e-12), name
        gy = torch.randn_like(y)
        gx, gw, gs = torch.autograd.grad(y, [x, weight, styles], gy)
        for key, t in {"x": x, "weight": weight, "styles": styles, "y": y, "gy": gy, "gx": gx, "gweight": gw,
                       "gstyles": gs}.items():
            tensors[f"{name}.{key}"] = t.detach()

    size = write_safetensors(out, tensors, {"source": "tools/make_modconv_golden.py", "torch": torch.__version__})
    print(f"wrote {out}: {len(tensors)} tensors, {size} bytes")


if __name__ == "__main__":
    main(OUT)
