#!/usr/bin/python3
"""A PyTorch reference of StyleGAN2-ADA's projector.py (its project(): the
optimization of w and of the noise buffers), written from its semantics over
the reference networks of tools/reference/stylegan2_reference.py and
tools/reference/vgg16_reference.py, for tests/cli/projector.cmake.

It replays the draws a ganforge run recorded (build/bin/projector
--record-draws DIR: DIR/draws-mb*.bin, names as train/stylegan2/projector.h
lists them: "mb0/z" the w_avg samples (which must be the official
RandomState(123) draws), "mb0/noise/<buffer>" the initial
noise, "mb<k>/w_noise" step k's unit normal w noise), takes the target the run
wrote (target.png: the Lanczos resize has its own golden test), runs the same
number of steps, and compares with the run's DIR/trace.bin: every step's w,
dist and loss, and the final noise buffers. Exit status 0 when every value
agrees to --rtol (relative to the largest magnitude of its tensor), or, in
a float64 run, to 10 times the distance of the same loop in float32 from it
and at most 1e-3 (float32 rounding grows over Adam's first steps), 1 with a
line per tensor otherwise.

The loop, as the official one: w_avg and w_std from the z samples through the
mapping (first w row); Adam(betas 0.9, 0.999, eps 1e-8) over w_opt and the
noise buffers; per step t = k / num_steps, lr = 0.1 * (0.5 - 0.5 cos(pi
min(1, (1 - t) / 0.25))) * min(1, t / 0.05), w noise scale w_std * 0.05 *
max(0, 1 - t / 0.75)^2; synthesis of (w_opt + w_noise) repeated num_ws
times, noise mode const, (x + 1) * 255 / 2, area-resized to 256 when larger;
dist = squared distance of the LPIPS embeddings; noise regularization
(rolled products, 2x2 average pooling down to 8) weighted 1e5; Adam step;
then each buffer recentred and scaled to unit RMS. A 1-channel generator's
images are repeated to 3 channels for the VGG (ganforge's extension).

--write-thin-vgg16 OUT.bin instead writes a VGG16 file of random weights at
widths / 16 (torch's default initialization from seed 0, lin weights made
non-negative), the thin network the projector's tests run with;
--write-test-generator OUT.bin a random RGB generator of 512x512 with 2 to 4
channels a layer (seed 0, noise strengths drawn too), whose images the
projector area-downsamples to 256 before the VGG.

Usage: /usr/bin/python3 tools/reference/projector_reference.py --network G.bin
       --vgg16 VGG.bin --draws DIR --target DIR/target.png [--dtype float64] [--rtol 1e-4]
       /usr/bin/python3 tools/reference/projector_reference.py --write-thin-vgg16 OUT.bin
       /usr/bin/python3 tools/reference/projector_reference.py --write-test-generator OUT.bin
"""
import argparse
import glob
import json
import math
import os
import sys

TOOLS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # tools/: the shared helpers
sys.path[:0] = [os.path.dirname(os.path.abspath(__file__)), TOOLS, os.path.join(TOOLS, "reference")]
import interrupts  # noqa: E402  (standard library only)
if __name__ == "__main__":
    interrupts.die_by_signals()  # Ctrl-C, SIGTERM: no traceback, exit status 128 + signal
import pydeps  # noqa: E402  (standard library only: one line, not a traceback, without PyTorch)
pydeps.require("projector_reference", "numpy", "torch", "PIL")

import numpy as np  # noqa: E402
import PIL.Image  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import stylegan2_reference as ref  # noqa: E402
import vgg16_reference  # noqa: E402
from golden_io import read_safetensors, write_safetensors  # noqa: E402


def load_generator(path, dtype):
    """A ganforge StyleGAN2 generator file (standalone, or a bundle's G_ema)."""
    tensors, meta = read_safetensors(path)
    kwargs = json.loads(meta["G_kwargs"])
    G = ref.Generator(**kwargs)
    if any(k.startswith("G_ema.") for k in tensors):
        tensors = {k[len("G_ema."):]: v for k, v in tensors.items() if k.startswith("G_ema.")}
    G.load_state_dict(tensors)
    return G.to(dtype).eval().requires_grad_(False)


def load_vgg16(path, dtype):
    """A ganforge VGG16 file (models/perceptual/vgg16.h) as the reference
    network; classifier.6, which the file does not keep, stays random and unused."""
    tensors, meta = read_safetensors(path)
    d = json.loads(meta.get("vgg16_kwargs", "{}")).get("width_divisor", 1)
    net = vgg16_reference.Vgg16Reference(d)
    missing, unexpected = net.load_state_dict(tensors, strict=False)
    assert not unexpected and all(n.startswith("classifier.6.") for n in missing), (missing, unexpected)
    return net.to(dtype).eval().requires_grad_(False)


