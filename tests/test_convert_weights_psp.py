#!/usr/bin/env python3
"""tools/convert_weights.py: pSp (pixel2style2pixel) checkpoints, tiny synthetic ones as
tools/fixtures/make_psp_fixtures.py makes them: the encoder, decoder and latent_avg, and the refusals.
Run with /usr/bin/python3 (PyTorch); exits 77 when torch is missing."""
import copy
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # convert_weights_fixture
# First: it exits 77 when torch or NumPy is missing, and puts tools/, tools/reference/ and
# tools/fixtures/ on sys.path.
from convert_weights_fixture import ConvertWeightsCase, run_here  # noqa: E402
import convert_weights as cw  # noqa: E402
import torch  # noqa: E402
import stylegan2_reference as ref  # noqa: E402


class ConvertWeightsTest(ConvertWeightsCase):
    # ---- pSp checkpoints

    def psp_checkpoint(self, **opts):
        """A tiny synthetic pSp checkpoint (tools/fixtures/make_psp_fixtures.py's recipe)."""
        import make_psp_fixtures as mpf
        spec = copy.deepcopy(mpf.FIXTURES["gradual"])
        spec["opts"].update(opts)
        gen = torch.Generator().manual_seed(7)
        cfg = mpf.encoder_config(spec)
        enc = mpf.build_encoder(cfg, gen)
        G = ref.Generator(**spec["decoder"])
        latent = 0.5 * torch.randn([cfg["n_styles"], cfg["depths"][3]], generator=gen)
        return mpf.checkpoint(enc, G, spec, latent), spec, enc, G

    def test_psp_checkpoint(self):
        ckpt, spec, enc, G = self.psp_checkpoint()
        src, out = self.path("psp.pt"), self.path("psp.bin")
        torch.save(ckpt, src)
        r = run_here("import", src, out, "--psp-arch", json.dumps(spec["arch"]))
        self.assertEqual(r.returncode, 0, r.stderr)
        tensors, meta = cw.read_bin(out)
        kwargs = json.loads(meta["psp_kwargs"])
        self.assertEqual((kwargs["encoder_type"], kwargs["n_styles"], kwargs["units"]),
                         ("GradualStyleEncoder", 8, [1, 2, 2, 1]))
        self.assertTrue(kwargs["start_from_latent_avg"])
        # Every encoder tensor (running stats included) as saved; num_batches_tracked dropped.
        for n, t in enc.state_dict().items():
            if n.endswith("num_batches_tracked"):
                self.assertNotIn("encoder." + n, tensors)
            else:
                self.assertTrue(torch.equal(tensors["encoder." + n], t), n)
        self.assertTrue(torch.equal(tensors["latent_avg"], ckpt["latent_avg"]))
        for n, t in G.state_dict().items():
            if n != "mapping.w_avg":
                self.assertTrue(torch.equal(tensors["G_ema." + n], t), n)
        self.assertTrue(torch.allclose(tensors["G_ema.mapping.w_avg"], ckpt["latent_avg"].mean(0)))

    def test_psp_learn_in_w_without_latent_avg(self):
        """pSp's forward reads learn_in_w only where it adds latent_avg: without
        start_from_latent_avg, GradualStyleEncoder with learn_in_w runs as
        without it (the official code runs it), so it imports as such."""
        ckpt, spec, _, _ = self.psp_checkpoint(learn_in_w=True, start_from_latent_avg=False)
        src, out = self.path("w_psp.pt"), self.path("w_psp.bin")
        torch.save(ckpt, src)
        r = run_here("import", src, out, "--psp-arch", json.dumps(spec["arch"]))
        self.assertEqual(r.returncode, 0, r.stderr)
        kwargs = json.loads(cw.read_bin(out)[1]["psp_kwargs"])
        self.assertEqual((kwargs["learn_in_w"], kwargs["start_from_latent_avg"]), (False, False))

    def test_psp_refusals(self):
        cases = [
            (dict(), lambda c: c.pop("latent_avg"), "start_from_latent_avg is set but the checkpoint has no latent_avg"),
            (dict(), lambda c: c.__setitem__("latent_avg", torch.zeros(3, 16)), "latent_avg has shape [3, 16]"),
            (dict(), lambda c: c["state_dict"].__setitem__("face_pool.x", torch.zeros(1)), "unexpected tensor face_pool.x"),
            (dict(), lambda c: c["state_dict"].pop("encoder.latlayer1.bias"), "encoder: missing tensor latlayer1.bias"),
            (dict(label_nc=19), lambda c: None, "label_nc 19"),
            (dict(output_size=64), lambda c: None, "takes 8 styles, but opts.output_size gives 10"),
            # Types pSp's argparse never makes: True was read as output_size 1, "32" as 32.
            (dict(), lambda c: c["opts"].__setitem__("output_size", True), "opts output_size is True, not a whole number"),
            (dict(), lambda c: c["opts"].__setitem__("output_size", "32"), "opts output_size is '32', not a whole number"),
            (dict(), lambda c: c["opts"].__setitem__("label_nc", "0"), "opts label_nc is '0', not a whole number"),
            (dict(learn_in_w=True), lambda c: None, "learn_in_w True with GradualStyleEncoder and start_from_latent_avg"),
            # A negative running variance made NaN latents in every program that loads the file.
            (dict(), lambda c: c["state_dict"].__setitem__(
                next(k for k in c["state_dict"] if k.endswith("running_var")),
                -torch.ones_like(c["state_dict"][next(k for k in c["state_dict"] if k.endswith("running_var"))])),
             "a running variance is >= 0"),
        ]
        for opts, edit, needle in cases:
            with self.subTest(needle=needle):
                ckpt, spec, _, _ = self.psp_checkpoint(**opts)
                edit(ckpt)
                src, out = self.path("bad_psp.pt"), self.path("bad_psp.bin")
                torch.save(ckpt, src)
                self.assert_error(run_here("import", src, out, "--psp-arch", json.dumps(spec["arch"])), needle)
                self.assertFalse(os.path.exists(out))
        # Without --psp-arch the body must be IR-SE50: the small one is refused by shape.
        ckpt, _, _, _ = self.psp_checkpoint()
        torch.save(ckpt, self.path("small.pt"))
        self.assert_error(run_here("import", self.path("small.pt"), self.path("x.bin")), "encoder: ")
        self.assert_error(run_here("import", self.path("small.pt"), self.path("x.bin"), "--psp-arch", '{"width": 3}'),
                          "--psp-arch: unknown key width")
        # Each --psp-arch value is checked: a 0, a negative size, a string, a
        # boolean and an unknown mode were a ZeroDivisionError, a math domain
        # error, a TypeError, a true in psp_kwargs and a misleading tensor name.
        for edit, needle in [({"se_reduction": 0}, "se_reduction must be a whole number >= 1, got 0"),
                             ({"input_size": -32}, "input_size must be a power of two >= 16"),
                             ({"units": "abc"}, 'units must be a list of 4 whole numbers >= 1 (the body\'s four stages), got "abc"'),
                             ({"depths": [True, 16, 16, 16]}, "depths must be a list of 4 whole numbers >= 1"),
                             ({"mode": "weird"}, 'mode must be "ir" or "ir_se", got "weird"')]:
            with self.subTest(edit=edit):
                arch = dict(self.psp_checkpoint()[1]["arch"], **edit)
                self.assert_error(run_here("import", self.path("small.pt"), self.path("x.bin"), "--psp-arch",
                                           json.dumps(arch)), "--psp-arch: " + needle)
                self.assertFalse(os.path.exists(self.path("x.bin")))
        for flag, value in (("--mbstd-group-size", "2"), ("--conv-clamp", "256"), ("--mapping-lr-multiplier", "0.1")):
            with self.subTest(flag=flag):
                self.assert_error(run_here("import", self.path("small.pt"), self.path("x.bin"), flag, value),
                                  f"{flag} applies to ", "; this is a pSp checkpoint, which it would not change")


if __name__ == "__main__":
    unittest.main()
