#!/usr/bin/python3
"""Golden values for bias_act, noise injection and AdaIN, from PyTorch.

bias_act follows the official StyleGAN2-ADA reference (_bias_act_ref in
torch_utils/ops/bias_act.py); AdaIN is StyleGAN1's instance norm followed by
the style; noise injection is StyleGAN's x + strength * noise. Each case
stores its inputs, its output and the gradients of sum(y * gy) for a fixed
upstream gradient gy, in float64, to tests/data/gan_golden_b.bin
(safetensors layout). Run: /usr/bin/python3 tools/make_gan_golden_b.py [out.bin]
"""
import math
import os

import interrupts  # noqa: E402  (standard library only)
if __name__ == "__main__":
    interrupts.die_by_signals()  # Ctrl-C, SIGTERM: no traceback, exit status 128 + signal
import pydeps  # noqa: E402  (standard library only: one line, not a traceback, without PyTorch)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "gan_golden_b.bin")
if __name__ == "__main__":  # the command line first: --help and a bad flag need no PyTorch
    OUT = pydeps.output_file(__doc__, OUT)
pydeps.require("make_gan_golden_b", "numpy", "torch")

import torch

from golden_io import write_safetensors

torch.manual_seed(0)
F = torch.nn.functional

# Default gains as the ganforge issue specifies them: sqrt(2) for relu and
# lrelu, 1 otherwise (the official table also gives swish sqrt(2)).
ACTS = {
    'linear':   (lambda x, a: x,                    0.0, 1.0),
    'relu':     (lambda x, a: F.relu(x),            0.0, math.sqrt(2)),
    'lrelu':    (lambda x, a: F.leaky_relu(x, a),   0.2, math.sqrt(2)),
    'tanh':     (lambda x, a: torch.tanh(x),        0.0, 1.0),
    'sigmoid':  (lambda x, a: torch.sigmoid(x),     0.0, 1.0),
    'elu':      (lambda x, a: F.elu(x),             0.0, 1.0),
    'selu':     (lambda x, a: F.selu(x),            0.0, 1.0),
    'softplus': (lambda x, a: F.softplus(x),        0.0, 1.0),
    'swish':    (lambda x, a: torch.sigmoid(x) * x, 0.0, 1.0),
}


def bias_act_ref(x, b, dim, act, alpha=None, gain=None, clamp=None):
    """Transcription of the official _bias_act_ref."""
    func, def_alpha, def_gain = ACTS[act]
    alpha = float(alpha if alpha is not None else def_alpha)
    gain = float(gain if gain is not None else def_gain)
    clamp = float(clamp if clamp is not None else -1)
    if b is not None:
        x = x + b.reshape([-1 if i == dim else 1 for i in range(x.ndim)])
    x = func(x, alpha)
    if gain != 1:
        x = x * gain
    if clamp >= 0:
        x = x.clamp(-clamp, clamp)
    return x


def instance_norm(x, eps=1e-8):
    """StyleGAN1's instance_norm: subtract the mean, then scale by rsqrt(mean(x^2) + eps)."""
    x = x - x.mean(dim=[2, 3], keepdim=True)
    return x * torch.rsqrt(x.square().mean(dim=[2, 3], keepdim=True) + eps)


def adain_ref(x, ys, yb):
    return ys[:, :, None, None] * instance_norm(x) + yb[:, :, None, None]


out = {}


def leaf(name, shape, scale=1.0):
    t = (torch.randn(shape, dtype=torch.float64) * scale).requires_grad_()
    out[name] = t.detach()
    return t


def record(prefix, y, inputs):
    """Stores y and the gradients of sum(y * gy) with respect to each named input."""
    gy = torch.randn(y.shape, dtype=torch.float64)
    grads = torch.autograd.grad(y, [t for _, t in inputs], gy)
    out[prefix + '.gy'] = gy
    out[prefix + '.y'] = y.detach()
    for (name, _), g in zip(inputs, grads):
        out[prefix + '.d' + name] = g


# bias_act along dim 1 of NCHW, every activation, without and with clamp.
x = leaf('bias_act.x', [2, 3, 4, 4], 1.5)
b = leaf('bias_act.b', [3])
for act in ACTS:
    for clamp in (None, 0.5):
        y = bias_act_ref(x, b, 1, act, clamp=clamp)
        record(f'bias_act.{act}.{"clamp" if clamp is not None else "noclamp"}', y, [('x', x), ('b', b)])

# Noise injection: scalar strength with [N,1,H,W] noise, per-channel strength,
# and the fused noise + bias + lrelu (gain sqrt(2), clamp) of a StyleGAN2 layer.
nx = leaf('noise.x', [2, 3, 4, 5])
noise = leaf('noise.noise', [2, 1, 4, 5])
s = leaf('noise.strength', [])
sc = leaf('noise.strength_c', [3])
nb = leaf('noise.b', [3])
record('noise.scalar', nx + s * noise, [('x', nx), ('noise', noise), ('strength', s)])
record('noise.channel', nx + sc[None, :, None, None] * noise, [('x', nx), ('noise', noise), ('strength', sc)])
record('noise.fused', bias_act_ref(nx + s * noise, nb, 1, 'lrelu', clamp=1.0),
       [('x', nx), ('noise', noise), ('strength', s), ('b', nb)])

# AdaIN, with an odd plane size.
ax = leaf('adain.x', [2, 3, 5, 3], 2.0)
ys = leaf('adain.ys', [2, 3])
yb = leaf('adain.yb', [2, 3])
record('adain', adain_ref(ax, ys, yb), [('x', ax), ('ys', ys), ('yb', yb)])


path = os.path.normpath(OUT)
write_safetensors(path, out)
print(f'wrote {os.path.normpath(path)}: {len(out)} tensors, {os.path.getsize(path)} bytes')
