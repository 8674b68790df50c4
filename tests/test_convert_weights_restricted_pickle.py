#!/usr/bin/env python3
"""tools/convert_weights.py: the restricted unpickler: foreign pickles, malicious storage bytes and torch
files, cyclic and malformed pickles, memo bombs, each refused in one line and never run.
Run with /usr/bin/python3 (PyTorch); exits 77 when torch is missing."""
import collections
import io
import os
import pickle
import struct
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # convert_weights_fixture
# First: it exits 77 when torch or NumPy is missing, and puts tools/, tools/reference/ and
# tools/fixtures/ on sys.path.
from convert_weights_fixture import ConvertWeightsCase, Persistent, legacy_blob, run, run_here  # noqa: E402
import convert_weights as cw  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402


class Evil:
    def __reduce__(self):
        return os.system, ("touch " + os.environ["GF_SENTINEL"],)


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


class ConvertWeightsTest(ConvertWeightsCase):
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


if __name__ == "__main__":
    unittest.main()
