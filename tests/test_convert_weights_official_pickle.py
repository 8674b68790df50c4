#!/usr/bin/env python3
"""tools/convert_weights.py: StyleGAN2-ADA's official pickles (with the real persistence layout): their
networks and recorded attributes, training options, and 'orig' discriminators.
Run with /usr/bin/python3 (PyTorch); exits 77 when torch is missing."""
import collections
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # convert_weights_fixture
# First: it exits 77 when torch or NumPy is missing, and puts tools/, tools/reference/ and
# tools/fixtures/ on sys.path.
from convert_weights_fixture import (ConvertWeightsCase, D_CFG, D_ORIG_CFG, EasyDict, G_CFG, Persistent,  # noqa: E402
                                     make_nets, nets_from_bin, official_pickle, outputs, run, run_here)
import convert_weights as cw  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import stylegan2_reference as ref  # noqa: E402


class ConvertWeightsTest(ConvertWeightsCase):
    def assert_same_networks(self, got, nets, same_names=False):
        """got holds nets' tensors bit for bit (and no others with same_names), and so gives
        the same images and logits; returns the images."""
        for key in ("G", "D", "G_ema"):
            if same_names:
                self.assertEqual(sorted(got[key].state_dict()), sorted(nets[key].state_dict()), key)
            for n, t in nets[key].state_dict().items():
                self.assertTrue(torch.equal(got[key].state_dict()[n], t), f"{key}.{n}")
        want_img, want_logits = outputs(nets)
        img, logits = outputs(got)
        self.assertTrue(torch.equal(img, want_img))
        self.assertTrue(torch.equal(logits, want_logits))
        return img

    def test_official_pickle_converts_and_matches_reference(self):
        nets = make_nets()
        src, out = self.path("network-snapshot.pkl"), self.path("out.bin")
        official_pickle(nets, src)
        r = run("import", src, out)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertFalse(os.path.exists(self.sentinel), "the pickle's module source was executed")
        got, meta = nets_from_bin(out)
        # conv_clamp and the mbstd group come from the recorded attributes, not defaults.
        self.assertEqual(json.loads(meta["G_kwargs"]), G_CFG)
        self.assertEqual(json.loads(meta["D_kwargs"]), D_CFG)
        # The snapshot's data options, which calc_metrics reads without --data
        # (the resolution comes from the generator, as calc_metrics.py sets it).
        self.assertEqual(json.loads(meta["training_set_kwargs"]), {"path": "ffhq.zip"})
        self.assert_same_networks(got, nets)

    def test_official_training_set_kwargs_kept(self):
        # train.py's options with a --subset and --mirror: path, xflip,
        # max_size and random_seed kept; other entries and wrong types left out.
        nets = make_nets()
        cases = [
            (dict(class_name="training.dataset.ImageFolderDataset", path="/data/ffhq.zip", use_labels=False,
                  max_size=1000, xflip=True, resolution=16, random_seed=7),
             {"path": "/data/ffhq.zip", "xflip": True, "max_size": 1000, "random_seed": 7}),
            (dict(path="d", max_size=None, xflip=1, random_seed=True), {"path": "d"}),
            (dict(path=3), None),  # no path: nothing kept
            (None, None),  # calc_metrics.py then asks for --data
        ]
        for i, (kwargs, want) in enumerate(cases):
            src, out = self.path(f"kw{i}.pkl"), self.path(f"kw{i}.bin")
            official_pickle(nets, src, lambda d, k=kwargs: d.__setitem__(
                "training_set_kwargs", None if k is None else EasyDict(k)))
            r = run("import", src, out)
            self.assertEqual(r.returncode, 0, r.stderr)
            meta = cw.read_bin(out)[1]
            got = json.loads(meta["training_set_kwargs"]) if "training_set_kwargs" in meta else None
            self.assertEqual(got, want, kwargs)
            self.assertEqual("training_set_kwargs: " in r.stdout, want is not None, r.stdout)

    def test_stylegan3_pickle_is_named(self):
        # StyleGAN3's synthesis starts from a SynthesisInput module: named as
        # StyleGAN3 (it was "unexpected tensor synthesis.input.weight").
        src, out = self.path("sg3.pkl"), self.path("sg3.bin")

        def add_input(data):
            synthesis = data["G_ema"].state["_modules"]["synthesis"]
            synthesis.state["_modules"]["input"] = Persistent("SynthesisInput", dict(
                _parameters=collections.OrderedDict(weight=torch.zeros(8, 2)), _buffers=collections.OrderedDict(),
                _modules=collections.OrderedDict()))
        official_pickle(make_nets(), src, add_input)
        self.assert_error(run_here("import", src, out), src, "a StyleGAN3 network pickle", "not StyleGAN3's")
        self.assert_nothing_written(out)

    def test_out_of_range_network_attributes_refused(self):
        # Attributes no program loads (a NaN w_avg_beta was written as a bare
        # NaN, not JSON; a group size of -3 and a clamp or lr multiplier of 0
        # imported with exit status 0 and were refused, or drew constant
        # images, only later).
        nets = make_nets()
        out = self.path("out.bin")

        def mods(d, *names):
            m = d
            for n in names:
                m = m.state["_modules"][n] if not isinstance(m, dict) else m[n]
            return m.state

        cases = [(lambda d: mods(d, "G_ema", "mapping").__setitem__("w_avg_beta", np.float64("nan")),
                  "w_avg_beta is nan, not a finite number"),
                 (lambda d: mods(d, "G_ema", "mapping", "fc0").__setitem__("bias_gain", 0.0),
                  "mapping_lr_multiplier is 0.0, not > 0"),
                 (lambda d: mods(d, "D", "b4", "mbstd").__setitem__("group_size", -3),
                  "mbstd_group_size is -3, negative")]
        for edit, needle in cases:
            with self.subTest(needle=needle):
                src = self.path("edited.pkl")
                official_pickle(nets, src, edit=edit)
                self.assert_error(run_here("import", src, out), src, needle, "nothing written")
                self.assert_nothing_written(out)
        # A conditional D's label mapping at another lr multiplier (its gains
        # recorded): it was imported at 0.01, its scores wrong by as much as
        # they were large.
        src = self.path("d_mapping.pkl")
        official_pickle(nets, src, edit=lambda d: mods(d, "D", "mapping", "fc0").__setitem__("bias_gain", 1.0))
        self.assert_error(run_here("import", src, out), src,
                          "D's label mapping has lr_multiplier 1; ganforge's discriminator takes 0.01")
        self.assert_nothing_written(out)
        # A layer built with another activation than train.py's networks use
        # (networks.py's activation='relu'): it was imported and ran as lrelu.
        for names, act, needle in [(("G_ema", "mapping", "fc0"), "relu", "G_ema.mapping.fc0 (FullyConnectedLayer) has activation 'relu'"),
                                   (("D", "b4", "out"), "lrelu", "D.b4.out (FullyConnectedLayer) has activation 'lrelu'; ganforge's networks use train.py's, 'linear' there")]:
            with self.subTest(layer=".".join(names)):
                src = self.path("activation.pkl")
                official_pickle(nets, src, edit=lambda d, n=names, a=act: mods(d, *n).__setitem__("activation", a))
                self.assert_error(run_here("import", src, out), src, needle)
                self.assert_nothing_written(out)

    def test_orig_discriminator(self):
        """--cfg cifar's D ('orig': no skip layers) from an official pickle and a
        state dict, exported back with the official names; 'skip' D and non-'skip'
        G refused with one line naming the architecture."""
        nets = make_nets(seed=12, d_cfg=D_ORIG_CFG)
        self.assertFalse(any(".skip." in n for n in nets["D"].state_dict()))
        src, a = self.path("cifar.pkl"), self.path("a.bin")
        official_pickle(nets, src)
        r = run_here("import", src, a)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('"architecture": "orig"', r.stdout)
        got, meta = nets_from_bin(a)
        self.assertEqual(json.loads(meta["D_kwargs"]), D_ORIG_CFG)
        self.assertEqual(json.loads(meta["G_kwargs"]), G_CFG)
        img = self.assert_same_networks(got, nets, same_names=True)
        # The same weights as 'resnet' with zero skips would score otherwise: the
        # gains differ (1 here, sqrt(0.5) on both branches there).
        resnet = ref.Discriminator(**D_CFG)
        state = dict(resnet.state_dict(), **nets["D"].state_dict())
        resnet.load_state_dict({n: torch.zeros_like(t) if ".skip." in n else t for n, t in state.items()})
        c = torch.eye(3)[[0, 1, 2, 0]]
        with torch.no_grad():
            self.assertFalse(torch.allclose(resnet(img, c), got["D"](img, c), rtol=1e-3, atol=0))
        # Export: the official names, no skip tensors; imported back (a state
        # dict records no architecture: the absent skip weights tell it).
        pt, b = self.path("b.pt"), self.path("b.bin")
        r = run_here("export", a, pt, "--net", "all")
        self.assertEqual(r.returncode, 0, r.stderr)
        exported = torch.load(pt)
        self.assertEqual(set(exported["D"]), set(nets["D"].state_dict()))
        fresh = ref.Discriminator(**D_ORIG_CFG)
        fresh.load_state_dict(exported["D"])  # strict
        for n, t in nets["D"].state_dict().items():
            self.assertTrue(torch.equal(exported["D"][n], t), n)
        flags = ["--conv-clamp", "256", "--mbstd-group-size", "2"]
        self.assertEqual(run_here("import", pt, b, *flags).returncode, 0)
        self.assert_same_bundle(a, b)
        # D alone, as a state dict: 'orig' from the tensors.
        d_pt, d_bin, d_out = self.path("d.pt"), self.path("d.bin"), self.path("d_out.pt")
        torch.save(nets["D"].state_dict(), d_pt)
        r = run_here("import", d_pt, d_bin, *flags)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(cw.read_bin(d_bin)[1]["D_kwargs"]), D_ORIG_CFG)
        self.assertEqual(run_here("export", d_bin, d_out, "--net", "D").returncode, 0)
        self.assertEqual(set(torch.load(d_out)), set(nets["D"].state_dict()))
        # A 'resnet' state dict says "resnet" too (every D the converter writes has the key).
        torch.save(make_nets(seed=12)["D"].state_dict(), d_pt)
        self.assertEqual(run_here("import", d_pt, d_bin, *flags).returncode, 0)
        self.assertEqual(json.loads(cw.read_bin(d_bin)[1]["D_kwargs"])["architecture"], "resnet")
        # A bundle written before the key existed exports as 'resnet'.
        bundle = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "parity_32x1.bin")
        self.assertNotIn("architecture", json.loads(cw.read_bin(bundle)[1]["D_kwargs"]))
        self.assertEqual(run_here("export", bundle, d_out, "--net", "D").returncode, 0)
        self.assertTrue(any(".skip." in n for n in torch.load(d_out)))
        # The recorded attribute rules over the tensors: 'orig' with skip weights.
        out = self.path("bad.bin")

        def set_arch(which, arch):
            def walk(m):
                if "architecture" in m.state:
                    m.state["architecture"] = arch
                for child in m.state["_modules"].values():
                    walk(child)
            return lambda data: walk(data[which])
        official_pickle(make_nets(seed=12), src, set_arch("D", "orig"))
        self.assert_error(run_here("import", src, out), "D", "unexpected tensor b16.skip.weight")
        self.assert_nothing_written(out)
        # Refused: a 'skip' D (pickle attribute; state dict with fromrgb in every
        # block), a G other than 'skip' (pickle attribute; state dict forms).
        official_pickle(nets, src, set_arch("D", "skip"))
        self.assert_error(run_here("import", src, out), "D has architecture 'skip'",
                          "ganforge supports 'resnet' or 'orig' only")
        self.assert_nothing_written(out)
        official_pickle(nets, src, set_arch("G_ema", "orig"))
        self.assert_error(run_here("import", src, out), "G_ema has architecture 'orig'", "supports 'skip' only")
        self.assert_nothing_written(out)
        skip_d = dict(nets["D"].state_dict(), **{"b8.fromrgb.weight": torch.zeros(8, 3, 1, 1),
                                                 "b8.fromrgb.bias": torch.zeros(8)})
        torch.save(skip_d, d_pt)
        self.assert_error(run_here("import", d_pt, out), "a 'skip' discriminator (b8.fromrgb.weight",
                          "'resnet' or 'orig'")
        self.assert_nothing_written(out)
        g = nets["G_ema"].state_dict()
        g_pt = self.path("g.pt")
        torch.save(dict(g, **{"synthesis.b8.skip.weight": torch.zeros(8, 8, 1, 1)}), g_pt)
        self.assert_error(run_here("import", g_pt, out), "a 'resnet' generator (skip weights)",
                          "generator is 'skip'")
        torch.save({n: t for n, t in g.items() if not n.startswith("synthesis.b8.torgb.")}, g_pt)
        self.assert_error(run_here("import", g_pt, out), "an 'orig' generator (a torgb in the last block only)")
        self.assert_nothing_written(out)


if __name__ == "__main__":
    unittest.main()
