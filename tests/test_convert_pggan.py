#!/usr/bin/env python3
"""tools/convert_weights.py on official PGGAN pickles: synthetic pickles in the
official layout (tools/fixtures/make_pggan_pickle.py) convert to PGGAN bundles whose
tensors are the variables in ganforge's layouts, with the configuration from
names, shapes and static_kwargs; the embedded source is never run; bad and
foreign pickles are refused with one line and nothing written. Exit 77 (skip)
without NumPy/PyTorch."""
import contextlib
import glob
import io
import json
import os
import pickle
import subprocess
import sys
import types
import unittest

try:
    import numpy as np
    import torch  # noqa: F401 (the converter needs it)
except ImportError:
    print("SKIP: torch or numpy is not importable")
    sys.exit(77)

TOOLS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools")
sys.path.insert(0, TOOLS)
sys.path[:0] = [os.path.join(TOOLS, "reference"), os.path.join(TOOLS, "fixtures")]
import convert_weights as cw  # noqa: E402
import make_pggan_pickle as mkp  # noqa: E402
import pggan_reference as ref  # noqa: E402
from convert_weights_fixture import TempDirTest  # noqa: E402

SCRIPT = os.path.join(TOOLS, "convert_weights.py")
STATIC = dict(num_channels=3, resolution=16, label_size=2, fmap_base=32, fmap_max=8, latent_size=8)


