"""Compares named tensors of two ganforge .bin files (safetensors: an 8-byte
little-endian header length, a JSON header, the raw bytes), for the program
tests, with the standard library only:
  same_tensors.py A.bin B.bin --same N1,N2,... [--differ N3,...]
exits 0 when every --same tensor has the same dtype, shape and bytes in both
files and every --differ tensor does not; otherwise prints the first that
breaks the rule and exits 1."""
import argparse
import json
import struct
import sys


def tensors(path):
    """{name: (dtype, shape, bytes)} of a safetensors file."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    header.pop("__metadata__", None)
    body = data[8 + n:]
    return {k: (h["dtype"], h["shape"], body[h["data_offsets"][0]:h["data_offsets"][1]]) for k, h in header.items()}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--same", default="")
    p.add_argument("--differ", default="")
    args = p.parse_args()
    a, b = tensors(args.a), tensors(args.b)
    for names, want_same in ((args.same, True), (args.differ, False)):
        for n in filter(None, names.split(",")):
            if n not in a or n not in b:
                print(f"same_tensors: {n} is missing from {args.a if n not in a else args.b}")
                return 1
            if (a[n] == b[n]) != want_same:
                print(f"same_tensors: {n} {'differs' if want_same else 'is the same'} in {args.a} and {args.b}")
                return 1
    print("same_tensors: as expected")
    return 0


if __name__ == "__main__":
    sys.exit(main())
