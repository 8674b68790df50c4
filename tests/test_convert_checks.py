#!/usr/bin/env python3
"""tools/convert_weights.py refuses, in one line naming the setting or tensor,
what the C++ loaders would refuse or what used to end in the catch-all:

- config values beyond ganforge's network size limit (models/config_json.h),
  floats, bools or strings where a whole number belongs, bools or strings
  where a number belongs (official, PGGAN, StyleGAN and StyleGAN2 TF pickles);
- tensors of the wrong rank where the converter reads a size or drops a
  batch axis (state dicts, rosinality, TF variables);
- a DEFLATE bomb in a torch.save zip, refused before it is inflated, while a
  re-zipped real file still imports;
- TF StyleGAN2 static_kwargs that disagree with the variables, and
  StyleGAN2-ADA's TF networks named for what they are.
Exit 77 (skip) without NumPy/PyTorch."""
import collections
import copy
import io
import json
import os
import pickle
import re
import struct
import sys
import time
import unittest
import zipfile

try:
    import numpy as np
    import torch
except ImportError:
    print("SKIP: torch or numpy is not importable")
    sys.exit(77)

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.join(HERE, "..", "tools")
sys.path.insert(0, TOOLS)
sys.path[:0] = [os.path.join(TOOLS, "reference"), os.path.join(TOOLS, "fixtures")]
sys.path.insert(0, HERE)
import convert_weights as cw  # noqa: E402
import make_pggan_pickle as mkpg  # noqa: E402
import make_stylegan2_tf_pickle as mk2  # noqa: E402
import make_stylegan_pickle as mkv1  # noqa: E402
from test_convert_stylegan2_tf import D_CFG as TF_D_CFG, G_CFG as TF_G_CFG, random_nets  # noqa: E402
from convert_weights_fixture import (D_CFG, G_CFG, TempDirTest, assert_one_error_line, legacy_blob,  # noqa: E402
                                     make_nets, official_pickle, run, run_here, to_rosinality_d, to_rosinality_g)

PG_STATIC = dict(num_channels=3, resolution=16, label_size=2, fmap_base=32, fmap_max=8, latent_size=8)
V1_G_STATIC = dict(num_channels=3, resolution=16, label_size=2, fmap_base=32, fmap_max=8, latent_size=6,
                   dlatent_size=5, mapping_layers=3, mapping_fmaps=7)
V1_D_STATIC = dict(num_channels=3, resolution=16, label_size=2, fmap_base=32, fmap_max=8)


def op_global(module, name):
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def op_str(text):
    return b"X" + struct.pack("<I", len(text.encode())) + text.encode()


def op_dtype(code):
    """numpy.dtype(code, False, True), as NumPy pickles a dtype."""
    return op_global("numpy", "dtype") + op_str(code) + b"\x89\x88\x87R"


# BUILD with a dtype's state as NumPy writes it for a little-endian number.
OP_DTYPE_STATE = b"(K\x03" + op_str("<") + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"


def op_array(shape_ops, dtype_ops, raw):
    """_reconstruct(ndarray, (0,), b'b') and its BUILD (1, shape, dtype, False, raw)."""
    return (op_global("numpy.core.multiarray", "_reconstruct") + op_global("numpy", "ndarray") + b"K\x00\x85C\x01b\x87R"
            + b"(K\x01" + shape_ops + dtype_ops + b"\x89C" + bytes([len(raw)]) + raw + b"tb")


def network_pickle(value_ops):
    """{"G": value}: a network pickle's top level."""
    return b"\x80\x02}" + op_str("G") + value_ops + b"s."


class TensorWithState:
    """Pickles as _rebuild_tensor_v2(...) and a BUILD of state, which
    Tensor.__setstate__ takes (4 items: set_(), growing a storage)."""

    def __init__(self, state):
        self.state = state

    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2,
                (torch.zeros(1).storage(), 0, (1,), (1,), False, collections.OrderedDict()), self.state)


class StorageWithState:
    """Pickles as torch.storage._load_from_bytes(blob) and a BUILD of state."""

    def __init__(self, state):
        self.state = state

    def __reduce__(self):
        _, args = torch.zeros(1).storage().__reduce__()
        return torch.storage._load_from_bytes, args, self.state


