#!/usr/bin/env python3
"""tools/convert_weights.py: rosinality/stylegan2-pytorch checkpoints, checked against rosinality's own
generator and discriminator written here from its model.py.
Run with /usr/bin/python3 (PyTorch); exits 77 when torch is missing."""
import argparse
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # convert_weights_fixture
# First: it exits 77 when torch or NumPy is missing, and puts tools/, tools/reference/ and
# tools/fixtures/ on sys.path.
from convert_weights_fixture import (ConvertWeightsCase, D_CFG, G_CFG, make_nets, nets_from_bin, outputs,  # noqa: E402
                                     run_here, to_rosinality_d, to_rosinality_g)
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import stylegan2_reference as ref  # noqa: E402


class ConvertWeightsTest(ConvertWeightsCase):
    def test_rosinality_checkpoint(self):
        # Rosinality layouts have 3 image channels, no labels, lr_mul 0.01 and mbstd group 4.
        g_cfg = dict(G_CFG, c_dim=0, conv_clamp=None)
        d_cfg = dict(D_CFG, c_dim=0, cmap_dim=0, conv_clamp=None, mbstd_group_size=4, mapping_layers=8)
        nets = make_nets(seed=5, g_cfg=g_cfg, d_cfg=d_cfg)
        ckpt = {"g": to_rosinality_g(nets["G"]), "g_ema": to_rosinality_g(nets["G_ema"]),
                "d": to_rosinality_d(nets["D"]), "latent_avg": nets["G_ema"].mapping.w_avg.clone(),
                "g_optim": {}, "args": argparse.Namespace(size=16, n_mlp=2)}
        src, out = self.path("rosinality.pt"), self.path("r.bin")
        torch.save(ckpt, src)
        r = run_here("import", src, out)
        self.assertEqual(r.returncode, 0, r.stderr)
        got, meta = nets_from_bin(out)
        self.assertEqual(json.loads(meta["G_kwargs"]), g_cfg)
        self.assertEqual(json.loads(meta["D_kwargs"]), d_cfg)
        want_img, want_logits = outputs(nets)
        img, logits = outputs(got)
        self.assertTrue(torch.equal(img, want_img))
        self.assertTrue(torch.equal(logits, want_logits))
        # The converted networks compute what rosinality's own layers compute on
        # its checkpoint (written below from its model.py): no flip or rescale is
        # missing. In float64; the one real difference is where the 1e-8 of the
        # demodulation goes (rosinality adds it after the 1/sqrt(fan_in) scaling),
        # about 1e-8 relative.
        gen = torch.Generator().manual_seed(1)
        z = torch.randn([4, g_cfg["z_dim"]], generator=gen)
        with torch.no_grad():
            img = got["G_ema"].double()(z.double(), None, 0.7, None, "const")
            want = rosinality_g(ckpt["g_ema"], z.double(), 0.7, ckpt["latent_avg"].double())
            self.assertLess((img - want).abs().max().item(), 1e-6 * want.abs().max().item())
            logits = got["D"].double()(want, None)
            want_logits = rosinality_d(ckpt["d"], want)
            self.assertLess((logits - want_logits).abs().max().item(), 1e-6 * want_logits.abs().max().item())
        # A flag for another kind of source is refused, not ignored: this one has latent_avg.
        self.assert_error(run_here("import", src, out, "--w-avg-samples", "2000"),
                          "--w-avg-samples applies to rosinality checkpoints without latent_avg; this is a StyleGAN2 network")
        self.assert_error(run_here("import", src, out, "--psp-arch", "{}"), "--psp-arch applies to pSp checkpoints")
        # Without latent_avg, w_avg is the mapping's mean output.
        del ckpt["latent_avg"], ckpt["g"]
        torch.save(ckpt, src)
        self.assertEqual(run_here("import", src, out, "--w-avg-samples", "2000").returncode, 0)
        got, _ = nets_from_bin(out)
        with torch.no_grad():
            z = torch.randn([20000, g_cfg["z_dim"]], generator=torch.Generator().manual_seed(9))
            w = nets["G_ema"].mapping(z, None)[:, 0]
        # Within 5 standard errors of an independent estimate of the mean.
        bound = 5 * w.std(0) * (1 / 2000 + 1 / 20000) ** 0.5
        self.assertTrue(((got["G_ema"].mapping.w_avg - w.mean(0)).abs() < bound).all())
        # Leftovers and a different blur filter are errors naming the tensor.
        ckpt["g_ema"]["convs.0.conv.extra"] = torch.zeros(1)
        torch.save(ckpt, src)
        bad = self.path("bad.bin")
        self.assert_error(run_here("import", src, bad), "g_ema", "unexpected tensor convs.0.conv.extra")
        del ckpt["g_ema"]["convs.0.conv.extra"]
        ckpt["d"]["convs.1.skip.0.kernel"] = torch.ones(4, 4) / 16
        torch.save(ckpt, src)
        self.assert_error(run_here("import", src, bad), "tensor convs.1.skip.0.kernel is not the [1, 3, 3, 1] filter")
        self.assert_nothing_written(bad)
        # A misshapen tensor the layout conversion trips on: one line, not a traceback.
        ckpt["d"]["convs.1.skip.0.kernel"] = ref.setup_filter()
        ckpt["g_ema"]["conv1.noise.weight"] = torch.zeros(2)
        torch.save(ckpt, src)
        self.assert_error(run_here("import", src, bad), src,
                          "g_ema: tensor conv1.noise.weight has shape [2], expected 1 dimension with a leading 1")
        self.assert_nothing_written(bad)


