#!/usr/bin/env python3
"""tools/convert_weights.py --format vgg16: StyleGAN2-ADA's VGG16 from
torchvision's VGG16 state dict (vgg16-397923af.pth) and LPIPS's vgg.pth, here
synthetic files written by torch.save (new zip and legacy formats) with the
same names: the table against torchvision's own vgg16 (where installed),
bit for bit, and the refusals (a missing, extra or misshapen tensor, a
negative lin weight, the wrong second file, a pickle that asks for code).
Run with /usr/bin/python3 (PyTorch); exits 77 when torch is missing.
"""
import collections
import json
import os
import sys
import unittest

try:
    import torch
except ImportError:
    print("SKIP: torch is not importable")
    sys.exit(77)

TOOLS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools")
sys.path.insert(0, TOOLS)
sys.path[:0] = [os.path.join(TOOLS, "reference"), os.path.join(TOOLS, "fixtures")]
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import convert_weights as cw  # noqa: E402
from test_convert_inception import Evil  # noqa: E402
from convert_weights_fixture import TempDirTest, assert_one_error_line, run, run_here  # noqa: E402
from vgg16_reference import Vgg16Reference  # noqa: E402

D = 8  # the synthetic files' widths: torchvision's / 8


def synthetic_files(d=D):
    """torchvision's VGG16 state dict (classifier.6 included) and LPIPS's lin
    layers at widths / d, random values."""
    torch.manual_seed(5)
    net = Vgg16Reference(d)
    for p in net.parameters():
        p.data.normal_()
    state = net.state_dict()
    vgg = collections.OrderedDict((k, v.clone()) for k, v in state.items() if not k.startswith("lin"))
    lin = collections.OrderedDict((k, v.abs()) for k, v in state.items() if k.startswith("lin"))
    return vgg, lin


