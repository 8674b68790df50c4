#!/usr/bin/env python3
"""tools/convert_weights.py on TorchScript archives: the FID/IS Inception
detector (inception-2015-12-05.pt) from a stand-in archive that torch.jit.save
writes, bit for bit, and the refusals (other networks, truncated archives,
missing or misshapen tensors, globals beyond the allow-list). Run with
/usr/bin/python3 (PyTorch); exits 77 when torch is missing.
"""
import collections
import io
import json
import os
import pickle
import sys
import tempfile
import time
import unittest
import zipfile
from typing import List

try:
    import torch
    from torch import nn
except ImportError:
    print("SKIP: torch is not importable")
    sys.exit(77)

TOOLS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools")
sys.path.insert(0, TOOLS)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import convert_weights as cw  # noqa: E402
from convert_weights_fixture import TempDirTest, assert_one_error_line, run, run_here  # noqa: E402


# ---- a stand-in for the detector: the official names and shapes (from the
# converter's structure table), trivial forwards, scripted and saved by torch.

class Conv2dLayer(nn.Module):
    """Conv without bias + batch norm without scale: weight, beta parameters;
    mean, var buffers (the split between the two does not change the names)."""

    def __init__(self, cin, cout, kh, kw):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(cout, cin, kh, kw))
        self.beta = nn.Parameter(torch.empty(cout))
        self.register_buffer("mean", torch.empty(cout))
        self.register_buffer("var", torch.empty(cout))

    def forward(self, x):
        return x


class Container(nn.Module):
    """A mixed block or one of its towers: children only."""

    def forward(self, x):
        return x


class Detector(nn.Module):
    def __init__(self, drop=()):
        super().__init__()
        self.layers = nn.Sequential()
        for layer in cw.INCEPTION_LAYERS:
            if len(layer) == 1:
                self.layers.add_module(layer[0], nn.MaxPool2d(3, 2) if layer[0] != "pool2" else nn.AvgPool2d(8))
            elif len(layer) == 4:
                self.layers.add_module(layer[0], Container())
        for name, cin, cout, kh, kw in cw.inception_convs():
            parent = self.layers
            *path, leaf = name.split(".")
            for p in path:
                if not hasattr(parent, p):
                    parent.add_module(p, Container())
                parent = getattr(parent, p)
            parent.add_module(leaf, Conv2dLayer(cin, cout, kh, kw))
        self.output = nn.Linear(2048, 1008)
        # Attributes that are not state: a plain tensor and a typed list.
        self.scale = torch.tensor(1 / 128)
        self.sizes: List[int] = [299, 299]
        for name in drop:
            owner, _, leaf = ("layers." + name).rpartition(".")
            mod = self.get_submodule(owner)
            (mod._parameters if leaf in mod._parameters else mod._buffers).pop(leaf)

    def forward(self, x):
        return self.output(self.layers(x * self.scale).reshape(-1, 2048))


def scripted(module, seed=0):
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for t in module.state_dict().values():
            t.copy_(torch.randn(t.shape, generator=gen))
    return torch.jit.script(module)


def save(module, path):
    torch.jit.save(module, path)
    return path


