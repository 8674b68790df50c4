#!/usr/bin/env python3
"""tools/convert_weights.py on official StyleGAN (v1) pickles: synthetic
pickles in the official layout (tools/fixtures/make_stylegan_pickle.py: dnnlib.tflib
networks, state version 3, G_style with mapping and synthesis components)
convert to "stylegan" bundles whose tensors are the variables in ganforge's
layouts, with the configuration from names, shapes and static_kwargs; the
embedded source is never run; bad and foreign pickles are refused with one
line and nothing written. Exit 77 (skip) without NumPy/PyTorch."""
import contextlib
import io
import json
import os
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
import make_stylegan_pickle as mkp  # noqa: E402
from convert_weights_fixture import TempDirTest  # noqa: E402

G_STATIC = dict(num_channels=3, resolution=16, label_size=2, fmap_base=32, fmap_max=8, latent_size=6,
                dlatent_size=5, mapping_layers=3, mapping_fmaps=7)
D_STATIC = dict(num_channels=3, resolution=16, label_size=2, fmap_base=32, fmap_max=8)


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cw.main(list(args))
    return types.SimpleNamespace(returncode=code, stdout=out.getvalue(), stderr=err.getvalue())


class ConvertStyleGANTest(TempDirTest):
    def write(self, states, name="net.pkl"):
        with open(self.path(name), "wb") as f:
            f.write(mkp.dumps(states))
        return self.path(name)

    def test_official_layout_converts(self):
        states, (gv, dv, gsv) = mkp.make_networks(G_STATIC, D_STATIC, 3)
        r = run("import", self.write(states), self.path("out.bin"))
        self.assertEqual(r.returncode, 0, r.stderr)
        tensors, meta = cw.read_bin(self.path("out.bin"))
        self.assertEqual(meta["family"], "stylegan")
        g = json.loads(meta["G_kwargs"])
        for k, v in dict(resolution=16, num_channels=3, label_size=2, latent_size=6, dlatent_size=5,
                         mapping_layers=3, mapping_fmaps=7, fmap_base=32, fmap_max=8, use_noise=True).items():
            self.assertEqual(g[k], v, k)
        self.assertEqual(json.loads(meta["D_kwargs"])["label_size"], 2)
        # Layouts: dense [in, out] -> [out, in]; conv (Conv0_up too) [k, k, in, out] -> [out, in, k, k].
        np.testing.assert_array_equal(tensors["G_ema.G_mapping/Dense1/weight"].numpy(),
                                      gsv["G_mapping/Dense1/weight"].T)
        np.testing.assert_array_equal(tensors["G.G_synthesis/8x8/Conv0_up/weight"].numpy(),
                                      gv["G_synthesis/8x8/Conv0_up/weight"].transpose(3, 2, 0, 1))
        np.testing.assert_array_equal(tensors["G.G_synthesis/noise3"].numpy(), gv["G_synthesis/noise3"])
        np.testing.assert_array_equal(tensors["G_ema.dlatent_avg"].numpy(), gsv["dlatent_avg"])
        np.testing.assert_array_equal(tensors["D.16x16/Conv1_down/weight"].numpy(),
                                      dv["16x16/Conv1_down/weight"].transpose(3, 2, 0, 1))
        self.assertEqual(len([k for k in tensors if k.startswith("G.")]), len(gv))

    def test_mbstd_and_mapping_lr_flags(self):
        # As the PGGAN and StyleGAN2 importers: the flags override the pickle's static_kwargs.
        states, _ = mkp.make_networks(G_STATIC, D_STATIC, 5)
        src, out = self.write(states), self.path("out.bin")
        r = run("import", src, out, "--mbstd-group-size", "8", "--mapping-lr-multiplier", "0.05")
        self.assertEqual(r.returncode, 0, r.stderr)
        meta = cw.read_bin(out)[1]
        self.assertEqual(json.loads(meta["D_kwargs"])["mbstd_group_size"], 8)
        self.assertEqual(json.loads(meta["G_kwargs"])["mapping_lrmul"], 0.05)
        # Without them: the pickle's (official defaults here).
        os.remove(out)
        self.assertEqual(run("import", src, out).returncode, 0)
        meta = cw.read_bin(out)[1]
        self.assertEqual(json.loads(meta["D_kwargs"])["mbstd_group_size"], 4)
        self.assertEqual(json.loads(meta["G_kwargs"])["mapping_lrmul"], 0.01)
        # A group that disagrees with the variables (4x4/Conv reads a stddev map) is one line, nothing written.
        os.remove(out)
        r = run("import", src, out, "--mbstd-group-size", "0")
        self.assertEqual(r.returncode, 1)
        self.assertIn("minibatch-stddev", r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        self.assertFalse(os.path.exists(out))

    def test_bad_and_foreign_pickles_are_refused(self):
        states, _ = mkp.make_networks(G_STATIC, D_STATIC, 4)
        out = self.path("out.bin")
        cases = []
        bad_func = [dict(s) for s in states]
        bad_func[1] = dict(bad_func[1], build_func_name="D_paper")
        cases.append((bad_func, "expected D_basic"))
        missing = [dict(s) for s in states]
        comps = dict(missing[0]["components"])
        syn = dict(comps["synthesis"])
        syn["variables"] = [(n, a) for n, a in syn["variables"] if n != "8x8/Conv1/Noise/weight"]
        comps["synthesis"] = syn
        missing[0] = dict(missing[0], components=comps)
        cases.append((missing, "Noise/weight"))
        v4 = [dict(s, version=4) for s in states]
        cases.append((v4, "version 4"))
        no_map = [dict(s) for s in states]
        no_map[2] = dict(no_map[2], components={"synthesis": no_map[2]["components"]["synthesis"]})
        cases.append((no_map, "no mapping component"))
        for i, (st, msg) in enumerate(cases):
            r = run("import", self.write(st, f"bad{i}.pkl"), out)
            self.assertEqual(r.returncode, 1, msg)
            self.assertIn(msg, r.stderr)
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
            self.assertFalse(os.path.exists(out))


if __name__ == "__main__":
    unittest.main()
