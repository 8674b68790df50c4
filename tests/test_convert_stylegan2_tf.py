#!/usr/bin/env python3
"""tools/convert_weights.py on official StyleGAN2 TensorFlow pickles
(NVlabs/stylegan2, dnnlib.tflib state version 4, configs E and F), written by
tools/fixtures/make_stylegan2_tf_pickle.py from StyleGAN2 networks:

- the import gives back every tensor of the network the pickle was written
  from (the affine biases to the float32 rounding of mod_bias + 1) and the
  same G_kwargs and D_kwargs;
- the TF semantics of the pickle's variables (the official
  networks_stylegan2.py layers written out below: [k, k, in, out] kernels,
  upsample_conv_2d's flip before its transposed convolution, the style
  dense + mod_bias + 1, conv_downsample_2d) give the images and scores that
  tools/reference/stylegan2_reference.py gives on the imported tensors, to 1e-4
  relative: a wrong flip, transpose or +1 in the reader fails here, whatever
  the pickle writer does;
- bad and unsupported pickles are refused with one line and nothing written.
Exit 77 (skip) without NumPy/PyTorch."""
import contextlib
import io
import json
import math
import os
import sys
import types
import unittest

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
except ImportError:
    print("SKIP: torch or numpy is not importable")
    sys.exit(77)

TOOLS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools")
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
sys.path.insert(0, TOOLS)
sys.path[:0] = [os.path.join(TOOLS, "reference"), os.path.join(TOOLS, "fixtures")]
import convert_weights as cw  # noqa: E402
import golden_io  # noqa: E402
import make_stylegan2_tf_pickle as mk  # noqa: E402
import make_stylegan_pickle as v1  # noqa: E402
import stylegan2_reference as ref  # noqa: E402
from convert_weights_fixture import TempDirTest, make_nets  # noqa: E402

G_CFG = dict(z_dim=8, c_dim=0, w_dim=8, img_resolution=16, img_channels=3, mapping_layers=2,
             mapping_lr_multiplier=0.01, w_avg_beta=0.995, channel_base=64, channel_max=8, conv_clamp=None,
             use_noise=True)
D_CFG = dict(c_dim=0, img_resolution=16, img_channels=3, architecture="resnet", channel_base=64, channel_max=8,
             conv_clamp=None, mbstd_group_size=2, mbstd_num_channels=1, cmap_dim=0, mapping_layers=8,
             freeze_layers=0)
# Config E's Dorig (D_stylegan2 architecture='orig'): no Skip layers.
D_ORIG_CFG = dict(D_CFG, architecture="orig")
# A float32 x - 1 + 1 round trip moves x by at most one ulp of 1.
AFFINE_BIAS_ATOL = 2.0 ** -23


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cw.main(list(args))
    return types.SimpleNamespace(returncode=code, stdout=out.getvalue(), stderr=err.getvalue())


def random_nets(seed, d_cfg=D_CFG):
    """Reference networks with every tensor moved off its init (noise strengths,
    affine biases away from 1), so each mapping rule shows in the outputs: their state dicts."""
    nets = make_nets(seed, G_CFG, d_cfg)
    return {k: {n: t.detach().clone() for n, t in net.state_dict().items()} for k, net in nets.items()}


# ---- the official TF semantics (training/networks_stylegan2.py, dnnlib/tflib/ops), float64

SQRT2 = math.sqrt(2)


def _lrelu(x):
    return F.leaky_relu(x, 0.2) * SQRT2  # fused_bias_act's lrelu: alpha 0.2, gain sqrt(2)


def _fir(x, up=1, pad0=0, pad1=0, gain=1.0):
    k = ref.setup_filter().double()  # [1, 3, 3, 1] outer product / 64; symmetric, so no flip question
    return ref.upfirdn2d(x, k, up=up, pad=(pad0, pad1, pad0, pad1), gain=gain)


def _weight(w, lrmul=1.0):
    """get_weight: stored N(0, 1 / lrmul), run with he_std * lrmul (gain 1)."""
    return w * (lrmul / math.sqrt(math.prod(w.shape[:-1])))


def _dense(x, w, b=None, lrmul=1.0, act=False):
    y = x.flatten(1) @ _weight(w, lrmul)
    if b is not None:
        y = y + b * lrmul
    return _lrelu(y) if act else y


