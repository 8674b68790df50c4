#!/usr/bin/env python3
"""tools/convert_weights.py import FOLDER OUT --format celebahq-classifiers:
the 40 CelebA-HQ attribute classifiers of StyleGAN (v1)'s Linear
Separability metric (celebahq-classifier-NN-<name>.pkl, each one PGGAN
D_paper network, state version 2 or 3) convert to one .bin whose tensors are
their variables in ganforge's layouts ("classifier_NN.<variable>") with
"perceptual", "classifiers" and "classifier_NN_kwargs" metadata; a folder
missing an index or holding one twice, a GAN pickle or a G_paper in its
place, a classifier with a minibatch-stddev map or labels, classifiers of
different sides, an index in other than ASCII digits and a SRC that is no
folder are refused with one line and nothing written. Tiny classifiers (all
8x8, fused resampling or not; a set of 4x4 ones, which have no resampling
layer, converts too) from tools/fixtures/make_ls_fixtures.py. Exit 77 (skip) without
NumPy/PyTorch."""
import contextlib
import glob
import io
import json
import os
import shutil
import sys
import tempfile
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
import linear_separability_reference as lsref  # noqa: E402
import make_ls_fixtures as mlf  # noqa: E402
import make_pggan_pickle as mkp  # noqa: E402
import pggan_reference as pgref  # noqa: E402

# Tiny: all 40 at 8x8, fused resampling or not; SMALL's 4x4 for the odd ones out.
SMALL = dict(num_channels=3, resolution=4, label_size=0, fmap_base=8, fmap_max=4)


def small_state(i, **kw):
    static = dict(SMALL, resolution=8, fused_scale=i % 2 == 0)
    return mlf.classifier_state(i, static=kw.pop("static", static), **kw)