def write_thin_vgg16(path):
    torch.manual_seed(0)
    net = vgg16_reference.Vgg16Reference(16)
    state = {n: t.detach().to(torch.float32) for n, t in net.state_dict().items() if not n.startswith("classifier.6.")}
    for n in state:
        if n.startswith("lin"):
            state[n] = state[n].abs()
    write_safetensors(path, state, {"perceptual": "vgg16", "vgg16_kwargs": json.dumps({"width_divisor": 16})})


def write_test_generator(path):
    torch.manual_seed(0)
    kwargs = {"z_dim": 8, "c_dim": 0, "w_dim": 8, "img_resolution": 512, "img_channels": 3, "mapping_layers": 2,
              "mapping_lr_multiplier": 0.01, "w_avg_beta": 0.995, "channel_base": 2048, "channel_max": 4,
              "conv_clamp": 256.0, "use_noise": True}
    G = ref.Generator(**kwargs)
    state = G.state_dict()
    for n in state:
        if n.endswith("noise_strength"):
            state[n] = torch.rand([]) * 0.5
        if n.endswith("w_avg"):
            state[n] = torch.randn(state[n].shape) * 0.1
    write_safetensors(path, {n: t.to(torch.float32) for n, t in state.items()},
                      {"G_kwargs": json.dumps(kwargs), "network": "G_ema"})


def read_draws(folder):
    draws = {}
    for f in sorted(glob.glob(os.path.join(folder, "draws-mb*.bin"))):
        draws.update(read_safetensors(f)[0])
    return draws


def noise_regularization(v):
    noise = v[None, None, :, :]
    reg = 0.0
    while True:
        reg += (noise * torch.roll(noise, shifts=1, dims=3)).mean() ** 2
        reg += (noise * torch.roll(noise, shifts=1, dims=2)).mean() ** 2
        if noise.shape[2] <= 8:
            break
        noise = F.avg_pool2d(noise, kernel_size=2)
    return reg


F32_FACTOR, F32_CEILING = 10, 1e-3


