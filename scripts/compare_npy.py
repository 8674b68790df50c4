#!/usr/bin/env python3
"""Compares two float32 .npy arrays (e.g. `generate --raw` on the GPU and the CPU).

    python3 scripts/compare_npy.py TEST.npy REF.npy [--rel-tol 1e-3]

Prints one line: the shape, max |test - ref|, and the relative error
||test - ref||_2 / ||ref||_2. Exits 0 when the shapes match, every value is
finite and the relative error is at most --rel-tol; 1 otherwise; 2 when a file
cannot be read. The default tolerance is the one for float32 arithmetic done
in another order (GPU against CPU, no TF32): such results land far under
1e-3. Standard library only, so it runs under any python3.
"""
import argparse
import ast
import math
import struct
import sys
from array import array


def read_npy_f32(path):
    """(shape, array('f')) of a little-endian float32 C-order .npy file."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:6] != b"\x93NUMPY":
        raise ValueError("not a .npy file")
    major = data[6]
    if major == 1:
        hlen, start = struct.unpack("<H", data[8:10])[0], 10
    elif major in (2, 3):
        hlen, start = struct.unpack("<I", data[8:12])[0], 12
    else:
        raise ValueError(f"unknown .npy version {major}")
    header = ast.literal_eval(data[start:start + hlen].decode("latin1"))
    if header.get("descr") != "<f4" or header.get("fortran_order"):
        raise ValueError(f"expected little-endian float32 in C order, got {header}")
    shape = tuple(header["shape"])
    values = array("f")
    values.frombytes(data[start + hlen:])
    if sys.byteorder != "little":
        values.byteswap()
    if len(values) != math.prod(shape):
        raise ValueError(f"{len(values)} values for shape {shape}")
    return shape, values


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("test")
    ap.add_argument("ref")
    ap.add_argument("--rel-tol", type=float, default=1e-3)
    a = ap.parse_args()
    try:
        (st, t), (sr, r) = read_npy_f32(a.test), read_npy_f32(a.ref)
    except (OSError, ValueError, SyntaxError) as e:
        print(f"compare_npy: {e}", file=sys.stderr)
        return 2
    if st != sr:
        print(f"compare_npy: shapes differ: {a.test} {st}, {a.ref} {sr}")
        return 1
    bad = sum(1 for v in t if not math.isfinite(v)) + sum(1 for v in r if not math.isfinite(v))
    diff2 = ref2 = max_abs = 0.0
    for x, y in zip(t, r):
        d = x - y
        diff2 += d * d
        ref2 += y * y
        max_abs = max(max_abs, abs(d))
    rel = math.sqrt(diff2 / ref2) if ref2 > 0 else (0.0 if diff2 == 0 else math.inf)
    ok = bad == 0 and rel <= a.rel_tol
    print(f"shape {list(st)}  max_abs {max_abs:.3g}  rel_l2 {rel:.3g}  non_finite {bad}  "
          f"(tolerance rel_l2 <= {a.rel_tol:g}): {'ok' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