class Other(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        return self.fc(x)


class Evil:
    def __init__(self, fn, arg):
        self.fn, self.arg = fn, arg

    def __reduce__(self):
        return self.fn, (self.arg,)


def replace_data_pkl(src, dst, pkl):
    """A copy of the archive src whose data.pkl is pkl (the rest as it is)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            zout.writestr(info, pkl if info.filename.endswith("/data.pkl") else zin.read(info))
    return dst


def replace_entry(src, dst, suffix, data):
    """A copy of the archive src whose entries ending in suffix hold data."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, data if info.filename.endswith(suffix) else zin.read(info))
    return dst


def rebuilds_of_one_storage(archive, count):
    """A data.pkl that builds a tensor from the archive's storage 0 count times
    (each a copy): a few bytes per copy, memory without bound when unchecked."""
    with zipfile.ZipFile(archive) as z:
        size = next(i.file_size for i in z.infolist() if i.filename.endswith("/data/0")) // 4
    mark = object()

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            return ("storage", torch.FloatStorage, "0", "cpu", size) if obj is mark else None

    args = (mark, 0, (size,), (1,))

    class Rebuild:
        def __reduce__(self):
            return torch._utils._rebuild_tensor_v2, args

    out = io.BytesIO()
    Pickler(out, protocol=2).dump([Rebuild() for _ in range(count)])
    return out.getvalue()


class ConvertInceptionTest(TempDirTest):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.module = scripted(Detector())
        cls.archive = save(cls.module, os.path.join(cls.tmp.name, "inception-2015-12-05.pt"))
        cls.other = save(torch.jit.script(Other()), os.path.join(cls.tmp.name, "other.pt"))

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def setUp(self):
        super().setUp()
        self.sentinel = self.path("sentinel")

    def assert_error(self, result, *needles):
        assert_one_error_line(self, result, *needles)

    def test_table_matches_the_notes(self):
        # Spot checks written from docs/FORMAT.md by hand, independent of the table.
        shapes = cw.inception_shapes()
        for name, shape in {"layers.conv.weight": (32, 3, 3, 3), "layers.conv_4.weight": (192, 80, 3, 3),
                            "layers.mixed.tower_2.conv.weight": (32, 192, 1, 1),
                            "layers.mixed_3.conv.weight": (384, 288, 3, 3),
                            "layers.mixed_4.tower.conv_1.weight": (128, 128, 1, 7),
                            "layers.mixed_4.tower_1.conv_3.beta": (128,),
                            "layers.mixed_7.tower_1.conv_4.weight": (192, 192, 1, 7),
                            "layers.mixed_8.tower.conv_1.weight": (320, 192, 3, 3),
                            "layers.mixed_9.tower_1_conv.weight": (448, 1280, 1, 1),
                            "layers.mixed_9.tower_1_mixed_conv_1.var": (384,),
                            "layers.mixed_10.tower_mixed_conv.weight": (384, 384, 1, 3),
                            "output.weight": (1008, 2048), "output.bias": (1008,)}.items():
            self.assertEqual(shapes[name], shape, name)
        self.assertEqual(len(cw.inception_convs()), 94)
        self.assertEqual(len(shapes), 94 * 4 + 2)
        # Block outputs (the concatenated convs; B and D add their pooled input)
        # add up to the next block's input.
        concat = {"A": ["conv", "tower.conv_1", "tower_1.conv_2", "tower_2.conv"],
                  "B": ["conv", "tower.conv_2", "in"],
                  "C": ["conv", "tower.conv_2", "tower_1.conv_4", "tower_2.conv"],
                  "D": ["tower.conv_1", "tower_1.conv_3", "in"],
                  "E": ["conv", "tower_mixed_conv", "tower_mixed_conv_1", "tower_1_mixed_conv",
                        "tower_1_mixed_conv_1", "tower_2_conv"]}
        out_ch = {name: cout for name, _, cout, _, _ in cw.inception_convs()}
        blocks = [layer for layer in cw.INCEPTION_LAYERS if len(layer) == 4]
        for (name, kind, cin, _), nxt in zip(blocks, [b[2] for b in blocks[1:]] + [2048]):
            total = sum(cin if c == "in" else out_ch[f"{name}.{c}"] for c in concat[kind])
            self.assertEqual(total, nxt, name)

    def test_converts_bit_for_bit(self):
        want = self.module.state_dict()
        self.assertEqual(set(want), set(cw.inception_shapes()))  # the stand-in has exactly the official names
        for fmt in ("auto", "inception"):
            out = self.path(f"inception-{fmt}.bin")
            r = run_here("import", self.archive, out, "--format", fmt)
            self.assertEqual(r.returncode, 0, r.stderr)
            tensors, meta = cw.read_bin(out)
            self.assertEqual(meta, {"perceptual": "inception", "inception_kwargs": json.dumps(
                {"width_divisor": 1, "classes": 1008})})
            self.assertEqual(set(tensors), set(want))  # scale and sizes are attributes, not state
            for name, t in want.items():
                self.assertEqual(tensors[name].dtype, torch.float32, name)
                self.assertTrue(torch.equal(tensors[name], t), name)

    def test_other_torchscript_is_refused(self):
        out = self.path("out.bin")
        for fmt in ("auto", "inception"):
            r = run_here("import", self.other, out, "--format", fmt)
            self.assert_error(r, self.other, "a TorchScript archive of __torch__.Other",
                              "not the FID/IS Inception detector")
        r = run_here("import", self.archive, out, "--format", "lpips")
        self.assert_error(r, self.archive, "a TorchScript archive", "--format inception")
        sd = self.path("state.pt")
        torch.save(self.module.state_dict(), sd)
        r = run_here("import", sd, out, "--format", "inception")
        self.assert_error(r, sd, "not a TorchScript archive")
        self.assertFalse(os.path.exists(out))

    def test_truncated_archive(self):
        with open(self.archive, "rb") as f:
            data = f.read()
        out = self.path("out.bin")
        for cut in (len(data) // 2, len(data) - 100):
            src = self.path(f"cut{cut}.pt")
            with open(src, "wb") as f:
                f.write(data[:cut])
            r = run_here("import", src, out)
            self.assert_error(r, src)
            self.assertFalse(os.path.exists(out))

    def test_missing_tensor(self):
        src = save(scripted(Detector(drop=["mixed_4.tower_1.conv_3.var"])), self.path("missing.pt"))
        r = run_here("import", src, self.path("out.bin"))
        self.assert_error(r, src, "Inception detector: missing tensor layers.mixed_4.tower_1.conv_3.var")
        self.assertFalse(os.path.exists(self.path("out.bin")))

    def test_extra_tensor(self):
        module = Detector()
        module.layers.mixed_2.tower_1.conv_2.register_buffer("gamma", torch.ones(96))
        src = save(scripted(module), self.path("extra.pt"))
        r = run_here("import", src, self.path("out.bin"))
        self.assert_error(r, src, "Inception detector: unexpected tensor layers.mixed_2.tower_1.conv_2.gamma")
        self.assertFalse(os.path.exists(self.path("out.bin")))

    def test_wrong_shape(self):
        module = Detector()
        module.layers.mixed_9.tower_conv.weight = nn.Parameter(torch.zeros(384, 1280, 3, 3))
        src = save(scripted(module), self.path("shape.pt"))
        r = run_here("import", src, self.path("out.bin"))
        self.assert_error(r, src, "tensor layers.mixed_9.tower_conv.weight has shape [384, 1280, 3, 3], "
                                  "expected [384, 1280, 1, 1]")
        self.assertFalse(os.path.exists(self.path("out.bin")))

    def test_foreign_globals_are_refused_without_running(self):
        touch = "touch " + self.sentinel
        cases = [(Evil(os.system, touch), f"pickle asks for {os.system.__module__}.system, refusing"),
                 (Evil(eval, f"open({self.sentinel!r}, 'w')"), ".eval, refusing"),
                 ({"m": Evil(os.system, touch)}, "pickle asks for"),
                 # A __torch__ class called with arguments (REDUCE): the stand-in takes none.
                 (b"\x80\x02c__torch__\nM\nX" + len(touch).to_bytes(4, "little") + touch.encode() + b"\x85R.",
                  "__torch__.M is constructed with arguments")]
        for i, (obj, needle) in enumerate(cases):
            pkl = obj if isinstance(obj, bytes) else pickle.dumps(obj, protocol=2)
            src = replace_data_pkl(self.other, self.path(f"evil{i}.pt"), pkl)
            r = run_here("import", src, self.path("out.bin"))
            self.assert_error(r, src, needle)
            self.assertFalse(os.path.exists(self.sentinel), needle)
        # And through the command line, detection included.
        r = run("import", self.path("evil0.pt"), self.path("out.bin"))
        self.assert_error(r, "system, refusing")
        self.assertFalse(os.path.exists(self.sentinel))
        self.assertFalse(os.path.exists(self.path("out.bin")))

    def test_official_pickle_classes_are_refused_in_an_archive(self):
        # The TorchScript reader allows tensors and TorchScript's containers, not
        # the classes an official network pickle may name.
        pkl = b"\x80\x02cdnnlib.util\nEasyDict\n)R."
        src = replace_data_pkl(self.other, self.path("easydict.pt"), pkl)
        self.assert_error(run_here("import", src, self.path("out.bin")), "dnnlib.util.EasyDict, refusing")

    def test_one_storage_rebuilt_without_bound_is_refused(self):
        # 70000 tensors from a 12-float storage: about 3.4 MB of copies from a
        # 400 KB pickle; the same shape of file scales to any amount.
        src = replace_data_pkl(self.other, self.path("rebuilds.pt"), rebuilds_of_one_storage(self.other, 70000))
        self.assert_error(run_here("import", src, self.path("out.bin")), "storage 0 is rebuilt into tensors more than")
        # A storage shared by a few views is what real files hold: accepted by the reader.
        src = replace_data_pkl(self.other, self.path("views.pt"), rebuilds_of_one_storage(self.other, 3))
        top, _, _ = cw.read_zip_torch(open(src, "rb").read(), src, script=True)
        self.assertEqual(len(top), 3)

    def test_oversized_code_is_refused(self):
        # Class declarations are read from code/ by a regex: a file far beyond
        # any printout of a class (8 MB of blank lines, kilobytes zipped) is refused.
        with zipfile.ZipFile(self.other) as z:
            name = next(n for n in z.namelist() if "/code/" in n and n.endswith(".py"))
        src = replace_entry(self.other, self.path("bigcode.pt"), name, b"\n" * (8 << 20))
        self.assert_error(run_here("import", src, self.path("out.bin")), "bytes, refusing")

    def test_unclosed_declarations_take_linear_time(self):
        # 100k lines that each open a declaration list and never close it: a
        # search that crossed lines went quadratic (minutes); this is milliseconds.
        with zipfile.ZipFile(self.other) as z:
            name = next(n for n in z.namelist() if "/code/" in n and n.endswith(".py"))
            text = z.read(name)
        cls = text.split(b"class ", 1)[1].split(b"(", 1)[0].split(b":", 1)[0]
        body = b"class " + cls + b"(Module):\n" + b"  __parameters__ = [\n" * 100000
        src = replace_entry(self.other, self.path("unclosed.pt"), name, body)
        t0 = time.monotonic()
        r = run_here("import", src, self.path("out.bin"))
        self.assertLess(time.monotonic() - t0, 20)
        self.assertEqual(r.returncode, 1, r.stderr)

    def test_plain_tensor_attributes_are_not_state(self):
        # What the declarations in code/ decide: without them the plain tensor
        # attribute `scale` would be taken for state.
        with open(self.archive, "rb") as f:
            _, state = cw.read_torchscript(self.archive, f.read())
        self.assertNotIn("scale", state)
        self.assertEqual(list(state), list(self.module.state_dict()))


if __name__ == "__main__":
    unittest.main()