def _lrelu(x, b):
    return F.leaky_relu(x + b.reshape(1, -1, *[1] * (x.ndim - 2)), 0.2) * 2 ** 0.5


def rosinality_g(s, z, psi, latent_avg):
    """rosinality Generator.forward (noise buffers, truncation) on its state dict:
    scale folded into the weight, demodulated per sample, upsampling by an
    unflipped transposed conv and a blur, skip upsampling with padding (2, 1)."""
    s = {k: v.double() for k, v in s.items()}
    x = z * torch.rsqrt(z.square().mean(1, keepdim=True) + 1e-8)
    i = 1
    while f"style.{i}.weight" in s:
        w = s[f"style.{i}.weight"]
        x = _lrelu(F.linear(x, w * 0.01 / w.shape[1] ** 0.5), s[f"style.{i}.bias"] * 0.01)
        i += 1
    x = latent_avg + psi * (x - latent_avg)

    def modconv(p, h, demod, up=False):
        weight = s[p + ".conv.weight"]
        mw = s[p + ".conv.modulation.weight"]
        style = F.linear(x, mw / mw.shape[1] ** 0.5, s[p + ".conv.modulation.bias"])
        weight = weight / weight[0, 0].numel() ** 0.5 * style[:, None, :, None, None]
        if demod:
            weight = weight * torch.rsqrt(weight.pow(2).sum([2, 3, 4]) + 1e-8)[:, :, None, None, None]
        outs = []
        for b in range(h.shape[0]):
            if up:
                o = F.conv_transpose2d(h[b:b + 1], weight[b].transpose(0, 1), stride=2)
                outs.append(ref.upfirdn2d(o, s[p + ".conv.blur.kernel"], pad=(1, 1, 1, 1)))
            else:
                outs.append(F.conv2d(h[b:b + 1], weight[b], padding=weight.shape[-1] // 2))
        return torch.cat(outs)

    def styled(p, h, noise, up=False):
        h = modconv(p, h, True, up) + s[p + ".noise.weight"] * s[f"noises.noise_{noise}"]
        return _lrelu(h, s[p + ".activate.bias"])

    h = s["input.input"].repeat(z.shape[0], 1, 1, 1)
    h = styled("conv1", h, 0)
    skip = modconv("to_rgb1", h, False) + s["to_rgb1.bias"]
    k = 0
    while f"to_rgbs.{k}.bias" in s:
        h = styled(f"convs.{2 * k}", h, 2 * k + 1, up=True)
        h = styled(f"convs.{2 * k + 1}", h, 2 * k + 2)
        up = ref.upfirdn2d(skip, s[f"to_rgbs.{k}.upsample.kernel"], up=2, pad=(2, 1, 2, 1))
        skip = modconv(f"to_rgbs.{k}", h, False) + s[f"to_rgbs.{k}.bias"] + up
        k += 1
    return skip


def rosinality_d(s, img):
    """rosinality Discriminator.forward: blur-then-stride downsampling, residual
    sum divided by sqrt(2), stddev over groups of min(4, N)."""
    s = {k: v.double() for k, v in s.items()}

    def conv(h, w, stride=1, pad=0):
        return F.conv2d(h, w / w[0].numel() ** 0.5, stride=stride, padding=pad)

    h = _lrelu(conv(img, s["convs.0.0.weight"]), s["convs.0.1.bias"])
    j = 1
    while f"convs.{j}.conv1.0.weight" in s:
        out = _lrelu(conv(h, s[f"convs.{j}.conv1.0.weight"], pad=1), s[f"convs.{j}.conv1.1.bias"])
        out = ref.upfirdn2d(out, s[f"convs.{j}.conv2.0.kernel"], pad=(2, 2, 2, 2))
        out = _lrelu(conv(out, s[f"convs.{j}.conv2.1.weight"], stride=2), s[f"convs.{j}.conv2.2.bias"])
        skip = conv(ref.upfirdn2d(h, s[f"convs.{j}.skip.0.kernel"], pad=(1, 1, 1, 1)), s[f"convs.{j}.skip.1.weight"],
                    stride=2)
        h = (out + skip) / 2 ** 0.5
        j += 1
    n, c, hh, ww = h.shape
    g = min(n, 4)
    std = torch.sqrt(h.view(g, -1, 1, c, hh, ww).var(0, unbiased=False) + 1e-8).mean([2, 3, 4], keepdim=True)
    h = torch.cat([h, std.squeeze(2).repeat(g, 1, hh, ww)], 1)
    h = _lrelu(conv(h, s["final_conv.0.weight"], pad=1), s["final_conv.1.bias"]).flatten(1)
    w0, w1 = s["final_linear.0.weight"], s["final_linear.1.weight"]
    h = _lrelu(F.linear(h, w0 / w0.shape[1] ** 0.5), s["final_linear.0.bias"])
    return F.linear(h, w1 / w1.shape[1] ** 0.5, s["final_linear.1.bias"])


if __name__ == "__main__":
    unittest.main()