class ConvertVgg16Test(TempDirTest):
    def setUp(self):
        super().setUp()
        self.vgg, self.lin = synthetic_files()
        self.src, self.lpips, self.out = self.path("vgg16-397923af.pth"), self.path("vgg.pth"), self.path("vgg16.bin")
        torch.save(self.vgg, self.src)
        torch.save(self.lin, self.lpips)

    def path(self, name):
        return os.path.join(self.dir.name, name)

    def save(self, obj, name, **kw):
        torch.save(obj, self.path(name), **kw)
        return self.path(name)

    def assert_error(self, result, *needles):
        assert_one_error_line(self, result, *needles)
        self.assertFalse(os.path.exists(self.out))

    def import_(self, src=None, lpips=None, fmt="vgg16"):
        args = ["import", src or self.src, self.out, "--format", fmt]
        return run_here(*args, *(["--lpips", lpips or self.lpips] if lpips != "" else []))

    def test_table_is_torchvisions(self):
        shapes = cw.vgg16_shapes(1)
        # By hand, from torchvision's vgg16 (configuration D) and LPIPS's NetLinLayer.
        for name, shape in {"features.0.weight": (64, 3, 3, 3), "features.5.weight": (128, 64, 3, 3),
                            "features.14.bias": (256,), "features.17.weight": (512, 256, 3, 3),
                            "features.28.weight": (512, 512, 3, 3), "classifier.0.weight": (4096, 25088),
                            "classifier.3.weight": (4096, 4096), "lin0.model.1.weight": (1, 64, 1, 1),
                            "lin4.model.1.weight": (1, 512, 1, 1)}.items():
            self.assertEqual(shapes[name], shape, name)
        self.assertEqual(len(shapes), 13 * 2 + 4 + 5)
        n = sum(torch.Size(s).numel() for s in shapes.values())
        self.assertEqual(n, 138357544 - 4097000 + 1472)  # torchvision's count less classifier.6, plus the lins
        thin = {k: tuple(v.shape) for k, v in Vgg16Reference(D).state_dict().items() if not k.startswith("classifier.6")}
        self.assertEqual(dict(cw.vgg16_shapes(D)), thin)
        try:
            import torchvision
        except ImportError:
            return
        tv = torchvision.models.vgg16().state_dict()
        self.assertEqual({k: tuple(v.shape) for k, v in tv.items() if not k.startswith("classifier.6")},
                         {k: v for k, v in shapes.items() if not k.startswith("lin")})

    def test_converts_bit_for_bit(self):
        # Both torch.save formats (zip since torch 1.6; the legacy one of older files).
        legacy = self.save(self.vgg, "legacy.pth", _use_new_zipfile_serialization=False)
        for src in (self.src, legacy):
            r = self.import_(src)
            self.assertEqual(r.returncode, 0, r.stderr)
            tensors, meta = cw.read_bin(self.out)
            self.assertEqual(meta, {"perceptual": "vgg16", "vgg16_kwargs": json.dumps({"width_divisor": D})})
            want = dict(self.vgg, **self.lin)
            del want["classifier.6.weight"], want["classifier.6.bias"]
            self.assertEqual(set(tensors), set(want))
            for name, t in want.items():
                self.assertEqual(tensors[name].dtype, torch.float32, name)
                self.assertTrue(torch.equal(tensors[name], t), name)
            os.remove(self.out)
        # classifier.6 may be absent (a copy trimmed by hand).
        trimmed = collections.OrderedDict((k, v) for k, v in self.vgg.items() if not k.startswith("classifier.6"))
        self.assertEqual(self.import_(self.save(trimmed, "trimmed.pth")).returncode, 0)

    def test_wrong_files_are_refused_with_a_hint(self):
        self.assert_error(self.import_(lpips=""), "torchvision's VGG16", "needs the LPIPS lin layers too",
                          "--lpips")
        self.assert_error(run_here("import", self.src, self.out), "torchvision's VGG16", "--lpips")
        self.assertEqual(self.import_(fmt="auto").returncode, 0)  # detected, given --lpips
        os.remove(self.out)
        # LPIPS's VGG lin file as SRC (the AlexNet LPIPS import's shape): pointed to --format vgg16.
        self.assert_error(run_here("import", self.lpips, self.out), "LPIPS's VGG lin layers",
                          f"--format vgg16 --lpips {self.lpips}")
        # The two files swapped, or another network in either place.
        self.assert_error(self.import_(self.lpips, self.src), "not torchvision's VGG16 state dict")
        self.assert_error(self.import_(lpips=self.src), self.src, "not LPIPS's lin layers")
        alex_lin = self.save({f"lin{k}.model.1.weight": torch.ones(1, c, 1, 1)
                              for k, c in enumerate((64, 192, 384, 256, 256))}, "alex.pth")
        self.assert_error(self.import_(lpips=alex_lin), alex_lin, "LPIPS lin layers for VGG16",
                          "tensor lin0.model.1.weight has shape [1, 64, 1, 1], expected [1, 8, 1, 1]")
        self.assert_error(self.import_(alex_lin, fmt="auto"), "--lpips goes with a VGG16 import")

    def test_tensor_refusals_name_the_first_difference(self):
        cases = []
        v = collections.OrderedDict(self.vgg)
        del v["features.26.bias"]
        cases.append((v, "VGG16: missing tensor features.26.bias"))
        v = collections.OrderedDict(self.vgg)
        v["features.31.weight"] = torch.zeros(64, 64, 3, 3)
        cases.append((v, "VGG16: unexpected tensor features.31.weight"))
        v = collections.OrderedDict(self.vgg)
        v["classifier.0.weight"] = torch.zeros(512, 64 * 6 * 6)
        cases.append((v, "tensor classifier.0.weight has shape [512, 2304], expected [512, 3136]"))
        v = collections.OrderedDict(self.vgg)
        v["classifier.6.weight"] = torch.zeros(10, 512)
        cases.append((v, "tensor classifier.6.weight has shape [10, 512], expected [1000, 512]"))
        v = collections.OrderedDict(self.vgg)
        v["features.0.weight"] = torch.zeros(48, 3, 3, 3)
        cases.append((v, "features.0.weight has 48 outputs; torchvision's VGG16 has 64"))
        v = collections.OrderedDict(self.vgg)
        v["features.2.weight"] = torch.zeros(8, 8, 3, 3, dtype=torch.int32)
        cases.append((v, "tensor features.2.weight has dtype torch.int32"))
        for i, (state, needle) in enumerate(cases):
            with self.subTest(needle):
                src = self.save(state, f"bad{i}.pth")
                self.assert_error(self.import_(src), src, needle)

    def test_negative_lin_weight_is_refused(self):
        for value, shown in ((-0.25, "-0.25"), (float("nan"), "nan")):
            lin = collections.OrderedDict(self.lin)
            lin["lin3.model.1.weight"] = lin["lin3.model.1.weight"].clone()
            lin["lin3.model.1.weight"][0, 5, 0, 0] = value
            src = self.save(lin, "neg.pth")
            self.assert_error(self.import_(lpips=src), src, f"tensor lin3.model.1.weight[0, 5, 0, 0] is {shown}",
                              "non-negative")

    def test_code_in_either_file_is_refused_without_running(self):
        sentinel = self.path("sentinel")
        evil = self.save({"lin0.model.1.weight": Evil(os.system, "touch " + sentinel)}, "evil.pth")
        self.assert_error(self.import_(lpips=evil), "system, refusing")
        self.assert_error(self.import_(src=evil), "system, refusing")
        self.assertFalse(os.path.exists(sentinel))

    def test_command_line(self):
        # The program as users run it: one line on success naming what was written.
        r = run("import", self.src, self.out, "--format", "vgg16", "--lpips", self.lpips)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("StyleGAN2-ADA's VGG16", r.stdout)
        self.assertIn('vgg16_kwargs: {"width_divisor": 8}', r.stdout)


if __name__ == "__main__":
    unittest.main()