def _conv(x, w, up=False, down=False):
    """conv2d_layer on a runtime weight [k, k, in, out]: 'SAME' correlation,
    upsample_conv_2d (flip, transposed conv of stride 2, FIR) or
    conv_downsample_2d (FIR, strided correlation)."""
    k = w.shape[0]
    if up:
        wf = w.flip([0, 1])  # upsample_conv_2d's w[::-1, ::-1]
        # tf.nn.conv2d_transpose's filter [k, k, out, in] is wf with its last two
        # axes swapped; torch's conv_transpose2d takes [in, out, k, k].
        y = F.conv_transpose2d(x, wf.permute(2, 3, 0, 1), stride=2)
        p = (4 - 2) - (k - 1)
        return _fir(y, pad0=(p + 1) // 2 + 1, pad1=p // 2 + 1, gain=4.0)
    if down:
        p = (4 - 2) + (k - 1)
        return F.conv2d(_fir(x, pad0=(p + 1) // 2, pad1=p // 2), w.permute(3, 2, 0, 1), stride=2)
    return F.conv2d(x, w.permute(3, 2, 0, 1), padding=k // 2)


def _modconv(x, dlatent, v, scope, up=False, demodulate=True):
    w = _weight(v[f"{scope}/weight"])
    s = _dense(dlatent, v[f"{scope}/mod_weight"], v[f"{scope}/mod_bias"]) + 1
    ww = w[None] * s[:, None, None, :, None]
    if demodulate:
        ww = ww * (ww.square().sum(dim=[1, 2, 3]) + 1e-8).rsqrt()[:, None, None, None, :]
    return torch.cat([_conv(x[i:i + 1], ww[i], up=up) for i in range(x.shape[0])])


def tf_generator(state, z, psi):
    """G_main (no labels, truncation psi on every layer, noise from noise<i>)."""
    own = {n: torch.from_numpy(a).double() for n, a in state["variables"]}
    comps = state["components"]
    m = {n: torch.from_numpy(a).double() for n, a in comps["mapping"]["variables"]}
    s = {n: torch.from_numpy(a).double() for n, a in comps["synthesis"]["variables"]}
    kw = state["static_kwargs"]
    x = z * (z.square().mean(dim=1, keepdim=True) + 1e-8).rsqrt()
    for i in range(kw["mapping_layers"]):
        x = _dense(x, m[f"Dense{i}/weight"], m[f"Dense{i}/bias"], kw["mapping_lrmul"], act=True)
    L = int(math.log2(kw["resolution"]))
    dl = x[:, None].repeat(1, 2 * L - 2, 1)
    dl = own["dlatent_avg"] + (dl - own["dlatent_avg"]) * psi  # tflib.lerp(dlatent_avg, dlatents, psi)

    def layer(x, idx, scope, up=False):
        x = _modconv(x, dl[:, idx], s, scope, up=up)
        x = x + s[f"noise{idx}"] * s[f"{scope}/noise_strength"]
        return _lrelu(x + s[f"{scope}/bias"][None, :, None, None])

    def torgb(x, y, res, scope):
        t = _modconv(x, dl[:, res * 2 - 3], s, scope, demodulate=False) + s[f"{scope}/bias"][None, :, None, None]
        return t if y is None else y + t

    x = s["4x4/Const/const"].repeat(z.shape[0], 1, 1, 1)
    x = layer(x, 0, "4x4/Conv")
    y = torgb(x, None, 2, "4x4/ToRGB")
    for res in range(3, L + 1):
        r = f"{2 ** res}x{2 ** res}"
        x = layer(x, res * 2 - 5, f"{r}/Conv0_up", up=True)
        x = layer(x, res * 2 - 4, f"{r}/Conv1")
        y = _fir(y, up=2, pad0=2, pad1=1, gain=4.0)  # upsample_2d
        y = torgb(x, y, res, f"{r}/ToRGB")
    return y


def tf_discriminator(state, img):
    """D_stylegan2, 'resnet' or 'orig' (static_kwargs architecture), no labels."""
    v = {n: torch.from_numpy(a).double() for n, a in state["variables"]}
    kw = state["static_kwargs"]

    def conv_act(x, scope, down=False):
        return _lrelu(_conv(x, _weight(v[f"{scope}/weight"]), down=down) + v[f"{scope}/bias"][None, :, None, None])

    L = int(math.log2(kw["resolution"]))
    x = conv_act(img, f"{2 ** L}x{2 ** L}/FromRGB")
    for res in range(L, 2, -1):
        r = f"{2 ** res}x{2 ** res}"
        t = x
        x = conv_act(conv_act(x, f"{r}/Conv0"), f"{r}/Conv1_down", down=True)
        if kw.get("architecture", "resnet") == "resnet":
            t = _conv(t, _weight(v[f"{r}/Skip/weight"]), down=True)
            x = (x + t) * (1 / SQRT2)
    if kw["mbstd_group_size"] > 1:  # minibatch_stddev_layer
        g, n = min(kw["mbstd_group_size"], x.shape[0]), kw["mbstd_num_features"]
        N, C, H, W = x.shape
        y = x.reshape(g, -1, n, C // n, H, W)
        y = ((y - y.mean(dim=0)).square().mean(dim=0) + 1e-8).sqrt().mean(dim=[2, 3, 4])
        x = torch.cat([x, y.reshape(-1, n, 1, 1).repeat(g, 1, H, W)], dim=1)
    x = conv_act(x, "4x4/Conv")
    x = _dense(x, v["4x4/Dense0/weight"], v["4x4/Dense0/bias"], act=True)
    return _dense(x, v["Output/weight"], v["Output/bias"])


def nets_from_bin(path):
    tensors, meta = cw.read_bin(path)
    nets = {}
    for key in ("G", "D", "G_ema"):
        state = {n[len(key) + 1:]: t for n, t in tensors.items() if n.startswith(key + ".")}
        kwargs = json.loads(meta["D_kwargs" if key == "D" else "G_kwargs"])
        net = ref.Discriminator(**kwargs) if key == "D" else ref.Generator(**kwargs)
        net.load_state_dict(state)
        nets[key] = net.double().eval()
    return nets, tensors, meta


def rel_error(a, b):
    return ((a - b).abs().max() / b.abs().max()).item()


class ConvertStyleGAN2TFTest(TempDirTest):
    def write(self, states, name="net.pkl"):
        with open(self.path(name), "wb") as f:
            f.write(v1.dumps(states))
        return self.path(name)

    def assert_same_tensors(self, got, want):
        self.assertEqual(sorted(got), sorted(want))
        for n, t in want.items():
            if n.endswith(".affine.bias"):
                torch.testing.assert_close(got[n], t.float(), rtol=0, atol=AFFINE_BIAS_ATOL, msg=n)
            else:
                self.assertTrue(torch.equal(got[n], t.float()), n)

    def test_parity_fixture_round_trip(self):
        """tests/data/parity_32x1.bin (the ganforge parity network) through a TF pickle and back."""
        tensors, meta = golden_io.read_safetensors(os.path.join(DATA, "parity_32x1.bin"))
        nets = {k: {n[len(k) + 1:]: t for n, t in tensors.items() if n.startswith(k + ".")}
                for k in ("G", "D", "G_ema")}
        states = mk.make_states(nets, json.loads(meta["G_kwargs"]), json.loads(meta["D_kwargs"]))
        r = run("import", self.write(states), self.path("out.bin"))
        self.assertEqual(r.returncode, 0, r.stderr)
        got, got_meta = cw.read_bin(self.path("out.bin"))
        self.assert_same_tensors(got, tensors)
        self.assertEqual(json.loads(got_meta["G_kwargs"]), json.loads(meta["G_kwargs"]))
        # The fixture predates the "architecture" key (absent: 'resnet'); every import writes it.
        self.assertEqual(json.loads(got_meta["D_kwargs"]), dict(json.loads(meta["D_kwargs"]), architecture="resnet"))

    def test_tf_semantics_equal_the_reference(self):
        nets = random_nets(5)
        states = mk.make_states(nets, G_CFG, D_CFG)
        r = run("import", self.write(states), self.path("out.bin"))
        self.assertEqual(r.returncode, 0, r.stderr)
        imported, tensors, meta = nets_from_bin(self.path("out.bin"))
        self.assert_same_tensors(tensors, {f"{k}.{n}": t for k, s in nets.items() for n, t in s.items()})
        self.assertEqual(json.loads(meta["G_kwargs"]), G_CFG)
        self.assertEqual(json.loads(meta["D_kwargs"]), D_CFG)
        z = torch.randn([4, G_CFG["z_dim"]], generator=torch.Generator().manual_seed(2), dtype=torch.float64)
        with torch.no_grad():
            for key, st in (("G", states[0]), ("G_ema", states[2])):
                want = tf_generator(st, z, 0.7)
                got = imported[key](z, None, 0.7, None, "const")
                self.assertLess(rel_error(got, want), 1e-4, key)
            img = tf_generator(states[2], z, 1.0)
            self.assertLess(rel_error(imported["D"](img), tf_discriminator(states[1], img)), 1e-4, "D")

    def test_orig_discriminator(self):
        """Config E's Dorig: imported with "architecture": "orig", the TF
        semantics (no Skip, no 1/sqrt(2)) equal the reference 'orig' D, and the
        export gives back the same tensors (no skip weights)."""
        nets = random_nets(7, D_ORIG_CFG)
        self.assertFalse(any(".skip." in n for n in nets["D"]))
        states = mk.make_states(nets, G_CFG, D_ORIG_CFG)
        d_vars = dict(states[1]["variables"])
        self.assertFalse(any(n.endswith("/Skip/weight") for n in d_vars))
        self.assertEqual(states[1]["static_kwargs"]["architecture"], "orig")
        src, out = self.write(states), self.path("out.bin")
        r = run("import", src, out)
        self.assertEqual(r.returncode, 0, r.stderr)
        imported, tensors, meta = nets_from_bin(out)
        self.assert_same_tensors(tensors, {f"{k}.{n}": t for k, s in nets.items() for n, t in s.items()})
        self.assertEqual(json.loads(meta["D_kwargs"]), D_ORIG_CFG)
        self.assertEqual(json.loads(meta["G_kwargs"]), G_CFG)
        z = torch.randn([4, G_CFG["z_dim"]], generator=torch.Generator().manual_seed(3), dtype=torch.float64)
        with torch.no_grad():
            img = tf_generator(states[2], z, 1.0)
            want = tf_discriminator(states[1], img)
            self.assertLess(rel_error(imported["D"](img), want), 1e-4, "D")
            # The 'resnet' semantics on these variables (zero skips) are not what the pickle computes.
            resnet = dict(states[1], static_kwargs=dict(states[1]["static_kwargs"], architecture="resnet"),
                          variables=list(states[1]["variables"]) + [
                              (f"{r}x{r}/Skip/weight", np.zeros([1, 1, d_vars[f"{r}x{r}/Conv0/weight"].shape[2],
                                                                 d_vars[f"{r}x{r}/Conv1_down/weight"].shape[3]],
                                                                np.float32)) for r in (16, 8)])
            self.assertGreater(rel_error(tf_discriminator(resnet, img), want), 1e-2)
        # The export: the official names, no skip weights, the same tensors; and back.
        pt, back = self.path("net.pt"), self.path("back.bin")
        r = run("export", out, pt, "--net", "all")
        self.assertEqual(r.returncode, 0, r.stderr)
        exported = torch.load(pt)
        self.assertEqual(set(exported["D"]), set(nets["D"]))
        ref.Discriminator(**D_ORIG_CFG).load_state_dict(exported["D"])  # strict
        for n, t in nets["D"].items():
            self.assertTrue(torch.equal(exported["D"][n], t), n)
        r = run("import", pt, back, "--mbstd-group-size", "2")
        self.assertEqual(r.returncode, 0, r.stderr)
        got, got_meta = cw.read_bin(back)
        self.assertEqual(json.loads(got_meta["D_kwargs"]), D_ORIG_CFG)
        self.assertEqual(sorted(got), sorted(tensors))
        for n, t in tensors.items():
            self.assertTrue(torch.equal(got[n], t), n)
        # Without the architecture in static_kwargs (D_stylegan2's default is
        # 'resnet'), the variables tell: no Skip, 'orig'.
        plain = list(states)
        plain[1] = dict(states[1], static_kwargs={k: a for k, a in states[1]["static_kwargs"].items()
                                                  if k != "architecture"})
        r = run("import", self.write(plain, "plain.pkl"), out)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(cw.read_bin(out)[1]["D_kwargs"])["architecture"], "orig")

    def test_bad_and_unsupported_pickles_are_refused(self):
        nets = random_nets(6)
        states = mk.make_states(nets, G_CFG, D_CFG)
        out = self.path("out.bin")

        def edit_synthesis(st, fn):
            comps = dict(st["components"])
            comps["synthesis"] = dict(comps["synthesis"], variables=fn(list(comps["synthesis"]["variables"])))
            return dict(st, components=comps)

        cases = []
        missing = list(states)
        missing[2] = edit_synthesis(states[2], lambda v: [(n, a) for n, a in v if n != "8x8/Conv0_up/mod_bias"])
        cases.append((missing, "Gs.synthesis: missing variable 8x8/Conv0_up/mod_bias"))
        resnet = list(states)
        resnet[0] = edit_synthesis(states[0], lambda v: v + [("8x8/Skip/weight", np.ones([1, 1, 8, 8], np.float32))])
        cases.append((resnet, "architecture 'resnet' is not supported"))
        labelled = list(states)
        comps = dict(states[0]["components"])
        comps["mapping"] = dict(comps["mapping"], variables=list(comps["mapping"]["variables"])
                                + [("LabelConcat/weight", np.ones([3, 8], np.float32))])
        labelled[0] = dict(states[0], components=comps, static_kwargs=dict(states[0]["static_kwargs"], label_size=3))
        cases.append((labelled, "a conditional network (label_size 3"))
        revised = list(states)
        revised[2] = dict(states[2], components=dict(
            states[2]["components"], synthesis=dict(states[2]["components"]["synthesis"],
                                                    build_func_name="G_synthesis_stylegan_revised")))
        cases.append((revised, "configs B-D: progressive growing"))
        d_stylegan = list(states)
        d_stylegan[1] = dict(states[1], build_func_name="D_stylegan")
        cases.append((d_stylegan, "expected D_stylegan2"))
        # static_kwargs saying 'resnet' over variables without Skip (and the reverse).
        noskip = list(states)
        noskip[1] = dict(states[1], variables=[(n, a) for n, a in states[1]["variables"] if "/Skip/" not in n])
        cases.append((noskip, "D: static_kwargs architecture 'resnet', but the variables are an 'orig' "
                              "discriminator's (without <res>x<res>/Skip/weight)"))
        orig_kw = list(states)
        orig_kw[1] = dict(states[1], static_kwargs=dict(states[1]["static_kwargs"], architecture="orig"))
        cases.append((orig_kw, "static_kwargs architecture 'orig', but the variables are a 'resnet'"))
        # A 'skip' D: FromRGB in every block and at 4x4 (and no Skip).
        skip = list(states)
        skip[1] = dict(noskip[1], static_kwargs=dict(states[1]["static_kwargs"], architecture="skip"),
                       variables=noskip[1]["variables"] + [
                           (f"{r}x{r}/FromRGB/{p}", np.ones([1, 1, 3, 8] if p == "weight" else [8], np.float32))
                           for r in (8, 4) for p in ("weight", "bias")])
        cases.append((skip, "D: architecture 'skip' is not supported (ganforge's StyleGAN2 discriminator is "
                            "'resnet' or 'orig')"))
        nombstd = list(states)
        nombstd[1] = dict(states[1], static_kwargs=dict(states[1]["static_kwargs"], mbstd_group_size=0))
        cases.append((nombstd, "but mbstd_group_size is 0"))
        for i, (st, msg) in enumerate(cases):
            r = run("import", self.write(st, f"bad{i}.pkl"), out)
            self.assertEqual(r.returncode, 1, msg)
            self.assertIn(msg, r.stderr)
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
            self.assertFalse(os.path.exists(out))
        r = run("import", self.write(states, "ok.pkl"), out, "--format", "pggan-pkl")
        self.assertIn("a StyleGAN2 TensorFlow pickle, not a PGGAN one", r.stderr)


if __name__ == "__main__":
    unittest.main()