def run(*args):
    """The converter's main in this process; stdout and stderr as a subprocess's."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cw.main(list(args))
    return types.SimpleNamespace(returncode=code, stdout=out.getvalue(), stderr=err.getvalue())


class ConvertClassifiersTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.folder = os.path.join(cls.tmp.name, "classifiers")
        cls.states = mlf.write_classifier_folder(cls.folder, [small_state(i) for i in range(40)])
        with open(os.path.join(cls.folder, "README.txt"), "w") as f:  # other names are passed over
            f.write("not a classifier")

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)

    def copy_folder(self):
        dst = os.path.join(self.dir.name, "src")
        shutil.copytree(self.folder, dst)
        return dst

    def file_of(self, folder, i):
        (path,) = glob.glob(os.path.join(folder, f"celebahq-classifier-{i:02d}-*.pkl"))
        return path

    def assert_refused(self, src, *needles):
        out = os.path.join(self.dir.name, "out", "ls.bin")
        r = run("import", src, out, "--format", "celebahq-classifiers")
        self.assertEqual(r.returncode, 1, r.stderr)
        lines = r.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertTrue(lines[0].startswith("convert_weights: error: "), lines[0])
        for n in needles:
            self.assertIn(n, lines[0])
        self.assertFalse(os.path.exists(os.path.join(self.dir.name, "out")))  # no file, no temporary, no folder
        return lines[0]

    def test_converts(self):
        out = os.path.join(self.dir.name, "ls.bin")
        r = run("import", self.folder, out, "--format", "celebahq-classifiers")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "")
        self.assertIn("wrote the 40 CelebA-HQ attribute classifiers", r.stdout)
        tensors, meta = cw.read_bin(out)
        self.assertEqual(meta["perceptual"], "celebahq-classifiers")
        self.assertEqual(json.loads(meta["classifiers"]), lsref.CLASSIFIER_NAMES)
        self.assertEqual(sorted(meta), sorted(["perceptual", "classifiers"] +
                                              [f"classifier_{i:02d}_kwargs" for i in range(40)]))
        want = {}
        for i, st in enumerate(self.states):
            kw = json.loads(meta[f"classifier_{i:02d}_kwargs"])
            static = st["static_kwargs"]
            self.assertEqual(kw, pgref.d_kwargs(**dict(static, mbstd_group_size=0)), i)
            self.assertEqual(set(pgref.d_variables(**kw)), {n for n, _ in st["variables"]})
            for name, value in st["variables"]:
                want[f"classifier_{i:02d}.{name}"] = pgref.to_ganforge(name, value)
        self.assertEqual(sorted(tensors), sorted(want))
        for name, value in want.items():
            self.assertEqual(list(tensors[name].shape), list(value.shape), name)
            self.assertTrue(np.array_equal(tensors[name].numpy(), value), name)
        # The kwargs run the network: the reference D on the variables as the pickle holds them.
        x = torch.rand([2, 3, 8, 8], generator=torch.Generator().manual_seed(0)) * 2 - 1
        st = self.states[5]
        logits = lsref.classifier_logits(dict(st["variables"]), json.loads(meta["classifier_05_kwargs"]), x)
        self.assertEqual(list(logits.shape), [2])
        # A bundle written by the converter is no import source.
        r = run("import", out, os.path.join(self.dir.name, "again.bin"))
        self.assertEqual(r.returncode, 1)
        self.assertIn("a ganforge .bin (metadata perceptual)", r.stderr)

    def test_state_versions_and_mbstd_kwargs_vary(self):
        self.assertEqual({st["version"] for st in self.states}, {2, 3})
        self.assertEqual({"mbstd_group_size" in st["static_kwargs"] for st in self.states}, {True, False})
        self.assertEqual({st["static_kwargs"].get("fused_scale") for st in self.states if
                          st["static_kwargs"]["resolution"] == 8}, {True, False})

    def test_missing_index(self):
        src = self.copy_folder()
        os.remove(self.file_of(src, 17))
        self.assert_refused(src, "no classifier for index 17", "celebahq-classifier-17-<name>.pkl")

    def test_duplicate_index(self):
        src = self.copy_folder()
        shutil.copy(self.file_of(src, 3), os.path.join(src, "celebahq-classifier-03-other.pkl"))
        self.assert_refused(src, "two classifiers for index 03", "celebahq-classifier-03-other.pkl",
                            "celebahq-classifier-03-wavy-hair.pkl")

    def test_index_out_of_range(self):
        src = self.copy_folder()
        shutil.copy(self.file_of(src, 3), os.path.join(src, "celebahq-classifier-40-extra.pkl"))
        self.assert_refused(src, "index 40 is not one of 00..39")

    def test_converts_4x4(self):  # no resampling layer at all
        src = os.path.join(self.dir.name, "four")
        os.makedirs(src)
        for i in range(40):
            with open(os.path.join(src, f"celebahq-classifier-{lsref.CLASSIFIER_NAMES[i]}.pkl"), "wb") as f:
                f.write(mlf.dumps_network(small_state(i, static=SMALL), 2 + i % 2))
        out = os.path.join(self.dir.name, "four.bin")
        r = run("import", src, out, "--format", "celebahq-classifiers")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("resolution: 4", r.stdout)
        self.assertEqual(json.loads(cw.read_bin(out)[1]["classifier_39_kwargs"])["resolution"], 4)

    def test_non_ascii_index(self):
        src = self.copy_folder()  # "03" in Arabic-Indic digits: no classifier name, so 03 is missing
        os.rename(self.file_of(src, 3), os.path.join(src, "celebahq-classifier-\u0660\u0663-wavy-hair.pkl"))
        self.assert_refused(src, "no classifier for index 03")

    def test_mixed_sides(self):
        src = self.replace(5, mlf.dumps_network(small_state(5, static=dict(SMALL, resolution=4)), 2))
        self.assert_refused(src, "celebahq-classifier-05-5-o-clock-shadow.pkl", "takes 4x4 images",
                            "celebahq-classifier-00-male.pkl 8x8", "the 40 classifiers take one side")

    def replace(self, i, data):
        src = self.copy_folder()
        with open(self.file_of(src, i), "wb") as f:
            f.write(data)
        return src

    def test_gan_pickle_in_place(self):
        states = mkp.make_networks(dict(SMALL, latent_size=4), seed=1, mbstd_group_size=0)
        src = self.replace(8, mkp.dumps(states))
        self.assert_refused(src, "celebahq-classifier-08-bald.pkl", "holds 3 TensorFlow networks",
                            "holds one D_paper network")

    def test_generator_in_place(self):
        g = mkp.make_networks(dict(SMALL, latent_size=4), seed=1, mbstd_group_size=0)[0]
        src = self.replace(9, mlf.dumps_network(g, 2))
        self.assert_refused(src, "celebahq-classifier-09-bangs.pkl", "built by 'G_paper'", "PGGAN's D_paper")

    def test_minibatch_stddev_map(self):
        for in_kwargs in (True, False):
            with self.subTest(mbstd_group_size_in_static_kwargs=in_kwargs):
                st = small_state(11, static=dict(SMALL, mbstd_group_size=4), mbstd_in_kwargs=True)
                if not in_kwargs:  # read from 4x4/Conv's maps, with the official default group 4
                    del st["static_kwargs"]["mbstd_group_size"]
                src = self.replace(11, mlf.dumps_network(st, 3))
                self.assert_refused(src, "celebahq-classifier-11-big-nose.pkl", "minibatch-stddev layer (group size 4)")
                shutil.rmtree(src)

    def test_labels(self):
        st = small_state(12, static=dict(SMALL, label_size=2))
        src = self.replace(12, mlf.dumps_network(st, 2))
        self.assert_refused(src, "celebahq-classifier-12-black-hair.pkl", "2 label outputs")

    def test_grey(self):
        st = small_state(13, static=dict(SMALL, num_channels=1))
        src = self.replace(13, mlf.dumps_network(st, 3))
        self.assert_refused(src, "celebahq-classifier-13-blond-hair.pkl", "reads 1 channel;")

    def test_state_version(self):
        st = small_state(14, version=4)
        src = self.replace(14, mlf.dumps_network(dict(st, version=4), 3))
        self.assert_refused(src, "celebahq-classifier-14-blurry.pkl", "network state version 4",
                            "is 2 (PGGAN's tfutil.Network) or 3")

    def test_src_not_a_folder(self):
        self.assert_refused(self.file_of(self.folder, 0), "is not a folder", "--format celebahq-classifiers takes")
        self.assert_refused(os.path.join(self.dir.name, "missing"), "does not exist")

    def test_folder_without_the_format(self):
        r = run("import", self.folder, os.path.join(self.dir.name, "out.bin"))
        self.assertEqual(r.returncode, 1)
        self.assertIn("is a folder", r.stderr)
        self.assertIn("--format celebahq-classifiers", r.stderr)
        # One classifier pickle alone, as a GAN pickle would be given.
        r = run("import", self.file_of(self.folder, 0), os.path.join(self.dir.name, "out.bin"))
        self.assertEqual(r.returncode, 1)
        self.assertIn("one TensorFlow network", r.stderr)
        self.assertEqual(os.listdir(self.dir.name), [])

    def test_flags_refused(self):
        out = os.path.join(self.dir.name, "ls.bin")
        r = run("import", self.folder, out, "--format", "celebahq-classifiers", "--mbstd-group-size", "0")
        self.assertEqual(r.returncode, 1)
        self.assertIn("--mbstd-group-size does not apply to the CelebA-HQ attribute classifiers", r.stderr)
        self.assertFalse(os.path.exists(out))


if __name__ == "__main__":
    unittest.main()
