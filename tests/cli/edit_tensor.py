#!/usr/bin/env python3
"""A .bin (safetensors layout) damaged as a hand edit or a bad tool would
leave it, but consistent otherwise: copies IN to OUT with every element of
tensor NAME set to VALUE (F32 or F64), and the data's CRC-32 (metadata
data_crc32, engine/io/safetensors.h) recomputed where the file has one, so
that the reader's check of the value itself is what answers. Standard
library only.
  edit_tensor.py IN OUT NAME=VALUE..."""
import json
import struct
import sys
import zlib


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    src, dst, edits = argv[0], argv[1], argv[2:]
    with open(src, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = bytearray(f.read())
    for edit in edits:
        name, _, value = edit.partition("=")
        if name not in header:
            print(f"edit_tensor.py: {src} has no tensor '{name}'", file=sys.stderr)
            return 1
        begin, end = header[name]["data_offsets"]
        code = {"F32": "f", "F64": "d"}[header[name]["dtype"]]
        count = (end - begin) // struct.calcsize(code)
        data[begin:end] = struct.pack(f"<{count}{code}", *([float(value)] * count))
    meta = header.get("__metadata__") or {}
    if "data_crc32" in meta:
        meta["data_crc32"] = f"{zlib.crc32(bytes(data)):08x}"
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    with open(dst, "wb") as f:
        f.write(struct.pack("<Q", len(raw)) + raw + bytes(data))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