def run(*args):
    """The converter's main in this process (importing torch anew for every
    case would dominate the test's time); stdout and stderr as a subprocess's."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cw.main(list(args))
    return types.SimpleNamespace(returncode=code, stdout=out.getvalue(), stderr=err.getvalue())


def run_process(*args):
    return subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True)


class Evil:
    def __reduce__(self):
        return (os.system, ("true",))


class ConvertPGGANTest(TempDirTest):
    def write(self, name, states):
        p = self.path(name)
        with open(p, "wb") as f:
            f.write(mkp.dumps(states))
        return p

    def assert_error(self, result, *needles):
        self.assertEqual(result.returncode, 1, result.stderr)
        lines = [l for l in result.stderr.strip().splitlines() if not l.startswith("convert_weights: note:")]
        self.assertEqual(len(lines), 1, result.stderr)
        self.assertTrue(lines[0].startswith("convert_weights: error: "), lines[0])
        for n in needles:
            self.assertIn(n, lines[0])

    def assert_nothing_written(self, out):
        # The output and the writer's temporaries (out.<pid>.tmp) alike.
        self.assertEqual(glob.glob(glob.escape(out) + "*"), [])

    def test_official_layout_converts(self):
        for fused in (True, False):
            states = mkp.make_networks(dict(STATIC, fused_scale=fused), seed=3, lod=1.25, mbstd_group_size=2)
            # Keys the official G_paper ignores, as the Theano-converted networks carry.
            states[0]["static_kwargs"]["use_batchnorm"] = False
            src, out = self.write(f"net{fused}.pkl", states), self.path("out.bin")
            # As a program once: the trap in the build source would end it with another message.
            r = run_process("import", src, out) if fused else run("import", src, out)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("wrote G, D, G_ema", r.stdout)
            tensors, meta = cw.read_bin(out)
            self.assertEqual(meta["family"], "pggan")
            g, d = json.loads(meta["G_kwargs"]), json.loads(meta["D_kwargs"])
            self.assertEqual((g["resolution"], g["num_channels"], g["label_size"], g["latent_size"]), (16, 3, 2, 8))
            self.assertEqual((g["fmap_base"], g["fmap_max"], g["fused_scale"]), (32, 8, fused))
            self.assertEqual((d["label_size"], d["mbstd_group_size"], d["fused_scale"]), (2, 2, fused))
            for (key, state) in (("G", states[0]), ("D", states[1]), ("G_ema", states[2])):
                for name, value in state["variables"]:
                    t = tensors[f"{key}.{name}"].numpy()
                    self.assertTrue(np.array_equal(ref.from_ganforge(name, t), value), name)
            self.assertEqual(tensors["G_ema.lod"].numpy().tolist(), 1.25)
            up = "8x8/Conv0_up/weight" if fused else "8x8/Conv0/weight"
            self.assertEqual(list(tensors["G." + up].shape), [8, 8, 3, 3])
            self.assertEqual(list(tensors["G.4x4/Dense/weight"].shape), [128, 10])

    def test_mbstd_group_size_flag(self):
        src, out = self.write("net.pkl", mkp.make_networks(STATIC, mbstd_group_size=4)), self.path("out.bin")
        self.assertEqual(run("import", src, out, "--mbstd-group-size", "16").returncode, 0)
        self.assertEqual(json.loads(cw.read_bin(out)[1]["D_kwargs"])["mbstd_group_size"], 16)
        os.remove(out)
        # Without the layer's feature map in 4x4/Conv, a group size is a contradiction.
        self.assert_error(run("import", src, out, "--mbstd-group-size", "0"), "minibatch-stddev")
        self.assert_nothing_written(out)

    def test_bad_and_foreign_pickles_are_refused(self):
        out = self.path("out.bin")
        good = mkp.make_networks(STATIC)

        def variant(name, fn):
            states = [dict(s, variables=list(s["variables"]), static_kwargs=dict(s["static_kwargs"])) for s in good]
            fn(states)
            return self.write(name, states)

        def drop(states, which, var):
            states[which]["variables"] = [(n, v) for n, v in states[which]["variables"] if n != var]

        def reshape(states, which, var):
            states[which]["variables"] = [(n, np.zeros([2, 2], np.float32) if n == var else v)
                                          for n, v in states[which]["variables"]]

        cases = {
            "style.pkl": (lambda s: s[0].update(build_func_name="G_style"), "G_style"),
            "version.pkl": (lambda s: s[1].update(version=3), "version 3"),
            "missing.pkl": (lambda s: drop(s, 1, "8x8/Conv0/weight"), "missing variable 8x8/Conv0/weight"),
            "shape.pkl": (lambda s: reshape(s, 2, "ToRGB_lod1/weight"), "ToRGB_lod1/weight has shape [2, 2]"),
            "ints.pkl": (lambda s: s[0].update(variables=[(n, v.astype(np.int32)) for n, v in s[0]["variables"]]),
                         "expected a float array"),
            "pairs.pkl": (lambda s: s[0].update(variables=[1, 2]), "not (name, array) pairs"),
        }
        for name, (fn, needle) in cases.items():
            src = variant(name, fn)
            self.assert_error(run("import", src, out), src, needle)
            self.assert_nothing_written(out)
        # fmap_base too small for the resolution: 16x16's layers have no feature maps.
        src = self.write("empty.pkl", mkp.make_networks(dict(STATIC, fmap_base=4)))
        self.assert_error(run("import", src, out), src, "no feature maps at 16x16")
        self.assert_nothing_written(out)
        two = self.write("two.pkl", good[:2])
        self.assert_error(run("import", two, out), "(G, D, Gs)")
        # Code in the pickle stream itself, a Theano-era pickle, a truncated one.
        evil = self.path("evil.pkl")
        with open(evil, "wb") as f:
            pickle.dump((Evil(),), f)
        self.assert_error(run("import", evil, out), "posix.system, refusing")
        theano = self.path("theano.pkl")
        with open(theano, "wb") as f:
            f.write(pickle.dumps(1, protocol=2)[:2] + b"cnetwork\nNetwork\n)\x81." )
        self.assert_error(run("import", theano, out), "Theano-era")
        short = self.path("short.pkl")
        with open(short, "wb") as f:
            f.write(mkp.dumps(good)[:5000])
        self.assert_error(run("import", short, out), "not a readable pickle")
        # A StyleGAN2 format forced on a PGGAN pickle, and the reverse.
        src = self.write("net.pkl", good)
        self.assert_error(run("import", src, out, "--format", "official-pkl"), "pggan-pkl")
        self.assertEqual(run("import", src, out, "--format", "pggan-pkl").returncode, 0)
        # export writes StyleGAN2 networks only.
        self.assert_error(run("export", out, self.path("x.pt")), "pggan")


if __name__ == "__main__":
    unittest.main()
