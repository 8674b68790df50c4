#!/usr/bin/env python3
"""tools/convert_weights.py: official pickles (with the real persistence layout),
refusal of foreign pickles, state-dict round trips, rosinality checkpoints and
bad input. Run with /usr/bin/python3 (PyTorch); exits 77 when torch is missing.
"""
import argparse
import collections
import contextlib
import copy
import io
import json
import os
import pickle
import stat
import struct
import subprocess
import sys
import tempfile
import types
import unittest
import warnings
import zlib

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
except ImportError:
    print("SKIP: torch or numpy is not importable")
    sys.exit(77)

TOOLS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools")
sys.path.insert(0, TOOLS)
sys.path[:0] = [os.path.join(TOOLS, "reference"), os.path.join(TOOLS, "fixtures")]
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import convert_weights as cw  # noqa: E402
from program_signals import as_a_program_starts  # noqa: E402
import perceptual_reference as pr  # noqa: E402
import stylegan2_reference as ref  # noqa: E402

SCRIPT = os.path.join(TOOLS, "convert_weights.py")

G_CFG = dict(z_dim=8, c_dim=3, w_dim=8, img_resolution=16, img_channels=3, mapping_layers=2,
             mapping_lr_multiplier=0.01, w_avg_beta=0.995, channel_base=64, channel_max=8, conv_clamp=256.0,
             use_noise=True)
D_CFG = dict(c_dim=3, img_resolution=16, img_channels=3, architecture="resnet", channel_base=64, channel_max=8,
             conv_clamp=256.0, mbstd_group_size=2, mbstd_num_channels=1, cmap_dim=8, mapping_layers=2,
             freeze_layers=0)
# StyleGAN2-ADA's --cfg cifar discriminator: no skip layers, the convs at gain 1.
D_ORIG_CFG = dict(D_CFG, architecture="orig")


def make_nets(seed=0, g_cfg=G_CFG, d_cfg=D_CFG):
    torch.manual_seed(seed)
    nets = {"G": ref.Generator(**g_cfg), "D": ref.Discriminator(**d_cfg)}
    nets["G_ema"] = copy.deepcopy(nets["G"])
    with torch.no_grad():
        for net in nets.values():
            for name, t in net.state_dict().items():
                if not name.endswith("resample_filter"):
                    t.add_(0.2 * torch.randn(t.shape))
    return nets


def outputs(nets, seed=1):
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn([4, nets["G_ema"].mapping.z_dim], generator=gen)
    c_dim = nets["G_ema"].mapping.c_dim
    c = torch.eye(c_dim)[torch.randint(c_dim, [4], generator=gen)] if c_dim else None
    with torch.no_grad():
        img = nets["G_ema"](z, c, 0.7, None, "const")
        return img, nets["D"](img, c)


def nets_from_bin(path):
    tensors, meta = cw.read_bin(path)
    nets = {}
    for key in ("G", "D", "G_ema"):
        state = {n[len(key) + 1:]: t for n, t in tensors.items() if n.startswith(key + ".")}
        if not state:
            continue
        kwargs = json.loads(meta["D_kwargs" if key == "D" else "G_kwargs"])
        net = ref.Discriminator(**kwargs) if key == "D" else ref.Generator(**kwargs)
        net.load_state_dict(state)
        nets[key] = net
    return nets, meta


def run(*args):
    return subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True)


def assert_one_error_line(test, result, *needles, notes=False):
    """The converter's refusal: exit 1 and one 'convert_weights: error:' line
    holding every needle (with notes, its 'note:' lines are passed over)."""
    test.assertEqual(result.returncode, 1, result.stderr)
    lines = [l for l in result.stderr.strip().splitlines() if not (notes and l.startswith("convert_weights: note:"))]
    test.assertEqual(len(lines), 1, result.stderr)
    test.assertTrue(lines[0].startswith("convert_weights: error: "), lines[0])
    for n in needles:
        test.assertIn(n, lines[0])


class TempDirTest(unittest.TestCase):
    """A case with a temporary folder of its own (self.dir, removed after
    each test); path(name) names a file in it. The converter tests' base."""

    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)

    def path(self, name):
        return os.path.join(self.dir.name, name)