def project(G, lpips, target, draws, num_steps, dtype, nudge=0.0):
    """target [C, H, W] 0..255; lpips(images [N, 3, H, W] 0..255) -> [N, F];
    nudge +-inf: each step's w + noise one ulp of dtype toward it, every entry
    (a rounding's worth of change at every step, as another order of the same
    float32 operations makes: a sample of how far the steps carry it).
    -> dict of w_steps [num_steps, w_dim], dist, loss, noise/<name>."""
    # The official w_avg samples, drawn here as projector.py draws them; the
    # run's must be these (its other draws, torch's there, are replayed).
    z = torch.from_numpy(np.random.RandomState(123).randn(*draws["mb0/z"].shape)).float()
    if not torch.equal(z, draws["mb0/z"].float()):
        raise SystemExit("projector_reference: the run's w_avg samples are not RandomState(123).randn's")
    z = z.to(dtype)
    w_samples = G.mapping(z, None)[:, :1, :]
    w_avg = w_samples.mean(0, keepdim=True)
    w_std = float(((w_samples - w_avg) ** 2).sum() / z.shape[0]) ** 0.5

    noise_bufs = {name: buf for name, buf in G.synthesis.named_buffers() if "noise_const" in name}

    def vgg_input(x):
        if x.shape[2] > 256:
            x = F.interpolate(x, size=(256, 256), mode="area")
        return x.repeat([1, 3, 1, 1]) if x.shape[1] == 1 else x

    target_features = lpips(vgg_input(target.unsqueeze(0).to(dtype)))
    w_opt = w_avg.detach().clone().to(torch.float32).to(dtype).requires_grad_(True)
    optimizer = torch.optim.Adam([w_opt] + list(noise_bufs.values()), betas=(0.9, 0.999), lr=0.1, eps=1e-8)
    for name, buf in noise_bufs.items():
        buf[:] = draws["mb0/noise/" + name].to(dtype)
        buf.requires_grad = True

    out = {"w_steps": [], "dist": [], "loss": []}
    for step in range(num_steps):
        t = step / num_steps
        w_noise_scale = w_std * 0.05 * max(0.0, 1.0 - t / 0.75) ** 2
        lr_ramp = min(1.0, (1.0 - t) / 0.25)
        lr_ramp = 0.5 - 0.5 * math.cos(lr_ramp * math.pi)
        lr_ramp = lr_ramp * min(1.0, t / 0.05)
        for group in optimizer.param_groups:
            group["lr"] = 0.1 * lr_ramp

        w_noise = draws[f"mb{step}/w_noise"].to(dtype) * w_noise_scale
        w = w_opt + w_noise
        if nudge:  # the value moved, the gradient as w's (nextafter has none); the difference is exact
            w = w + (torch.nextafter(w.detach(), torch.full_like(w, nudge)) - w.detach())
        ws = w.repeat([1, G.mapping.num_ws, 1])
        synth = (G.synthesis(ws, noise_mode="const") + 1) * (255 / 2)
        dist = (target_features - lpips(vgg_input(synth))).square().sum()
        reg = sum(noise_regularization(v) for v in noise_bufs.values())
        loss = dist + reg * 1e5

        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        out["dist"].append(float(dist))
        out["loss"].append(float(loss))
        out["w_steps"].append(w_opt.detach()[0, 0].clone())
        with torch.no_grad():
            for buf in noise_bufs.values():
                buf -= buf.mean()
                buf *= buf.square().mean().rsqrt()
    res = {"w_steps": torch.stack(out["w_steps"]), "dist": torch.tensor(out["dist"], dtype=torch.float64),
           "loss": torch.tensor(out["loss"], dtype=torch.float64)}
    for name, buf in noise_bufs.items():
        res["noise/" + name] = buf.detach().clone()
    return res


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--network")
    p.add_argument("--vgg16")
    p.add_argument("--draws", help="the --record-draws folder of a projector run")
    p.add_argument("--target", help="the run's target.png")
    p.add_argument("--write-thin-vgg16", metavar="OUT.bin")
    p.add_argument("--write-test-generator", metavar="OUT.bin")
    p.add_argument("--dtype", default="float64", choices=["float32", "float64"])
    p.add_argument("--rtol", type=float, default=1e-4)
    a = p.parse_args()
    if a.write_thin_vgg16 or a.write_test_generator:
        if a.write_thin_vgg16:
            write_thin_vgg16(a.write_thin_vgg16)
        if a.write_test_generator:
            write_test_generator(a.write_test_generator)
        return
    if not (a.network and a.vgg16 and a.draws and a.target):
        p.error("--network, --vgg16, --draws and --target are required")
    dtype = getattr(torch, a.dtype)
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))

    G = load_generator(a.network, dtype)
    lpips = load_vgg16(a.vgg16, dtype).lpips_embedding
    img = np.asarray(PIL.Image.open(a.target))
    img = img[:, :, None] if img.ndim == 2 else img
    target = torch.from_numpy(img.transpose(2, 0, 1).astype(np.float64))
    trace = read_safetensors(os.path.join(a.draws, "trace.bin"))[0]
    num_steps = trace["w_steps"].shape[0]
    draws = read_draws(a.draws)
    got = project(G, lpips, target, draws, num_steps, dtype)
    # Adam's first steps divide each gradient by its own magnitude, so the
    # rounding of any float32 run grows over the steps (a w entry whose
    # gradient is near 0 moves by lr either way): the reference in float32
    # measures that growth, and a ganforge float32 tensor past --rtol passes
    # within F32_FACTOR times the float32 reference's own distance from float64
    # and under F32_CEILING. The float32 distance is itself chaotic (1e-4 here,
    # but 0.16 once a constant of the loop changes: it cannot bound alone), so
    # the ceiling decides: float32 rounding moved w by 1e-4 to 3e-4 of its
    # largest value in the 5-step test; w_std over N - 1 instead of N by 3e-3,
    # a noise ramp 1-6% off or the noise factor 2% off by 0.1-0.3. The float32
    # reference runs torch's operations in float64's order, so alone it
    # samples less of that chaos than another order makes (7.9e-6 on one
    # machine, where ganforge's own was 1.1e-4): the largest distance of it
    # and of two runs with each step's w + noise one ulp up and down (4.1e-4
    # there). Ten times that passes the ceiling: a w past 1e-4 is held to 1e-3.
    runs32 = []
    if dtype == torch.float64:
        lpips32 = load_vgg16(a.vgg16, torch.float32).lpips_embedding
        # A generator each: a run makes its noise buffers leaves that require grad.
        runs32 = [project(load_generator(a.network, torch.float32), lpips32, target, draws, num_steps, torch.float32,
                          nudge) for nudge in (0.0, math.inf, -math.inf)]

    bad = 0
    for name, want in sorted(got.items()):
        have = trace[name].to(torch.float64)
        want = want.to(torch.float64)
        scale = float(want.abs().max()) or 1.0
        err = float((have - want).abs().max()) / scale
        err32 = max(float((r[name].to(torch.float64) - want).abs().max()) / scale for r in runs32) if runs32 else 0.0
        ok = have.shape == want.shape and (err <= a.rtol or err <= min(F32_FACTOR * err32, F32_CEILING))
        bad += not ok
        print(f"{'ok ' if ok else 'BAD'} {name:32s} max |ganforge - reference| / max |reference| = {err:.2e}"
              + (f" (float32 reference: {err32:.2e})" if runs32 else ""))
    print(f"projector_reference: {num_steps} steps, {len(got) - bad} of {len(got)} tensors within {a.rtol:g}"
          + (f" or {F32_FACTOR}x float32's own distance up to {F32_CEILING:g}" if runs32 else ""))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