def walk(p):
    """Every recorded module of a test pickle's network, depth first."""
    yield p
    for child in p.state.get("_modules", {}).values():
        yield from walk(child)


class ConvertChecksTest(TempDirTest):
    def setUp(self):
        super().setUp()
        self.out = self.path("out.bin")

    def assert_refused(self, src, *needles, flags=()):
        assert_one_error_line(self, run_here("import", src, self.out, *flags), *needles, notes=True)
        self.assertFalse(os.path.exists(self.out))
        self.assertEqual([f for f in os.listdir(self.dir.name) if f.startswith("out.bin")], [])

    def imported_kwargs(self, src, *flags):
        r = run_here("import", src, self.out, *flags)
        self.assertEqual(r.returncode, 0, r.stderr)
        meta = cw.read_bin(self.out)[1]
        os.remove(self.out)
        return json.loads(meta["G_kwargs"]), json.loads(meta["D_kwargs"])

    # ---- config values

    def test_size_limit_is_the_cpp_one(self):
        with open(os.path.join(HERE, "..", "models", "config_json.h")) as f:
            m = re.search(r"kMaxNetworkSize = 1 << (\d+);", f.read())
        self.assertIsNotNone(m)
        self.assertEqual(cw.MAX_NETWORK_SIZE, 1 << int(m.group(1)))
        # The flag is held to it too: a group of 2^24 + 1 was written and refused on load.
        r = run_here("import", "x.pt", self.out, "--mbstd-group-size", str((1 << 24) + 1))
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("--mbstd-group-size", r.stderr)

    def test_official_pickle_attributes(self):
        nets = make_nets()

        def set_attr(key, cls, attr, value):
            def edit(d):
                for m in walk(d[key]):
                    if m.class_name in cls:
                        m.state[attr] = value
            return edit

        mbstd = lambda v: set_attr("D", ("MinibatchStdLayer",), "group_size", v)  # noqa: E731
        cases = [(mbstd(2 ** 40), "D: mbstd_group_size is 1099511627776, beyond +-16777216"),
                 (mbstd(float("nan")), "D: mbstd_group_size is nan, not a finite number"),
                 (mbstd(1.5), "D: mbstd_group_size is 1.5, not a whole number"),
                 (mbstd(True), "D: mbstd_group_size is True, not a whole number"),
                 (mbstd("4"), "D: mbstd_group_size is '4', not a whole number"),
                 (set_attr("G_ema", ("SynthesisLayer", "Conv2dLayer"), "conv_clamp", True),
                  "G_ema: conv_clamp is True, not a number"),
                 (set_attr("G_ema", ("MappingNetwork",), "w_avg_beta", "0.9"),
                  "G_ema.mapping: w_avg_beta is '0.9', not a number"),
                 (set_attr("G", ("FullyConnectedLayer",), "bias_gain", np.bool_(True)),
                  "G.mapping.fc0 (bias_gain): mapping_lr_multiplier is True, not a number")]
        for edit, needle in cases:
            with self.subTest(needle=needle):
                src = self.path("edited.pkl")
                official_pickle(nets, src, edit=edit)
                self.assert_refused(src, src, needle, "nothing written")
        # A whole number recorded as a float is that number, written as an int.
        official_pickle(nets, self.path("float.pkl"), edit=mbstd(np.float64(2.0)))
        d = self.imported_kwargs(self.path("float.pkl"))[1]
        self.assertEqual(d["mbstd_group_size"], D_CFG["mbstd_group_size"])
        self.assertIs(type(d["mbstd_group_size"]), int)

    def test_check_kwargs_as_the_loaders_read(self):
        def problem(family, which, **kw):
            try:
                cw.check_kwargs({"family": family, which: json.dumps(kw)}, "src")
            except cw.ConvertError as e:
                return str(e)
            return None

        self.assertIsNone(problem("pggan", "G_kwargs", fmap_base=8192, fmap_decay=1, use_wscale=True))
        self.assertIn("fmap_base is 8192.0, not a whole number", problem("pggan", "G_kwargs", fmap_base=8192.0))
        self.assertIn("fmap_base is 1e+30, not a whole number", problem("pggan", "D_kwargs", fmap_base=1e30))
        self.assertIn("beyond +-16777216", problem("stylegan2", "D_kwargs", mbstd_group_size=(1 << 24) + 1))
        self.assertIn("mbstd_group_size is -3, negative", problem("stylegan2", "D_kwargs", mbstd_group_size=-3))
        self.assertIsNone(problem("pggan", "D_kwargs", mbstd_group_size=-3))  # <= 1: no layer, as PGGAN reads it
        # MinibatchStdLayer splits the 4x4 block's min(channel_base / 4, channel_max) channels into groups.
        self.assertIn("mbstd_num_channels 3 does not divide its 4x4 block's 512 channels",
                      problem("stylegan2", "D_kwargs", mbstd_num_channels=3))
        self.assertIn("block's 8 channels", problem("stylegan2", "D_kwargs", mbstd_num_channels=3, channel_base=32))
        self.assertIsNone(problem("stylegan2", "D_kwargs", mbstd_num_channels=4, channel_base=32))
        self.assertIsNone(problem("stylegan2", "D_kwargs", mbstd_num_channels=0, channel_base=28))
        self.assertIsNone(problem("stylegan2", "G_kwargs", mbstd_num_channels=3))
        self.assertIn("use_wscale is 1, not true or false", problem("pggan", "G_kwargs", use_wscale=1))
        self.assertIn("fmap_decay is True, not a number", problem("stylegan", "G_kwargs", fmap_decay=True))
        self.assertIsNone(problem("stylegan", "G_kwargs", fused_scale="auto", truncation_psi=None, blur_filter=None))
        self.assertIn("fused_scale is 'auto', not true or false", problem("pggan", "G_kwargs", fused_scale="auto"))
        self.assertIn("blur_filter is [1, 'x', 1], element 1 not a number",
                      problem("stylegan", "D_kwargs", blur_filter=[1, "x", 1]))
        self.assertIn("units is [3, 4, 14.0, 3], element 2 not a whole number",
                      problem("psp", "psp_kwargs", units=[3, 4, 14.0, 3]))

    def test_pggan_and_stylegan_static_kwargs(self):
        def pggan(which, **kw):
            states = mkpg.make_networks(PG_STATIC)
            states[which]["static_kwargs"].update(kw)
            with open(self.path("pg.pkl"), "wb") as f:
                f.write(mkpg.dumps(states))
            return self.path("pg.pkl")

        for which, kw, needle in [
                (1, dict(fmap_base=1e30), "D: static_kwargs fmap_base is 1e+30, beyond +-16777216"),
                (0, dict(fmap_base="32"), "G: static_kwargs fmap_base is '32', not a whole number"),
                (0, dict(fmap_max=None), "G: static_kwargs fmap_max is None, not a whole number"),
                (0, dict(label_size=1.5), "G: static_kwargs label_size is 1.5, not a whole number"),
                (0, dict(latent_size="8"), "G: static_kwargs latent_size is '8', not a whole number"),
                (0, dict(fmap_decay="1"), "G: static_kwargs fmap_decay is '1', not a number"),
                (1, dict(fmap_decay=1e30), "D: static_kwargs: fmap_decay 1e+30 is out of range"),
                (1, dict(mbstd_group_size=float("inf")), "D: static_kwargs mbstd_group_size is inf, not a finite"),
                (0, dict(use_wscale=1), "G: static_kwargs use_wscale is 1, not true or false")]:
            with self.subTest(kw=kw):
                self.assert_refused(pggan(which, **kw), needle)
        g, d = self.imported_kwargs(pggan(1, fmap_base=32.0))  # as TF code wrote 8192.0: the whole number
        self.assertIs(type(d["fmap_base"]), int)
        self.assertEqual(d["fmap_base"], 32)

        states = mkv1.make_networks(V1_G_STATIC, V1_D_STATIC)[0]
        states[1]["static_kwargs"]["fmap_base"] = 1e30
        states[2]["components"]["mapping"]["static_kwargs"]["mapping_lrmul"] = "0.01"
        with open(self.path("v1.pkl"), "wb") as f:
            f.write(mkv1.dumps(states))
        self.assert_refused(self.path("v1.pkl"), "D: static_kwargs fmap_base is 1e+30, beyond")
        states[1]["static_kwargs"]["fmap_base"] = 32
        with open(self.path("v1.pkl"), "wb") as f:
            f.write(mkv1.dumps(states))
        self.assert_refused(self.path("v1.pkl"), "Gs: static_kwargs mapping_lrmul is '0.01', not a number")

    # ---- tensor ranks

    def test_tensor_ranks_are_named(self):
        nets = make_nets()
        state = {k: {n: t.clone() for n, t in v.state_dict().items()} for k, v in nets.items()}
        for key, name, t, needle in [
                ("D", "b8.conv0.weight", torch.tensor(1.0), "D: tensor b8.conv0.weight has shape [], expected 4 "
                                                            "dimensions"),
                ("D", "b4.out.weight", torch.ones(8), "D: tensor b4.out.weight has shape [8], expected 2"),
                ("G", "mapping.fc0.weight", torch.ones(8), "G: tensor mapping.fc0.weight has shape [8], expected 2"),
                ("G_ema", "mapping.embed.weight", torch.tensor(0.5), "tensor mapping.embed.weight has shape []")]:
            with self.subTest(name=name):
                bad = copy.deepcopy(state)
                bad[key][name] = t
                torch.save(bad, self.path("sd.pt"))
                self.assert_refused(self.path("sd.pt"), needle)

        g_cfg = dict(G_CFG, c_dim=0, conv_clamp=None)
        d_cfg = dict(D_CFG, c_dim=0, cmap_dim=0, conv_clamp=None, mbstd_group_size=4, mapping_layers=8)
        rnets = make_nets(seed=5, g_cfg=g_cfg, d_cfg=d_cfg)
        ckpt = {"g": to_rosinality_g(rnets["G"]), "d": to_rosinality_d(rnets["D"]),
                "latent_avg": rnets["G"].mapping.w_avg.clone()}
        for name, t, needle in [
                ("input.input", torch.ones(0), "g: tensor input.input has shape [0], expected 4 dimensions with a "
                                               "leading 1"),
                ("noises.noise_0", torch.ones(2, 1, 4, 4), "tensor noises.noise_0 has shape [2, 1, 4, 4], expected "
                                                           "4 dimensions with 2 leading 1s"),
                ("conv1.conv.weight", torch.tensor(2.0), "tensor conv1.conv.weight has shape [], expected 5")]:
            with self.subTest(name=name):
                bad = dict(ckpt, g=dict(ckpt["g"]))
                bad["g"][name] = t
                torch.save(bad, self.path("rosinality.pt"))
                self.assert_refused(self.path("rosinality.pt"), needle)

        tf = mk2.make_states(random_nets(1), TF_G_CFG, TF_D_CFG)
        syn = tf[0]["components"]["synthesis"]
        syn["variables"] = [(n, np.zeros([0, 8, 4, 4], np.float32) if n == "4x4/Const/const" else a)
                            for n, a in syn["variables"]]
        with open(self.path("tf.pkl"), "wb") as f:
            f.write(mkv1.dumps(tf))
        self.assert_refused(self.path("tf.pkl"), "G.synthesis: variable 4x4/Const/const has shape [0, 8, 4, 4], "
                                                 "expected 4 dimensions with a leading 1")

        states = mkpg.make_networks(PG_STATIC)
        states[0]["variables"] = [(n, np.float32(1) if n == "ToRGB_lod0/weight" else a)
                                  for n, a in states[0]["variables"]]
        with open(self.path("pg.pkl"), "wb") as f:
            f.write(mkpg.dumps(states))
        self.assert_refused(self.path("pg.pkl"), "G: variable ToRGB_lod0/weight has shape [], expected 4")

    # ---- compressed storages

    def test_deflate_bomb_refused_before_inflating(self):
        n = 64 << 20  # zeros: ~64 KB deflated; the fuzzer's 1.5e9 cost 3.2 GB and 36 s
        buf = io.BytesIO()
        torch.save({"w": torch.zeros(1, dtype=torch.uint8)}, buf)
        with zipfile.ZipFile(buf) as z:
            entries = {i.filename: z.read(i) for i in z.infolist()}
        root = next(k for k in entries if k.endswith("/data.pkl"))[:-len("data.pkl")]
        # The pickle declares a storage of n bytes (its persistent id and size
        # patched in place), so the entry's size matches what it declares.
        pkl = entries[root + "data.pkl"]
        self.assertIn(b"K\x01", pkl)  # BININT1 1: the storage's element count and the tensor's size
        entries[root + "data.pkl"] = pkl.replace(b"K\x01", b"J" + n.to_bytes(4, "little"))
        src = self.path("bomb.pt")
        with zipfile.ZipFile(src, "w", zipfile.ZIP_DEFLATED) as z:
            for name, data in entries.items():
                z.writestr(name, bytes(n) if name == root + "data/0" else data)
        self.assertLess(os.path.getsize(src), 1 << 20)
        t0 = time.monotonic()
        self.assert_refused(src, f"{root}data/0 is compressed", f"inflating to {n}", "torch.save stores tensors "
                                                                                    "uncompressed")
        self.assertLess(time.monotonic() - t0, 5)

        # A real state dict re-zipped with DEFLATE (random weights barely
        # deflate; the small constant filters fit the slack) still imports.
        nets = make_nets()
        buf = io.BytesIO()
        torch.save({k: v.state_dict() for k, v in nets.items()}, buf)
        src = self.path("rezipped.pt")
        with zipfile.ZipFile(buf) as zin, zipfile.ZipFile(src, "w", zipfile.ZIP_DEFLATED) as zout:
            for info in zin.infolist():
                zout.writestr(info.filename, zin.read(info))
        self.assertEqual(self.imported_kwargs(src, "--conv-clamp", "256", "--mbstd-group-size", "2"), (G_CFG, D_CFG))

    # ---- hostile pickles

    def test_numpy_objects_are_numbers_as_numpy_pickles_them(self):
        f4 = op_dtype("f4") + OP_DTYPE_STATE
        scalar = op_global("numpy.core.multiarray", "scalar")
        # A structured dtype, its one field an object (a pointer).
        forged = (op_dtype("V8") + b"(K\x03" + op_str("|") + b"N" + op_str("a") + b"\x85}" + op_str("a")
                  + op_dtype("O8") + b"K\x00\x86sK\x08K\x01K\x01tb")
        cases = [
            # An object scalar without data: a NULL pointer read (SIGSEGV).
            (scalar + op_dtype("O8") + b"\x85R", "numpy dtype 'O8'; numeric dtypes only"),
            # 8 bytes of the file freed as an object pointer.
            (op_array(b"K\x01\x85", forged, b"A" * 6 + b"\0\0"), "numpy dtype 'V8'; numeric dtypes only"),
            # Object arrays nested 100000 deep overflowed the C stack when freed.
            (op_array(b"K\x01\x85", op_dtype("O8"), b""), "numpy dtype 'O8'"),
            # A numeric code given fields by its BUILD state.
            (scalar + op_dtype("f8") + b"(K\x03" + op_str("|") + b"N" + op_str("a") + b"\x85}" + op_str("a") + f4
             + b"K\x00\x86sK\x08K\x01K\x00tbC\x08" + bytes(8) + b"\x86R", "a state other than a plain number's"),
            # ndarray called: any shape without the bytes (2^28 objects: 2 GB from 58 bytes).
            (op_global("numpy", "ndarray") + b"K\x04\x85" + f4 + b"\x86R", "pickle calls numpy.ndarray"),
            (op_global("numpy.core.multiarray", "_reconstruct") + op_global("numpy", "ndarray")
             + b"J\x00\x00\x10\x00\x85C\x01b\x87R", "other than as NumPy pickles an array"),
            (scalar + f4 + b"C\x08" + bytes(8) + b"\x86R", "other than a number from its bytes"),
            (op_array(b"K\x04\x85", f4, bytes(8)), "shape [4] and dtype float32 with 8 bytes of data"),
        ]
        for i, (ops, needle) in enumerate(cases):
            with self.subTest(needle=needle):
                src = self.path(f"np{i}.pkl")
                with open(src, "wb") as f:
                    f.write(network_pickle(ops))
                # The first two in a process of their own: the old reader crashed (SIGSEGV).
                assert_one_error_line(self, (run if i < 2 else run_here)("import", src, self.out), src, needle)
                self.assertFalse(os.path.exists(self.out))
        # What NumPy pickles reads back as pickle.loads does, bit for bit.
        values = [np.float32(1.5), np.float64(-2.25), np.int64(-3), np.bool_(True), np.uint8(7), np.float16(0.5),
                  np.complex64(1 - 2j), np.arange(6, dtype=np.float32).reshape(2, 3), np.zeros((0, 5), np.int8),
                  np.asfortranarray(np.arange(6.0).reshape(2, 3)), np.arange(4, dtype=">f4"), np.array(True)]
        for protocol in (3, 4):
            for v in values:
                data = pickle.dumps(v, protocol=protocol)
                got, want = cw.RestrictedUnpickler(io.BytesIO(data), "x").load(), pickle.loads(data)
                self.assertIs(type(np.asarray(got)), np.ndarray)
                self.assertEqual((np.asarray(got).dtype, np.shape(got), np.asarray(got).tobytes()),
                                 (np.asarray(want).dtype, np.shape(want), np.asarray(want).tobytes()))
                if isinstance(want, np.generic):
                    self.assertIs(type(got), type(want))

    def test_tensor_and_storage_state_refused(self):
        # Tensor.__setstate__ of 4 items is set_(): a storage grown to any size.
        data = pickle.dumps({"G": TensorWithState((torch.zeros(1), 0, (1 << 20,), (1,)))}, protocol=4)
        with self.assertRaisesRegex(cw.ConvertError, "sets the state of a tensor"):
            cw._restricted_load(data, "x")
        # A storage's rebuild counter reset by the file undid the rebuild bound.
        data = pickle.dumps({"G": StorageWithState({"rebuilt": -(1 << 62)})}, protocol=4)
        with self.assertRaisesRegex(cw.ConvertError, "sets the state of a StorageRef"):
            cw._restricted_load(data, "x")
        blob = legacy_blob(b"\x80\x02" + op_global("torch", "FloatStorage") + b"}" + op_str("np_dtype") + b"Nsb.")
        with self.assertRaisesRegex(cw.ConvertError, "sets the state of a StorageType"):
            cw.read_legacy_torch(blob, "x")

    def test_float64_tf_variable_beyond_float32(self):
        states = mk2.make_states(random_nets(2), TF_G_CFG, TF_D_CFG)
        mapping = states[2]["components"]["mapping"]
        names = [n for n, _ in mapping["variables"]]
        i = names.index("Dense0/weight")
        big = mapping["variables"][i][1].astype(np.float64)
        big[0, 1] = 1e300
        mapping["variables"][i] = ("Dense0/weight", big)
        src = self.path("f64.pkl")
        with open(src, "wb") as f:
            f.write(mkv1.dumps(states))
        # One line (no RuntimeWarning from the cast), naming the float64 value, not an inf.
        self.assert_refused(src, "Gs.mapping: variable Dense0/weight holds 1e+300 at [0, 1]", "values overflow float32")

    def test_legacy_torch_file_of_pickle_protocol_1(self):
        # torch.load reads a legacy file by its pickled magic number, whatever
        # the protocol; one of protocol 1 was "top level is int, not a dict".
        nets = make_nets()
        got = []
        for protocol in (1, 2):
            src = self.path(f"p{protocol}.pt")
            torch.save({k: v.state_dict() for k, v in nets.items()}, src, _use_new_zipfile_serialization=False,
                       pickle_protocol=protocol)
            r = run_here("import", src, self.out, "--conv-clamp", "256", "--mbstd-group-size", "2")
            self.assertEqual(r.returncode, 0, r.stderr)
            tensors, meta = cw.read_bin(self.out)
            got.append(({k: t.numpy().tobytes() for k, t in tensors.items()}, meta["G_kwargs"], meta["D_kwargs"]))
            os.remove(self.out)
        self.assertEqual(got[0], got[1])

    def test_bin_header_numbers_typed_as_the_cpp_reader(self):
        for entry, needle in [({"dtype": "F32", "shape": [1], "data_offsets": [0.0, 4.0]}, "has bad data_offsets"),
                              ({"dtype": "F32", "shape": [True], "data_offsets": [0, 4]}, "has a bad shape"),
                              ({"dtype": "F32", "shape": [1], "data_offsets": [0, 4, 4]}, "has bad data_offsets")]:
            with self.subTest(needle=needle):
                header = json.dumps({"G_ema.x": entry, "__metadata__": {"network": "G_ema"}}).encode()
                src, out = self.path("bad.bin"), self.path("out.pt")
                with open(src, "wb") as f:
                    f.write(struct.pack("<Q", len(header)) + header + bytes(4))
                assert_one_error_line(self, run_here("export", src, out), src, f"tensor 'G_ema.x' {needle}")
                self.assertFalse(os.path.exists(out))

    def test_psp_checkpoint_without_opts_named(self):
        src = self.path("psp.pt")
        torch.save({"state_dict": {"encoder.input_layer.0.weight": torch.zeros(1)}, "latent_avg": torch.zeros(1)}, src)
        self.assert_refused(src, src, "a state_dict but no 'opts'")

    def test_g_and_g_ema_hints_compared(self):
        # G_ema's hints replaced G's: G's conv_clamp was dropped unsaid.
        def clamp_g_only(d):
            for m in walk(d["G"]):
                if m.class_name in ("SynthesisLayer", "Conv2dLayer"):
                    m.state["conv_clamp"] = 64.0
        src = self.path("clamp.pkl")
        official_pickle(make_nets(), src, edit=clamp_g_only)
        self.assert_refused(src, "G and G_ema have different configs (conv_clamp 64.0 and")


    # ---- TF StyleGAN2

    def test_stylegan2_tf_kwargs_match_the_variables(self):
        base = mk2.make_states(random_nets(2), TF_G_CFG, TF_D_CFG)

        def write(edit):
            states = copy.deepcopy(base)
            edit(states)
            with open(self.path("tf.pkl"), "wb") as f:
                f.write(mkv1.dumps(states))
            return self.path("tf.pkl")

        def static(i, **kw):
            return lambda st: st[i]["static_kwargs"].update(kw)

        def func(i, name, comp=None):
            def edit(st):
                (st[i]["components"][comp] if comp else st[i])["build_func_name"] = name
            return edit

        for edit, needles in [
                (static(0, mapping_layers=3), ["G: static_kwargs mapping_layers 3, but the mapping's variables "
                                               "(Dense0..Dense1) give 2"]),
                (static(2, latent_size=9), ["Gs: static_kwargs latent_size 9, but"]),
                (static(0, dlatent_size=16), ["G: static_kwargs dlatent_size 16, but"]),
                (static(0, num_channels=4), ["G: static_kwargs num_channels 4, but 16x16/ToRGB writes 3"]),
                (static(1, num_channels=1), ["D: static_kwargs num_channels 1, but 16x16/FromRGB reads 3"]),
                (static(1, mbstd_group_size=2 ** 40), ["D: static_kwargs mbstd_group_size is 1099511627776, beyond"]),
                (static(1, mbstd_num_features="1"), ["D: static_kwargs mbstd_num_features is '1', not a whole"]),
                (static(0, mapping_lrmul=True), ["G: static_kwargs mapping_lrmul is True, not a number"]),
                (static(0, label_size="0"), ["G: static_kwargs label_size is '0', not a whole number"]),
                (func(0, "G_synthesis", "synthesis"), ["G.synthesis is built by 'G_synthesis' (a StyleGAN2-ADA "
                                                       "TensorFlow network", "legacy.py"]),
                (func(1, "D_main"), ["D is built by 'D_main' (a StyleGAN2-ADA TensorFlow network"]),
                (func(0, "G_style"), ["G is built by 'G_style' (NVlabs/stylegan2 config A"])]:
            with self.subTest(needles=needles[0]):
                src = write(edit)
                self.assert_refused(src, *needles)
                r = run_here("import", src, self.out)
                self.assertNotIn("configs A-D", r.stderr)
        # Kwargs that agree (and a whole number written as a float) import.
        g, d = self.imported_kwargs(write(lambda st: [static(i, mapping_layers=2, num_channels=3.0)(st)
                                                      for i in (0, 2)]))
        self.assertEqual(g, TF_G_CFG)


if __name__ == "__main__":
    unittest.main()
