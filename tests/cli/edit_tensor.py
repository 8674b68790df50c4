#!/usr/bin/env python3
"""A .bin (safetensors layout) changed as a hand edit or another tool would
leave it, but consistent otherwise: copies IN to OUT with every element of
tensor NAME set to VALUE (F32 or F64), or with the last data byte's lowest
bit flipped (--flip-last-byte: another valid file, for "the ranks were given
different files"), and the data's CRC-32 (metadata data_crc32,
engine/io/safetensors.h) recomputed where the file has one, so that what
answers is the check of the value or of the content, not the CRC. Standard
library only.
  edit_tensor.py IN OUT NAME=VALUE...|--flip-last-byte"""
import struct
import sys

import bin_file


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    src, dst, edits = argv[0], argv[1], argv[2:]
    header, data = bin_file.read(src)
    data = bytearray(data)
    for edit in edits:
        if edit == "--flip-last-byte":
            data[-1] ^= 1
            continue
        name, _, value = edit.partition("=")
        if name not in header:
            print(f"edit_tensor.py: {src} has no tensor '{name}'", file=sys.stderr)
            return 1
        begin, end = header[name]["data_offsets"]
        code = {"F32": "f", "F64": "d"}[header[name]["dtype"]]
        count = (end - begin) // struct.calcsize(code)
        data[begin:end] = struct.pack(f"<{count}{code}", *([float(value)] * count))
    bin_file.write(dst, header, data)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
