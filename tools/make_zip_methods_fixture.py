#!/usr/bin/env python3
"""Writes tests/data/zip_methods.zip for tests/test_zip_methods.cpp: one entry
for each compression method Python's zipfile writes (the official
dataset_tool.py and training loader read zips through it), so the C++ reader
is tested against another tool's archives, not only its own:
  stored.txt (0), deflate.txt (8), bzip2.txt (12), lzma.txt (14),
  empty_bzip2.txt and empty_lzma.txt (0 bytes, 12 and 14), and
  lzma_no_end_marker.txt (14): LZMA data that stops without the end marker,
  as archivers that know the size write it (Python writes the marker); made
  with liblzma's LZMA1EXT encoder through ctypes (zipfile still sets the flag
  bit that announces a marker: readers go by the data, not the bit), and
  lzma_no_end_marker_tail.bin (14), 387 bytes of seeded noise whose stream,
  decoded without its size, gives more bytes than the entry holds: a reader
  must stop at the entry's size, as zipfile does (no_end_marker_tail()).
Each non-empty entry holds the same text, content(), long and repetitive
enough that every method really compresses it. Timestamps are fixed, so the
file is the same on every run of the same Python.

Run from the repository root: /usr/bin/python3 tools/make_zip_methods_fixture.py [out.zip]
"""
import ctypes
import lzma
import os
import random
import struct
import sys
import zipfile

TOOLS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, TOOLS)
import pydeps  # noqa: E402  (standard library only: one-line flag errors)


def content():
    return "".join(f"line {i}: the quick brown fox {i * i % 97}\n" for i in range(400)).encode()


class _LzmaOptions(ctypes.Structure):  # liblzma's lzma_options_lzma (5.4)
    _fields_ = [("dict_size", ctypes.c_uint32), ("preset_dict", ctypes.c_void_p), ("preset_dict_size", ctypes.c_uint32),
                ("lc", ctypes.c_uint32), ("lp", ctypes.c_uint32), ("pb", ctypes.c_uint32), ("mode", ctypes.c_int),
                ("nice_len", ctypes.c_uint32), ("mf", ctypes.c_int), ("depth", ctypes.c_uint32),
                ("ext_flags", ctypes.c_uint32), ("ext_size_low", ctypes.c_uint32), ("ext_size_high", ctypes.c_uint32),
                ("reserved", ctypes.c_uint32 * 5), ("reserved_ptr", ctypes.c_void_p * 2)]


class _LzmaFilter(ctypes.Structure):
    _fields_ = [("id", ctypes.c_uint64), ("options", ctypes.c_void_p)]


def lzma1_without_end_marker(data):
    """-> (5 property bytes, raw LZMA1 data of `data` with no end marker)."""
    lib = ctypes.CDLL("liblzma.so.5")
    o = _LzmaOptions()
    assert lib.lzma_lzma_preset(ctypes.byref(o), 6) == 0
    o.ext_flags, o.ext_size_low, o.ext_size_high = 0, len(data) & 0xFFFFFFFF, len(data) >> 32  # size known: no marker
    opts = ctypes.cast(ctypes.byref(o), ctypes.c_void_p)
    filters = (_LzmaFilter * 2)(_LzmaFilter(0x4000000000000002, opts), _LzmaFilter(2**64 - 1, None))  # LZMA1EXT
    out, pos = ctypes.create_string_buffer(len(data) + 1024), ctypes.c_size_t(0)
    assert lib.lzma_raw_buffer_encode(filters, None, data, ctypes.c_size_t(len(data)), out, ctypes.byref(pos),
                                      ctypes.c_size_t(len(out))) == 0
    props = ctypes.create_string_buffer(5)
    assert lib.lzma_properties_encode(ctypes.byref(_LzmaFilter(0x4000000000000001, opts)), props) == 0  # LZMA1
    raw = out.raw[:pos.value]
    return props.raw, raw


def lzma1_decodes_past_its_end(props, raw, size):
    """Whether a decoder not told the size gives more than `size` bytes (the
    range coder's last bytes read as more symbols), the first `size` right:
    zipfile stops at the entry's size, so it reads such an entry."""
    dec = lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=[lzma._decode_filter_properties(lzma.FILTER_LZMA1, props)])
    out = dec.decompress(raw)
    assert not dec.eof  # no end marker was met
    return len(out) > size


def no_end_marker_tail():
    """The first seeded noise whose marker-less stream decodes past its end."""
    for seed in range(1000):
        data = random.Random(seed).randbytes(387)
        if lzma1_decodes_past_its_end(*lzma1_without_end_marker(data), len(data)):
            return data
    raise AssertionError("no stream decoded past its end")


class _NoEndMarkerCompressor:
    """zipfile's compressor interface, giving APPNOTE's LZMA layout without the end marker."""

    def __init__(self):
        self.data = b""

    def compress(self, data):
        self.data += data
        return b""

    def flush(self):
        props, raw = lzma1_without_end_marker(self.data)
        return struct.pack("<BBH", 5, 4, len(props)) + props + raw


def main(path):
    entries = [("stored.txt", zipfile.ZIP_STORED, content()), ("deflate.txt", zipfile.ZIP_DEFLATED, content()),
               ("bzip2.txt", zipfile.ZIP_BZIP2, content()), ("lzma.txt", zipfile.ZIP_LZMA, content()),
               ("empty_bzip2.txt", zipfile.ZIP_BZIP2, b""), ("empty_lzma.txt", zipfile.ZIP_LZMA, b"")]
    with zipfile.ZipFile(path, "w") as z:
        for name, method, data in entries:
            info = zipfile.ZipInfo(name, date_time=(2026, 12, 4, 0, 0, 0))
            info.compress_type = method
            z.writestr(info, data)
        info = zipfile.ZipInfo("lzma_no_end_marker.txt", date_time=(2026, 12, 4, 0, 0, 0))
        info.compress_type = zipfile.ZIP_LZMA
        tail = zipfile.ZipInfo("lzma_no_end_marker_tail.bin", date_time=(2026, 12, 4, 0, 0, 0))
        tail.compress_type = zipfile.ZIP_LZMA
        own = zipfile._get_compressor
        zipfile._get_compressor = lambda *args: _NoEndMarkerCompressor()
        try:
            z.writestr(info, content())
            z.writestr(tail, no_end_marker_tail())
        finally:
            zipfile._get_compressor = own
    entries.append(("lzma_no_end_marker.txt", zipfile.ZIP_LZMA, content()))
    entries.append(("lzma_no_end_marker_tail.bin", zipfile.ZIP_LZMA, no_end_marker_tail()))
    with zipfile.ZipFile(path) as z:
        for name, method, data in entries:
            assert z.getinfo(name).compress_type == method and z.read(name) == data
            if data and name.endswith(".txt"):  # the text compresses; the noise cannot
                assert method == zipfile.ZIP_STORED or z.getinfo(name).compress_size < len(data) // 4
    print(f"{path}: {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main(pydeps.output_file(__doc__, os.path.join(TOOLS, "..", "tests", "data", "zip_methods.zip")))
