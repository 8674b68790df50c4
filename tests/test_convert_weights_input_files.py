#!/usr/bin/env python3
"""tools/convert_weights.py: bad input files (truncated, foreign, absent, a pipe) and .bin files read as
strictly as the C++ reader reads them, their CRC-32s checked on export.
Run with /usr/bin/python3 (PyTorch); exits 77 when torch is missing."""
import json
import os
import pickle
import struct
import sys
import unittest
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # convert_weights_fixture
# First: it exits 77 when torch or NumPy is missing, and puts tools/, tools/reference/ and
# tools/fixtures/ on sys.path.
from convert_weights_fixture import ConvertWeightsCase, make_nets, official_pickle, run, run_here  # noqa: E402
import convert_weights as cw  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402


class ConvertWeightsTest(ConvertWeightsCase):
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


if __name__ == "__main__":
    unittest.main()
