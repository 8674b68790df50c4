#!/usr/bin/env python3
"""tools/convert_weights.py: torch state dicts (and safetensors ones) imported and exported back: round
trips, whole snapshots, missing, extra, misshapen and non-finite tensors.
Run with /usr/bin/python3 (PyTorch); exits 77 when torch is missing."""
import json
import os
import sys
import unittest
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # convert_weights_fixture
# First: it exits 77 when torch or NumPy is missing, and puts tools/, tools/reference/ and
# tools/fixtures/ on sys.path.
from convert_weights_fixture import ConvertWeightsCase, D_CFG, G_CFG, make_nets, run_here  # noqa: E402
import convert_weights as cw  # noqa: E402
import torch  # noqa: E402
import stylegan2_reference as ref  # noqa: E402


class ConvertWeightsTest(ConvertWeightsCase):
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


if __name__ == "__main__":
    unittest.main()