def run_here(*args):
    """run() in this process, without an interpreter and torch start-up per
    call: cw.main() is what the script's entry runs after parsing (it turns
    every error into the one line and exit 1), so the result is the same.
    Flag errors (SystemExit from parse_args) give their exit code, and warnings
    are shown as a fresh process shows them (an extra stderr line fails the
    one-line checks here as it would there). The refusal tests' pickles can at
    most touch the sentinel file if they ever ran, visible as in a child.
    GF_CROSSCHECK_CONVERT=1 runs the script too and asserts the same exit
    status, stderr and stdout."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out), warnings.catch_warnings():
        warnings.resetwarnings()  # as python3 SCRIPT: the interpreter's defaults, the converter as __main__
        for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
            warnings.simplefilter("ignore", category)
        warnings.filterwarnings("default", category=DeprecationWarning, module="convert_weights")
        try:
            rc = cw.main(list(args))
        except SystemExit as e:
            rc = 0 if e.code is None else e.code if isinstance(e.code, int) else 1
    here = types.SimpleNamespace(returncode=rc, stdout=out.getvalue(), stderr=err.getvalue())
    if os.environ.get("GF_CROSSCHECK_CONVERT"):  # also run the script, and expect the same (slow: the old way)
        there = run(*args)
        assert (there.returncode, there.stderr, there.stdout) == (here.returncode, here.stderr, here.stdout), \
            (args, there, here)
    return here


# ---- a stand-in for the official pickle layout: torch_utils.persistence wraps
# every network module, whose reduce calls _reconstruct_persistent_obj(meta) with
# the module source, class name and the module's __dict__ as state.

def _reconstruct_persistent_obj(meta):  # never called: the converter must use its own
    raise AssertionError("the test's persistence function ran")


class EasyDict(dict):
    pass


def _register(module, name, obj):
    package = module.split(".")[0]
    setattr(sys.modules.setdefault(package, types.ModuleType(package)), module.split(".")[1],
            sys.modules.setdefault(module, types.ModuleType(module)))
    mod = sys.modules[module]
    setattr(mod, name, obj)
    obj.__module__, obj.__qualname__ = module, name


def _register_standins():
    # Again before each pickle is written: a module of the same name may stand
    # in sys.modules by then (pickle.dump checks the name leads to the object).
    _register("torch_utils.persistence", "_reconstruct_persistent_obj", _reconstruct_persistent_obj)
    _register("dnnlib.util", "EasyDict", EasyDict)


_register_standins()

SENTINEL_SRC = "import os\nopen(os.environ.get('GF_SENTINEL', '/dev/null'), 'w').write('ran')\n"


class Persistent:
    def __init__(self, class_name, state):
        self.class_name, self.state = class_name, state

    def __reduce__(self):
        meta = dict(type="class", version=4, module_src=SENTINEL_SRC, class_name=self.class_name, state=self.state)
        return _reconstruct_persistent_obj, (meta,)


def persistent(module, mbstd=None):
    """The module tree as official pickles hold it, with the attributes the
    official classes record (numpy scalars, architecture, w_avg_beta, mbstd)."""
    state = dict(module.__dict__)
    state["_modules"] = collections.OrderedDict((n, persistent(m)) for n, m in module._modules.items())
    state["act_gain"] = np.float64(np.sqrt(2))
    state["_init_kwargs"] = EasyDict(resample_filter=[1, 3, 3, 1])
    name = type(module).__name__
    if name in ("SynthesisBlock", "DiscriminatorBlock"):
        state["architecture"] = "skip" if name == "SynthesisBlock" else module.architecture
    if name == "MappingNetwork":
        state["w_avg_beta"] = np.float64(0.995) if module.num_ws is not None else None
    if name == "Discriminator":  # recorded by its blocks and epilogue, as the official classes do
        state["_modules"]["b4"].state["architecture"] = state.pop("architecture")
    if name == "DiscriminatorEpilogue":
        state["_modules"]["mbstd"] = Persistent("MinibatchStdLayer", dict(
            _parameters=collections.OrderedDict(), _buffers=collections.OrderedDict(),
            _modules=collections.OrderedDict(), group_size=module.mbstd_group_size,
            num_channels=module.mbstd_num_channels))
    return Persistent(name, state)


def official_pickle(nets, path, edit=None):
    """nets as an official pickle at path; edit(data) may change it first."""
    _register_standins()
    data = {k: persistent(v) for k, v in nets.items()}
    data["augment_pipe"] = Persistent("AugmentPipe", dict(
        _parameters=collections.OrderedDict(), _buffers=collections.OrderedDict(p=torch.zeros([])),
        _modules=collections.OrderedDict(), xflip=np.float64(1.0)))
    data["training_set_kwargs"] = EasyDict(path="ffhq.zip", resolution=16)
    if edit:
        edit(data)
    with open(path, "wb") as f:
        pickle.dump(data, f)


class Evil:
    def __reduce__(self):
        return os.system, ("touch " + os.environ["GF_SENTINEL"],)


# ---- storage blobs: inside an official pickle each tensor's storage is
# torch.storage._load_from_bytes(b), b a legacy torch.save stream of the storage.

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
SYS_INFO = dict(protocol_version=1001, little_endian=True, type_sizes=dict(short=2, int=4, long=4))


def legacy_blob(main_pickle, keys=(), raw=b""):
    head = b"".join(pickle.dumps(x, protocol=2) for x in (LEGACY_MAGIC, 1001, SYS_INFO))
    return head + main_pickle + pickle.dumps(list(keys), protocol=2) + raw


class _PidPickler(pickle.Pickler):
    def __init__(self, f, pid):
        super().__init__(f, protocol=2)
        self.pid = pid

    def persistent_id(self, obj):
        return self.pid if obj is _PID_MARK else None


_PID_MARK = object()


def pid_pickle(pid):
    buf = io.BytesIO()
    _PidPickler(buf, pid).dump(_PID_MARK)
    return buf.getvalue()


class StorageBytes:
    """Pickles as torch.storage._load_from_bytes(blob), as a storage does."""

    def __init__(self, blob):
        self.blob = blob

    def __reduce__(self):
        return torch.storage._load_from_bytes, (self.blob,)


def pickle_with_storage(path, blob):
    state = dict(_parameters=collections.OrderedDict(w=StorageBytes(blob)), _buffers=collections.OrderedDict(),
                 _modules=collections.OrderedDict())
    with open(path, "wb") as f:
        pickle.dump({"G": Persistent("Generator", state)}, f)


class ConvertWeightsTest(TempDirTest):
    def setUp(self):
        super().setUp()
        self.sentinel = self.path("sentinel")
        os.environ["GF_SENTINEL"] = self.sentinel

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

    def assert_same_bundle(self, a, b):
        """The two .bin files hold the same metadata and bit-identical tensors."""
        ta, ma = cw.read_bin(a)
        tb, mb = cw.read_bin(b)
        self.assertEqual(ma, mb)
        self.assertEqual(sorted(ta), sorted(tb))
        for n in ta:
            self.assertTrue(torch.equal(ta[n], tb[n]), n)

    def assert_error(self, result, *needles):
        assert_one_error_line(self, result, *needles)

    def assert_nothing_written(self, out):
        self.assertFalse(os.path.exists(out))
        folder, name = os.path.split(out)
        self.assertEqual([f for f in os.listdir(folder or ".") if f.startswith(name + ".")], [])  # no temporary left

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

    def test_foreign_pickle_is_refused(self):
        src, out = self.path("evil.pkl"), self.path("out.bin")
        with open(src, "wb") as f:
            pickle.dump({"G": Evil()}, f)
        r = run("import", src, out)
        self.assert_error(r, src, "pickle asks for posix.system, refusing")
        self.assertFalse(os.path.exists(self.sentinel))
        self.assert_nothing_written(out)

    def test_malicious_storage_bytes_are_refused(self):
        # The bytes are parsed by the converter (never torch.load, which on
        # torch < 2.6 runs code even with weights_only=True).
        out = self.path("out.bin")
        fake_storage = ("storage", torch.FloatStorage, "0", "cpu", 1, None)
        cases = {
            "reduce.pkl": (legacy_blob(pickle.dumps(Evil(), protocol=2)), "posix.system, refusing"),
            "pid_global.pkl": (legacy_blob(pid_pickle(("storage", os.system, "0", "cpu", 1, None))),
                               "posix.system, refusing"),
            "pid_other.pkl": (legacy_blob(pid_pickle(("storage", collections.OrderedDict, "0", "cpu", 1, None))),
                              "collections.OrderedDict, refusing"),
            "magic.pkl": (pickle.dumps(Evil(), protocol=2), "posix.system, refusing"),
            "pid_module.pkl": (legacy_blob(pid_pickle(("module", "x", "y", "z"))), "unexpected persistent id"),
            "short.pkl": (legacy_blob(pid_pickle(fake_storage), ["0"], b"\x01" + b"\0" * 7 + b"\0" * 3),
                          "truncated"),
            "long.pkl": (legacy_blob(pid_pickle(fake_storage), ["0"], b"\x01" + b"\0" * 7 + b"\0" * 5),
                         "trailing bytes"),
            "count.pkl": (legacy_blob(pid_pickle(fake_storage), ["0"], b"\x02" + b"\0" * 7 + b"\0" * 8),
                          "has 2 elements, expected 1"),
            "keys.pkl": (legacy_blob(pid_pickle(fake_storage), ["1"], b"\x01" + b"\0" * 7 + b"\0" * 4),
                         "storage key list"),
        }
        for name, (blob, needle) in cases.items():
            src = self.path(name)
            pickle_with_storage(src, blob)
            self.assert_error(run_here("import", src, out), src, needle)
            self.assertFalse(os.path.exists(self.sentinel), name)
            self.assert_nothing_written(out)
        # The same layout with honest bytes, and a real storage's bytes, parse.
        good = legacy_blob(pid_pickle(fake_storage), ["0"], b"\x01" + b"\0" * 7 + np.float32(2.5).tobytes())
        self.assertEqual(cw._load_storage(good, "x").array.tolist(), [2.5])
        t = torch.arange(5, dtype=torch.float64).storage()
        fn, (blob,) = t.__reduce__()
        self.assertIs(fn, torch.storage._load_from_bytes)
        self.assertEqual(cw._load_storage(blob, "x").array.tolist(), [0, 1, 2, 3, 4])
        # An expand()ed tensor (stride 0, more elements than its storage) is a
        # real torch.save layout and reads back; one that expands a storage
        # into unbounded memory is refused by the rebuild bound.
        one = cw.StorageRef(("storage", cw.StorageType("FloatStorage"), "k", "cpu", 1), "x")
        one.set_bytes(np.float32(1.5).tobytes(), "x")
        self.assertTrue(torch.equal(cw._rebuild_tensor_v2(one, 0, (16, 16), (0, 0)), torch.full((16, 16), 1.5)))
        with self.assertRaisesRegex(pickle.UnpicklingError, "rebuilt into tensors more than"):
            cw._rebuild_tensor_v2(one, 0, (1 << 20, 1 << 20), (0, 0))
        with self.assertRaisesRegex(pickle.UnpicklingError, "does not fit its storage of 1"):
            cw._rebuild_tensor_v2(one, 1, (1,), (1,))

    def test_malicious_torch_file_is_refused(self):
        out = self.path("out.bin")
        for legacy in (False, True):
            src = self.path(f"evil{legacy}.pt")
            torch.save({"G": {"w": torch.zeros(2)}, "x": Evil()}, src, _use_new_zipfile_serialization=not legacy)
            self.assert_error(run_here("import", src, out), src, "posix.system, refusing")
            self.assertFalse(os.path.exists(self.sentinel))
            self.assert_nothing_written(out)

    def test_cyclic_and_malformed_pickles_give_one_line(self):
        out = self.path("out.bin")
        empty = collections.OrderedDict
        # A cycle through the pickle memo: the child's _modules is its parent's.
        mods = empty()
        mods["child"] = Persistent("Child", dict(_parameters=empty(), _buffers=empty(), _modules=mods))
        src = self.path("cycle.pkl")
        with open(src, "wb") as f:
            pickle.dump({"G": Persistent("Generator", dict(_parameters=empty(), _buffers=empty(), _modules=mods))}, f)
        self.assert_error(run_here("import", src, out), src, "appears twice")
        self.assert_nothing_written(out)
        # Wrong container types: reported with the exception's type, no traceback.
        src = self.path("list.pkl")
        with open(src, "wb") as f:
            pickle.dump({"G": Persistent("Generator", dict(_parameters=[1], _buffers=empty(), _modules=empty()))}, f)
        self.assert_error(run_here("import", src, out), src, "AttributeError")
        self.assert_nothing_written(out)
        # A bytearray of an impossible length (a flipped opcode in a real
        # pickle): CPython also printed "SystemError: deallocated bytearray
        # object has exported buffers" as the failed load was freed.
        src = self.path("bytearray8.pkl")
        with open(src, "wb") as f:
            f.write(b"\x80\x05\x96" + (4641028034490045522).to_bytes(8, "little") + b"abc" * 1000)
        self.assert_error(run_here("import", src, out), src, "not a readable pickle (MemoryError)")
        self.assert_nothing_written(out)

    def test_memo_slot_bomb_refused_quickly(self):
        # LONG_BINPUT into slot 2^30 - 1: the C unpickler grew its memo to the
        # slot, 17 GB and half a minute, before failing.
        out, src = self.path("out.bin"), self.path("memo.pkl")
        with open(src, "wb") as f:
            f.write(b"\x80\x02}r" + struct.pack("<I", 0x3FFFFFFF) + b".")
        self.assert_error(run_here("import", src, out), src, "memo slot 1073741823")
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

    def test_whole_snapshot_dict_and_an_other_label_embedding(self):
        nets = make_nets(seed=3)
        out = self.path("out.bin")
        flags = ["--format", "state-dict", "--conv-clamp", "256", "--mbstd-group-size", "2"]
        # An official snapshot dumped whole with torch.save: its augment pipe
        # and data options beside the networks were refused.
        src = self.path("snapshot.pt")
        whole = {k: v.state_dict() for k, v in nets.items()}
        whole.update(augment_pipe={"p": torch.zeros([])}, training_set_kwargs={"path": "ffhq.zip"})
        torch.save(whole, src)
        r = run_here("import", src, out, *flags)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(cw.read_bin(out)[1]["training_set_kwargs"]), {"path": "ffhq.zip"})
        # mapping_kwargs embed_features other than w_dim: one line naming it,
        # not "has shape [6, 3], expected [8, 3]" as if the file were damaged.
        sd = nets["G"].state_dict()
        sd["mapping.embed.weight"] = torch.zeros(6, 3)
        sd["mapping.embed.bias"] = torch.zeros(6)
        sd["mapping.fc0.weight"] = torch.zeros(8, 8 + 6)
        src = self.path("embed6.pt")
        torch.save({"G": sd}, src)
        self.assert_error(run_here("import", src, self.path("embed.bin"), *flags), src,
                          "its label embedding has 6 features, not w_dim 8")

    def test_state_dict_round_trip(self):
        nets = make_nets(seed=2)
        sd, a, pt, b = self.path("sd.pt"), self.path("a.bin"), self.path("b.pt"), self.path("b.bin")
        torch.save({k: v.state_dict() for k, v in nets.items()}, sd)
        flags = ["--format", "state-dict", "--conv-clamp", "256", "--mbstd-group-size", "2"]
        self.assertEqual(run_here("import", sd, a, *flags).returncode, 0)
        r = run_here("export", a, pt, "--net", "all")
        self.assertEqual(r.returncode, 0, r.stderr)
        exported = torch.load(pt)
        self.assertEqual(sorted(exported), ["D", "G", "G_ema"])
        for key, net in nets.items():
            fresh = ref.Discriminator(**D_CFG) if key == "D" else ref.Generator(**G_CFG)
            fresh.load_state_dict(exported[key])  # strict: official names, buffers included
            for n, t in net.state_dict().items():
                self.assertTrue(torch.equal(fresh.state_dict()[n], t), f"{key}.{n}")
        # The export names the flags that give the state dict back its settings.
        said = [ln for ln in r.stdout.splitlines() if ln.startswith("a state dict holds no settings")]
        self.assertEqual(len(said), 1, r.stdout)
        self.assertIn("--conv-clamp 256 --mbstd-group-size 2 ", said[0])
        self.assertEqual(run_here("import", pt, b, "--format", "state-dict", "--conv-clamp", "256",
                                  "--mbstd-group-size", "2").returncode, 0)
        legacy, lb = self.path("legacy.pt"), self.path("legacy.bin")
        torch.save({k: v.state_dict() for k, v in nets.items()}, legacy, _use_new_zipfile_serialization=False)
        self.assertEqual(run_here("import", legacy, lb, *flags).returncode, 0)
        for other in (b, lb):
            self.assert_same_bundle(a, other)
        # One network: a generator state dict becomes G_ema, and exports alone.
        single, c, g_pt = self.path("g.pt"), self.path("c.bin"), self.path("g_out.pt")
        torch.save(nets["G_ema"].state_dict(), single)
        self.assertEqual(run_here("import", single, c, "--conv-clamp", "256").returncode, 0)
        r = run_here("export", c, g_pt)
        self.assertEqual(r.returncode, 0)
        self.assertIn("import it back with --conv-clamp 256 to keep them", r.stdout)
        g = torch.load(g_pt)
        self.assertEqual(set(g), set(nets["G_ema"].state_dict()))
        self.assert_error(run_here("export", c, self.path("d.pt"), "--net", "D"), "holds no D network")

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

    def corrupt(self, edit):
        nets = make_nets(seed=3)
        state = {k: v.state_dict() for k, v in nets.items()}
        edit(state)
        src, out = self.path("bad.pt"), self.path("bad.bin")
        torch.save(state, src)
        return run_here("import", src, out), out

    def test_missing_extra_misshapen_tensor_named(self):
        r, out = self.corrupt(lambda s: s["G_ema"].pop("synthesis.b8.conv0.affine.bias"))
        self.assert_error(r, "G_ema", "missing tensor synthesis.b8.conv0.affine.bias")
        self.assert_nothing_written(out)
        r, out = self.corrupt(lambda s: s["D"].__setitem__("b8.conv0.extra", torch.zeros(2)))
        self.assert_error(r, "D", "unexpected tensor b8.conv0.extra")
        self.assert_nothing_written(out)
        r, out = self.corrupt(lambda s: s["G"].__setitem__("synthesis.b16.torgb.bias", torch.zeros(4)))
        self.assert_error(r, "G:", "tensor synthesis.b16.torgb.bias has shape [4], expected [3]")
        self.assert_nothing_written(out)

    def test_non_finite_weight_refused(self):
        # 8 bytes of 0xff in a weight's data read as NaN: once converted silently.
        def poison(s):
            s["G_ema"]["mapping.fc0.weight"][1, 2] = float("nan")
        r, out = self.corrupt(poison)
        self.assert_error(r, "bad.pt", "tensor G_ema.mapping.fc0.weight holds nan at [1, 2]")
        self.assert_nothing_written(out)
        r, out = self.corrupt(lambda s: s["D"]["b4.fc.bias"].fill_(float("inf")))
        self.assert_error(r, "tensor D.b4.fc.bias holds inf")
        self.assert_nothing_written(out)
        # A diverged run's snapshot: finite weights, a NaN w_avg (the official
        # uses it only to truncate), as the programs take it: kept, with a warning.
        r, out = self.corrupt(lambda s: [s[k]["mapping.w_avg"].fill_(float("nan")) for k in ("G", "G_ema")])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("bad.pt: G_ema.mapping.w_avg is not finite (8 values; its training diverged)", r.stderr)
        self.assertTrue(torch.isnan(cw.read_bin(out)[0]["G_ema.mapping.w_avg"]).all())

    def test_control_characters_in_names_stay_on_one_line(self):
        # A name taken from the file is quoted in the error: its newline must not split the line.
        r, out = self.corrupt(lambda s: s["D"].__setitem__("b8.conv0\nextra", torch.zeros(2)))
        self.assert_error(r, "unexpected tensor b8.conv0\\nextra")
        self.assert_nothing_written(out)

    def test_bad_files(self):
        nets = make_nets(seed=4)
        good = self.path("good.pt")
        torch.save({k: v.state_dict() for k, v in nets.items()}, good)
        with open(good, "rb") as f:
            data = f.read()
        cases = {"truncated.pt": data[:len(data) // 2], "truncated.pkl": pickle.dumps({"G": 1})[:7],
                 "text.pkl": b"not a pickle at all\n", "empty.pt": b""}
        for name, blob in cases.items():
            src, out = self.path(name), self.path(name + ".bin")
            with open(src, "wb") as f:
                f.write(blob)
            self.assert_error(run_here("import", src, out), src)
            self.assert_nothing_written(out)
        out = self.path("x.bin")
        self.assert_error(run_here("import", self.path("absent.pkl"), out), "absent.pkl", "cannot read")
        self.assert_nothing_written(out)
        self.assert_error(run_here("import", good, out, "--format", "rosinality"), "not a rosinality checkpoint")
        self.assert_nothing_written(out)
        # Through the script once per subcommand (here and test_foreign_pickle_is_refused):
        # the process's stderr is the one line and its exit status 1.
        self.assert_error(run("export", good, self.path("y.pt")), "not a ganforge .bin, or truncated")
        npy = self.path("imgs.npy")
        np.save(npy, np.zeros([2, 3], np.float32))
        self.assert_error(run_here("export", npy, self.path("y.pt")), "imgs.npy: a NumPy .npy file")
        bundle = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "parity_32x1.bin")
        self.assert_error(run_here("import", bundle, out), "a ganforge .bin (metadata ", "the programs read it as it is")
        self.assert_nothing_written(out)

    def safetensors_file(self, path, header, body):
        raw = header if isinstance(header, bytes) else json.dumps(header).encode()
        raw += b" " * (-len(raw) % 8)
        with open(path, "wb") as f:
            f.write(struct.pack("<Q", len(raw)) + raw + body)

    def test_safetensors_state_dict_imports_as_a_torch_one(self):
        # safetensors.torch.save_file(G.state_dict()): official names, no
        # metadata. It was refused as "a safetensors file (a ganforge .bin?)".
        nets = make_nets(seed=6)
        state = {k: v.detach().float().contiguous() for k, v in nets["G_ema"].state_dict().items()}
        header, body, at = {}, b"", 0
        for k, v in state.items():
            b = v.numpy().astype("<f4").tobytes()
            header[k] = {"dtype": "F32", "shape": list(v.shape), "data_offsets": [at, at + len(b)]}
            body, at = body + b, at + len(b)
        st, pt = self.path("G.safetensors"), self.path("G.pt")
        self.safetensors_file(st, header, body)
        torch.save(state, pt)
        a, b = self.path("from_st.bin"), self.path("from_pt.bin")
        self.assertEqual(run_here("import", st, a).returncode, 0)
        self.assertEqual(run_here("import", pt, b).returncode, 0)
        self.assert_same_bundle(a, b)
        self.assert_error(run_here("import", st, self.path("x.bin"), "--format", "official-pkl"),
                          "a safetensors file, not --format official-pkl")
        # The same in float16, and a bundle's flat names (G_ema.*, D.*): as torch.save's forms.
        h16, b16, at = {}, b"", 0
        for k, v in state.items():
            b = v.numpy().astype("<f2").tobytes()
            h16[k] = {"dtype": "F16", "shape": list(v.shape), "data_offsets": [at, at + len(b)]}
            b16, at = b16 + b, at + len(b)
        self.safetensors_file(self.path("G16.safetensors"), h16, b16)
        torch.save({k: v.half() for k, v in state.items()}, self.path("G16.pt"))
        self.assertEqual(run_here("import", self.path("G16.safetensors"), self.path("a16.bin")).returncode, 0)
        self.assertEqual(run_here("import", self.path("G16.pt"), self.path("b16.bin")).returncode, 0)
        self.assertEqual(cw.read_bin(self.path("a16.bin"))[0].keys(), cw.read_bin(self.path("b16.bin"))[0].keys())
        flat = {"G_ema." + k: dict(e) for k, e in header.items()}
        self.safetensors_file(self.path("flat.safetensors"), flat, body)
        r = run_here("import", self.path("flat.safetensors"), self.path("flat.bin"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(sorted(cw.read_bin(self.path("flat.bin"))[0]), sorted(cw.read_bin(a)[0]))
        # Any file a ganforge writer made (its data_crc32) is no state dict to import.
        self.safetensors_file(self.path("draws.bin"), {**header, "__metadata__": {"data_crc32": f"{zlib.crc32(body):08x}"}}, body)
        self.assert_error(run_here("import", self.path("draws.bin"), self.path("y.bin")),
                          "a ganforge .bin (metadata data_crc32)")

    def test_bin_header_read_as_strictly_as_the_cpp_reader(self):
        # export's reader took what the C++ reader and the safetensors library
        # refuse: repeated keys (the last one kept), non-string metadata, a
        # byte-order mark, bytes after a NUL, encoded surrogates.
        entry = {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}
        text = json.dumps({"G_ema.x": entry, "__metadata__": {"network": "G_ema"}}).encode()
        cases = [
            (text.replace(b'"G_ema.x"', b'"G_ema.x": ' + json.dumps(entry).encode() + b', "G_ema.x"', 1),
             "the key \"G_ema.x\" appears twice"),
            (json.dumps({"G_ema.x": entry, "__metadata__": {"n": {"a": 1}}}).encode(), "must map strings to strings"),
            (b"\xef\xbb\xbf" + text, "does not begin with '{'"),
            (text + b"\0" + b"{junk", f"a NUL byte at byte {len(text)}"),
            (text.replace(b"G_ema.x", b"G_ema.\xed\xa0\x80", 1), "is not UTF-8"),
            (text.replace(b'"G_ema.x"', b'"G_ema.\\ud800"', 1), "a lone surrogate"),
            (text.replace(b'"shape"', b'"pad": NaN, "shape"', 1), "NaN is not JSON"),
        ]
        for i, (header, needle) in enumerate(cases):
            with self.subTest(needle=needle):
                bad, out = self.path(f"bad{i}.bin"), self.path(f"out{i}.pt")
                self.safetensors_file(bad, header, bytes(4))
                self.assert_error(run_here("export", bad, out), needle)
                self.assert_nothing_written(out)

    def test_pipe_refused_not_waited_on(self):
        # Opening a FIFO nobody writes blocked import and export forever; a
        # pipe is refused at once, as the C++ reader refuses it.
        fifo = self.path("pipe.bin")
        os.mkfifo(fifo)
        for cmd in ("export", "import"):
            with self.subTest(cmd=cmd):
                out = self.path(f"out_{cmd}.bin")
                self.assert_error(run_here(cmd, fifo, out), fifo, "is a pipe, not a file")
                self.assert_nothing_written(out)

    def test_bin_carries_a_crc_checked_on_export(self):
        # The converter writes the data's CRC-32 as the C++ writer does, and
        # export refuses a .bin whose data changed since (a flipped bit).
        nets = make_nets(seed=5)
        src, good = self.path("net.pkl"), self.path("net.bin")
        official_pickle(nets, src)
        self.assertEqual(run_here("import", src, good).returncode, 0)
        with open(good, "rb") as f:
            data = bytearray(f.read())
        n = struct.unpack("<Q", data[:8])[0]
        meta = json.loads(data[8:8 + n])["__metadata__"]
        self.assertEqual(meta["data_crc32"], f"{zlib.crc32(bytes(data[8 + n:])):08x}")
        self.assertEqual(run_here("export", good, self.path("ok.pkl")).returncode, 0)
        # The metadata's CRC-32, as the C++ writer computes it: a flipped bit
        # in a config value is refused too.
        self.assertEqual(meta["metadata_crc32"], cw.metadata_crc(meta))
        key = b'z_dim\\": '  # inside G_kwargs' JSON text: a digit follows
        at = bytes(data).index(key) + len(key)
        self.assertTrue(chr(data[at]).isdigit())
        meta_flipped = bytearray(data)
        meta_flipped[at] ^= 0x01
        bad_meta, out_meta = self.path("meta_flipped.bin"), self.path("out_meta.pkl")
        with open(bad_meta, "wb") as f:
            f.write(bytes(meta_flipped))
        self.assert_error(run_here("export", bad_meta, out_meta), bad_meta, "its metadata fails its CRC-32")
        self.assert_nothing_written(out_meta)
        data[-5] ^= 0x10
        bad = self.path("flipped.bin")
        with open(bad, "wb") as f:
            f.write(bytes(data))
        out = self.path("out.pkl")
        self.assert_error(run_here("export", bad, out), bad, "fails its CRC-32")
        self.assert_nothing_written(out)
        # A header that points one tensor at another's bytes (the CRC still
        # holds), or leaves bytes to none: refused as the C++ reader refuses it;
        # export wrote G's weights as G_ema's.
        with open(good, "rb") as f:
            data = f.read()  # unflipped
        header = json.loads(data[8:8 + n])
        g = next(k for k in sorted(header) if k.startswith("G.") and "G_ema." + k[2:] in header)
        e = "G_ema." + g[2:]  # the same shape as g: only the overlap is wrong
        for edit, needle in [(lambda h: h[e].__setitem__("data_offsets", list(h[g]["data_offsets"])), "overlaps tensor"),
                             (lambda h: h.pop(g), "belong to no tensor")]:
            with self.subTest(needle=needle):
                h = json.loads(data[8:8 + n])
                edit(h)
                text = json.dumps(h).encode()
                lied = self.path("lied.bin")
                with open(lied, "wb") as f:
                    f.write(struct.pack("<Q", len(text)) + text + bytes(data[8 + n:]))
                self.assert_error(run_here("export", lied, out), lied, needle)
                self.assert_nothing_written(out)

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


def to_rosinality_g(G):
    """Official names -> rosinality's Generator layout (the converter's inverse)."""
    s = G.state_dict()
    out = {}
    for i in range(G.mapping.num_layers):
        out[f"style.{i + 1}.weight"] = s[f"mapping.fc{i}.weight"]
        out[f"style.{i + 1}.bias"] = s[f"mapping.fc{i}.bias"]
    out["input.input"] = s["synthesis.b4.const"][None]

    def styled(dst, src, noise_idx):
        out[f"{dst}.conv.weight"] = s[f"{src}.weight"][None]
        out[f"{dst}.conv.modulation.weight"] = s[f"{src}.affine.weight"]
        out[f"{dst}.conv.modulation.bias"] = s[f"{src}.affine.bias"]
        out[f"{dst}.noise.weight"] = s[f"{src}.noise_strength"].reshape(1)
        out[f"{dst}.activate.bias"] = s[f"{src}.bias"]
        out[f"noises.noise_{noise_idx}"] = s[f"{src}.noise_const"][None, None]

    def torgb(dst, src):
        out[f"{dst}.conv.weight"] = s[f"{src}.weight"][None]
        out[f"{dst}.conv.modulation.weight"] = s[f"{src}.affine.weight"]
        out[f"{dst}.conv.modulation.bias"] = s[f"{src}.affine.bias"]
        out[f"{dst}.bias"] = s[f"{src}.bias"].reshape(1, -1, 1, 1)

    styled("conv1", "synthesis.b4.conv1", 0)
    torgb("to_rgb1", "synthesis.b4.torgb")
    for k, res in enumerate(G.synthesis.resolutions[1:]):
        styled(f"convs.{2 * k}", f"synthesis.b{res}.conv0", 2 * k + 1)
        out[f"convs.{2 * k}.conv.blur.kernel"] = ref.setup_filter() * 4
        styled(f"convs.{2 * k + 1}", f"synthesis.b{res}.conv1", 2 * k + 2)
        torgb(f"to_rgbs.{k}", f"synthesis.b{res}.torgb")
        out[f"to_rgbs.{k}.upsample.kernel"] = ref.setup_filter() * 4
    return out


def to_rosinality_d(D):
    s = D.state_dict()
    top = D.resolutions[0]
    out = {"convs.0.0.weight": s[f"b{top}.fromrgb.weight"], "convs.0.1.bias": s[f"b{top}.fromrgb.bias"]}
    for j, res in enumerate(D.resolutions, start=1):
        out[f"convs.{j}.conv1.0.weight"] = s[f"b{res}.conv0.weight"]
        out[f"convs.{j}.conv1.1.bias"] = s[f"b{res}.conv0.bias"]
        out[f"convs.{j}.conv2.0.kernel"] = ref.setup_filter()
        out[f"convs.{j}.conv2.1.weight"] = s[f"b{res}.conv1.weight"]
        out[f"convs.{j}.conv2.2.bias"] = s[f"b{res}.conv1.bias"]
        out[f"convs.{j}.skip.0.kernel"] = ref.setup_filter()
        out[f"convs.{j}.skip.1.weight"] = s[f"b{res}.skip.weight"]
    out["final_conv.0.weight"] = s["b4.conv.weight"]
    out["final_conv.1.bias"] = s["b4.conv.bias"]
    for src, dst in (("b4.fc", "final_linear.0"), ("b4.out", "final_linear.1")):
        out[f"{dst}.weight"] = s[f"{src}.weight"]
        out[f"{dst}.bias"] = s[f"{src}.bias"]
    return out



class OutputFolderTest(unittest.TestCase):
    """DST in a folder that does not exist yet is written there, as every
    program makes its output's folder; a file in the way is one line."""

    def test_output_folder_made(self):
        src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "parity_32x1.bin")
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "new", "sub", "state.pt")
            r = run_here("export", src, out)
            self.assertEqual((r.returncode, r.stderr), (0, ""))
            self.assertTrue(os.path.isfile(out))
            with open(os.path.join(d, "file"), "w") as f:
                f.write("in the way")
            bad = os.path.join(d, "file", "state.pt")
            # Refused by the script before NumPy and PyTorch load: run as a process.
            r = subprocess.run([sys.executable, SCRIPT, "export", src, bad], capture_output=True, text=True, timeout=300)
            self.assertEqual(r.returncode, 1)
            self.assertEqual(r.stderr, f"convert_weights: error: {bad}: cannot make its folder {os.path.join(d, 'file')}: "
                                       "Not a directory\n")
            # A folder as DST, with or without its '/': named as a folder, before any work.
            for folder in (d, d + "/"):
                r = subprocess.run([sys.executable, SCRIPT, "export", src, folder], capture_output=True, text=True,
                                   timeout=300)
                self.assertEqual((r.returncode, r.stderr), (1, f"convert_weights: error: {folder}: is a folder; give the "
                                                               f"output's file name (as {os.path.join(folder, 'out.bin')})\n"))

    def test_refused_run_leaves_no_folder(self):
        # SRC missing: refused after DST's checks, before any write; DST's new
        # folder is made only at the write, so none is left.
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "new", "sub", "state.pt")
            r = run_here("export", os.path.join(d, "missing.bin"), out)
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertFalse(os.path.exists(os.path.join(d, "new")))


