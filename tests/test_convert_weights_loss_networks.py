#!/usr/bin/env python3
"""tools/convert_weights.py: the loss networks pSp trains with: LPIPS (AlexNet and its lin layers),
ArcFace (IR-SE50) and MoCo's ResNet-50.
Run with /usr/bin/python3 (PyTorch); exits 77 when torch is missing."""
import collections
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
import perceptual_reference as pr  # noqa: E402


class ConvertWeightsTest(ConvertWeightsCase):
    # ---- the loss networks of train_psp: LPIPS (torchvision AlexNet + LPIPS lin file) and ArcFace

    def lpips_files(self, channels=(8, 12, 16, 12, 12)):
        torch.manual_seed(3)
        net = pr.LPIPS(channels)
        alex = collections.OrderedDict(("features." + k, v) for k, v in net.net.layers.state_dict().items())
        alex["classifier.1.weight"] = torch.randn(10, 12)  # torchvision's classifier, dropped on import
        lin = collections.OrderedDict((f"lin{k}.model.1.weight", net.lin[k][1].weight.detach().abs())
                                      for k in range(5))
        torch.save(alex, self.path("alexnet-owt.pth"))
        torch.save(lin, self.path("alex.pth"))
        return net, alex, lin

    def test_lpips_import(self):
        net, alex, lin = self.lpips_files()
        out = self.path("lpips.bin")
        r = run_here("import", self.path("alex.pth"), out, "--alexnet", self.path("alexnet-owt.pth"))
        self.assertEqual(r.returncode, 0, r.stderr)
        tensors, meta = cw.read_bin(out)
        self.assertEqual(meta["perceptual"], "lpips")
        self.assertEqual(json.loads(meta["lpips_kwargs"])["channels"], [8, 12, 16, 12, 12])
        for i in (0, 3, 6, 8, 10):
            for p in ("weight", "bias"):
                self.assertTrue(torch.equal(tensors[f"net.layers.{i}.{p}"], alex[f"features.{i}.{p}"]))
        for k in range(5):
            self.assertTrue(torch.equal(tensors[f"lin.{k}.1.weight"], lin[f"lin{k}.model.1.weight"]))
        self.assertEqual(len(tensors), 15)  # the classifier is not kept
        # The converted weights give the reference's distance.
        ref_net = pr.LPIPS((8, 12, 16, 12, 12))
        ref_net.load_state_dict({**tensors, "net.mean": ref_net.net.mean, "net.std": ref_net.net.std})
        x, y = torch.rand(2, 3, 40, 40) * 2 - 1, torch.rand(2, 3, 40, 40) * 2 - 1
        net.lin.load_state_dict({f"{k}.1.weight": lin[f"lin{k}.model.1.weight"] for k in range(5)})
        with torch.no_grad():
            self.assertTrue(torch.equal(ref_net(x, y), net(x, y)))

    def test_lpips_refusals(self):
        self.lpips_files()
        out = self.path("lpips.bin")
        self.assert_error(run_here("import", self.path("alex.pth"), out), "--alexnet")
        self.assert_error(run_here("import", self.path("alexnet-owt.pth"), out),
                          "torchvision's AlexNet alone", "import LPIPS's alex.pth with --alexnet")
        # Lin layers of AlexNet's real widths against a small AlexNet: refused by shape.
        self.lpips_files(channels=pr.ALEX_CHANNELS)
        lin_full = torch.load(self.path("alex.pth"))
        self.lpips_files()
        torch.save(lin_full, self.path("alex_full.pth"))
        self.assert_error(run_here("import", self.path("alex_full.pth"), out, "--alexnet", self.path("alexnet-owt.pth")),
                          "lin.0.1.weight has shape [1, 64, 1, 1], expected [1, 8, 1, 1]")
        alex = torch.load(self.path("alexnet-owt.pth"))
        del alex["features.6.weight"]
        torch.save(alex, self.path("alexnet-bad.pth"))
        self.assert_error(run_here("import", self.path("alex.pth"), out, "--alexnet", self.path("alexnet-bad.pth")),
                          "not torchvision's AlexNet (no features.6.weight)")
        self.assertFalse(os.path.exists(out))

    def test_arcface_import(self):
        torch.manual_seed(4)
        cfg = dict(mode="ir_se", units=(1, 2, 1, 1), depths=(8, 12, 16, 20), se_reduction=4, embedding=8)
        net = pr.Backbone(**cfg)
        src, out = self.path("model_ir_se50.pth"), self.path("arcface.bin")
        torch.save(net.state_dict(), src)
        r = run_here("import", src, out)
        self.assertEqual(r.returncode, 0, r.stderr)
        tensors, meta = cw.read_bin(out)
        self.assertEqual(meta["perceptual"], "arcface")
        kwargs = json.loads(meta["arcface_kwargs"])
        self.assertEqual((kwargs["units"], kwargs["depths"], kwargs["se_reduction"], kwargs["embedding"]),
                         ([1, 2, 1, 1], [8, 12, 16, 20], 4, 8))
        for n, t in net.state_dict().items():
            if n.endswith("num_batches_tracked"):
                self.assertNotIn(n, tensors)
            else:
                self.assertTrue(torch.equal(tensors[n], t), n)
        # IR-SE50 as pSp's model_ir_se50.pth lays it out (shapes only, no storage).
        full = {n: torch.empty(t.shape, device="meta") for n, t in pr.Backbone().state_dict().items()}
        got = cw.arcface_config(full, "model_ir_se50.pth")
        self.assertEqual((got["units"], got["depths"], got["se_reduction"], got["embedding"], got["mode"]),
                         ([3, 4, 14, 3], [64, 128, 256, 512], 16, 512, "ir_se"))
        state = net.state_dict()
        del state["output_layer.4.running_var"]
        torch.save(state, src)
        self.assert_error(run_here("import", src, out + "2"), "missing tensor output_layer.4.running_var")
        self.assertFalse(os.path.exists(out + "2"))
        self.assert_error(run_here("import", src, out + "2", "--alexnet", src), "--alexnet goes with an LPIPS import")

    def moco_checkpoint(self, net, arch="resnet50", zip_format=False):
        """As MoCo's main_moco.py saves it: the query and key encoders (the query's fc head an MLP), the queue."""
        state = collections.OrderedDict(("module.encoder_q." + k, v) for k, v in net.state_dict().items())
        state["module.encoder_q.fc.0.weight"] = torch.randn(8, net.conv1.weight.shape[0] * 32)
        state["module.encoder_q.fc.0.bias"] = torch.randn(8)
        state.update(("module.encoder_k." + k, v) for k, v in net.state_dict().items())
        state["module.queue"] = torch.randn(8, 4)
        state["module.queue_ptr"] = torch.zeros(1, dtype=torch.long)
        src = self.path("moco_v2_800ep_pretrain.pth.tar")
        torch.save({"epoch": 800, "arch": arch, "state_dict": state, "optimizer": {"state": {}, "param_groups": []}},
                   src, _use_new_zipfile_serialization=zip_format)
        return src

    def test_moco_import(self):
        torch.manual_seed(5)
        net = pr.ResNet(layers=(1, 2, 1, 1), width=4).eval()
        out = self.path("moco.bin")
        for zip_format in (False, True):  # the 2020 file is in torch's legacy format
            src = self.moco_checkpoint(net, zip_format=zip_format)
            r = run_here("import", src, out)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("not ResNet-50", r.stderr)  # a small one is said to be
            tensors, meta = cw.read_bin(out)
            self.assertEqual(meta["perceptual"], "moco")
            self.assertEqual(json.loads(meta["moco_kwargs"]), {"layers": [1, 2, 1, 1], "width": 4})
            want = {n: t for n, t in net.state_dict().items() if not n.endswith("num_batches_tracked")}
            self.assertEqual(sorted(tensors), sorted(want))  # fc, encoder_k and the queue are not kept
            for n, t in want.items():
                self.assertTrue(torch.equal(tensors[n], t), n)
        # The converted weights give the reference's features.
        ref_net = pr.ResNet(layers=(1, 2, 1, 1), width=4).eval()
        ref_net.load_state_dict(tensors, strict=False)
        x = torch.randn(2, 3, 40, 40)
        with torch.no_grad():
            self.assertTrue(torch.equal(ref_net(x), net(x)))

    def test_moco_refusals(self):
        torch.manual_seed(6)
        net = pr.ResNet(layers=(1, 1, 1, 1), width=4)
        out = self.path("moco.bin")
        self.assert_error(run_here("import", self.moco_checkpoint(net, arch="resnet18"), out),
                          "a MoCo checkpoint of resnet18; pSp's MoCo loss builds a resnet50")
        src = self.moco_checkpoint(net)
        ckpt = torch.load(src)
        del ckpt["state_dict"]["module.encoder_q.layer3.0.downsample.1.running_var"]
        torch.save(ckpt, src)
        self.assert_error(run_here("import", src, out), "missing tensor layer3.0.downsample.1.running_var")
        # A torchvision state dict is not MoCo's checkpoint.
        torch.save(net.state_dict(), self.path("resnet.pth"))
        self.assert_error(run_here("import", self.path("resnet.pth"), out, "--format", "moco"),
                          "not MoCo's checkpoint", "moco_v2_800ep_pretrain.pth.tar")
        self.assertFalse(os.path.exists(out))


if __name__ == "__main__":
    unittest.main()