class InterruptedWriteTest(unittest.TestCase):
    """A SIGINT (Ctrl-C) or SIGTERM while write_atomic writes: the process dies of
    that signal, no temporary is left and the earlier file is whole."""

    # One process imports convert_weights (NumPy, PyTorch: seconds) once, then
    # forks a process per case, which runs the code as `python3 -c CODE TOOLS
    # ARGS...` would from there: an exception it leaves (KeyboardInterrupt,
    # SystemExit) ends that process at the interpreter's top level, as in a
    # fresh one. Prints the exit statuses, as subprocess gives them.
    SERVER = r"""
import json, os, sys
sys.path.insert(0, sys.argv[1])
import convert_weights  # noqa: F401  (the slow import, once for all cases)
code, cases, err, statuses = sys.argv[2], json.loads(sys.argv[3]), sys.argv[4], []
for i, args in enumerate(cases):
    pid = os.fork()
    if pid == 0:
        fd = os.open(f"{err}.{i}", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(fd, 2)
        os.close(fd)
        sys.argv = ["-c", sys.argv[1], *args]
        exec(compile(code, "<string>", "exec"), {"__name__": "__main__", "__builtins__": __builtins__})
        break  # the code ran to its end: exit 0, as a -c script
    statuses.append(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
else:
    print(json.dumps(statuses))
"""

    def run_cases(self, code, cases):
        """[(exit status, stderr)] of `python3 -c code TOOLS *args` for each args in cases."""
        with tempfile.TemporaryDirectory() as d:
            err = os.path.join(d, "stderr")
            r = subprocess.run([sys.executable, "-c", self.SERVER, TOOLS, code, json.dumps(cases), err],
                               capture_output=True, text=True, timeout=120 + 30 * len(cases),
                               preexec_fn=as_a_program_starts)
            self.assertEqual((r.returncode, r.stderr), (0, ""))
            statuses = json.loads(r.stdout)
            self.assertEqual(len(statuses), len(cases))
            stderrs = []
            for i in range(len(cases)):
                with open(f"{err}.{i}") as f:
                    stderrs.append(f.read())
            return list(zip(statuses, stderrs))

    CHILD = r"""
import os, signal, sys
sys.path.insert(0, sys.argv[1])
import convert_weights as cw
def chunks():
    yield b"x" * 65536
    assert os.path.exists(f"{sys.argv[2]}.{os.getpid()}.tmp")
    os.kill(os.getpid(), int(sys.argv[3]))
    signal.pause()
    yield b"y"
cw.write_atomic(sys.argv[2], chunks())
sys.exit(2)  # the signal did not end the process
"""

    def test_signal_mid_write(self):
        import signal
        sigs = (signal.SIGINT, signal.SIGTERM)
        with tempfile.TemporaryDirectory() as d:
            folders = [os.path.join(d, str(int(sig))) for sig in sigs]
            for folder in folders:
                os.mkdir(folder)
                with open(os.path.join(folder, "net.bin"), "wb") as f:
                    f.write(b"the earlier complete file")
            results = self.run_cases(self.CHILD, [[os.path.join(folder, "net.bin"), str(int(sig))]
                                                  for folder, sig in zip(folders, sigs)])
            for folder, sig, (status, stderr) in zip(folders, sigs, results):
                self.assertEqual(status, -sig, stderr)
                self.assertEqual(sorted(os.listdir(folder)), ["net.bin"])
                with open(os.path.join(folder, "net.bin"), "rb") as f:
                    self.assertEqual(f.read(), b"the earlier complete file")

    # As the program runs (die_by_signals first), with the signal sent where
    # a raised KeyboardInterrupt or SIGTERM exception once escaped: just as
    # write_atomic installs its handler (before its try), and while the
    # except of a failed write removes the temporary (which stayed).
    WINDOW = r"""
import os, signal, sys
sys.path.insert(0, sys.argv[1])
import convert_weights as cw
cw.die_by_signals()
sig, where = int(sys.argv[3]), sys.argv[4]
if where == "install":
    real_signal = signal.signal
    def hooked(s, h):
        old = real_signal(s, h)
        if s == sig and callable(h):
            os.kill(os.getpid(), sig)
        return old
    signal.signal = hooked
    chunks = [b"new"]
else:
    def failing():
        yield b"x" * 65536
        raise OSError(28, "No space left on device")
    real_remove = os.remove
    def remove(p):
        os.kill(os.getpid(), sig)
        real_remove(p)
    os.remove = remove
    chunks = failing()
cw.write_atomic(sys.argv[2], chunks)
sys.exit(2)  # the signal did not end the process
"""

    def test_signal_as_handler_goes_in_or_during_cleanup(self):
        import signal
        cases = [(where, sig) for where in ("install", "cleanup") for sig in (signal.SIGINT, signal.SIGTERM)]
        with tempfile.TemporaryDirectory() as d:
            folders = [os.path.join(d, str(i)) for i in range(len(cases))]
            for folder in folders:
                os.mkdir(folder)
                with open(os.path.join(folder, "net.bin"), "wb") as f:
                    f.write(b"the earlier complete file")
            results = self.run_cases(self.WINDOW, [[os.path.join(folder, "net.bin"), str(int(sig)), where]
                                                   for folder, (where, sig) in zip(folders, cases)])
            for folder, (where, sig), result in zip(folders, cases, results):
                with self.subTest(where=where, sig=sig):
                    self.assertEqual(result, (-sig, ""))
                    self.assertEqual(sorted(os.listdir(folder)), ["net.bin"])
                    with open(os.path.join(folder, "net.bin"), "rb") as f:
                        self.assertEqual(f.read(), b"the earlier complete file")

    def test_signal_while_importing_torch(self):
        # Ctrl-C while `import torch` runs (seconds on a cold disk) printed
        # KeyboardInterrupt's traceback. A stand-in torch package, found
        # first, sends the signal from inside the import.
        import signal
        with tempfile.TemporaryDirectory() as d:
            os.mkdir(os.path.join(d, "torch"))
            with open(os.path.join(d, "torch", "__init__.py"), "w") as f:
                f.write("import os, signal, sys\nos.kill(os.getpid(), int(os.environ['SIG']))\n"
                        "signal.pause()\nsys.exit(2)\n")
            src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "parity_32x1.bin")
            out = os.path.join(d, "out", "state.pt")
            for sig in (signal.SIGINT, signal.SIGTERM):
                env = dict(os.environ, PYTHONPATH=d, SIG=str(int(sig)))
                r = subprocess.run([sys.executable, SCRIPT, "export", src, out], env=env,
                                   capture_output=True, text=True, timeout=120, preexec_fn=as_a_program_starts)
                self.assertEqual((r.returncode, r.stderr, r.stdout), (-sig, "", ""))
                self.assertFalse(os.path.exists(out))

    def test_pipe_in_place_and_link_kept(self):
        # A rename over a device or pipe would replace the node (as root, export to
        # /dev/null made it a regular file); a FIFO stands in for the device here.
        with tempfile.TemporaryDirectory() as d:
            fifo = os.path.join(d, "out.fifo")
            os.mkfifo(fifo)
            rd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
            try:
                cw.write_atomic(fifo, [b"through ", b"the pipe"])
                self.assertEqual(os.read(rd, 64), b"through the pipe")
            finally:
                os.close(rd)
            self.assertTrue(stat.S_ISFIFO(os.stat(fifo).st_mode))
            target, link = os.path.join(d, "net.bin"), os.path.join(d, "latest.bin")
            cw.write_atomic(target, [b"old"])
            os.symlink("net.bin", link)
            cw.write_atomic(link, [b"new"])
            self.assertTrue(os.path.islink(link))
            with open(target, "rb") as f:
                self.assertEqual(f.read(), b"new")
            self.assertEqual(sorted(os.listdir(d)), ["latest.bin", "net.bin", "out.fifo"])

    def test_descriptor_written_through_not_replaced(self):
        # `export ... /dev/stdout >> all.bin`: the name leads through
        # /proc/self/fd/1 to a regular file, which a rename would replace.
        with tempfile.TemporaryDirectory() as d:
            target = os.path.join(d, "all.bin")
            cw.write_atomic(target, [b"kept|"])
            inode = os.stat(target).st_ino
            fd = os.open(target, os.O_WRONLY | os.O_APPEND)  # as the shell's >>
            like_dev_stdout = os.path.join(d, "stdout")
            os.symlink(f"/proc/self/fd/{fd}", like_dev_stdout)
            names = [f"/dev/fd/{fd}", f"/proc/self/fd/{fd}", like_dev_stdout]
            try:
                for name in names:
                    cw.write_atomic(name, [name.encode(), b"|"])
            finally:
                os.close(fd)
            self.assertEqual(os.stat(target).st_ino, inode)
            with open(target, "rb") as f:
                self.assertEqual(f.read(), b"kept|" + b"".join(n.encode() + b"|" for n in names))
            self.assertEqual(sorted(os.listdir(d)), ["all.bin", "stdout"])

    def test_fixture_writer_refuses_descriptor_names(self):
        # golden_io renames over its output; over /dev/stdout (a link) as root
        # that replaced the link. It refuses links and nodes, keeping the file.
        import golden_io
        with tempfile.TemporaryDirectory() as d:
            target = os.path.join(d, "all.bin")
            with open(target, "wb") as f:
                f.write(b"kept")
            fd = os.open(target, os.O_WRONLY | os.O_APPEND)
            like_dev_stdout = os.path.join(d, "stdout")
            os.symlink(f"/proc/self/fd/{fd}", like_dev_stdout)
            try:
                for name in (like_dev_stdout, f"/dev/fd/{fd}"):
                    with self.assertRaises(SystemExit):
                        golden_io.write_atomically(name, [b"x"])
            finally:
                os.close(fd)
            self.assertTrue(os.path.islink(like_dev_stdout))
            with open(target, "rb") as f:
                self.assertEqual(f.read(), b"kept")
            self.assertEqual(sorted(os.listdir(d)), ["all.bin", "stdout"])

if __name__ == "__main__":
    unittest.main()
