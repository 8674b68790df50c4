#!/usr/bin/env python3
"""Writes the first N Fashion-MNIST training images as a .zip of 32x32 PNGs.

    python3 scripts/fashion_mnist_zip.py OUT.zip [--count N] [--src DIR]

A small dataset that `train_stylegan --data OUT.zip` reads on a machine that
lacks Debian's dataset-fashion-mnist (the lent GPU machine: its copy travels
with scripts/gpu_check.sh). Each image is padded with zeros from 28x28 to
32x32 as train_stylegan pads Fashion-MNIST itself, so the zip trains the same
networks as the default data. Standard library only: runs under any python3.
The zip is written to a temporary name and renamed.
"""
import argparse
import gzip
import os
import struct
import sys
import zipfile
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools"))
from interrupts import exclusive_temporary  # noqa: E402  (standard library only)
from output_folder import not_a_plain_file  # noqa: E402

RES, SRC_RES = 32, 28


def png_gray(pixels, res):
    """A grayscale 8-bit PNG of res*res bytes, rows unfiltered."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + pixels[y * res:(y + 1) * res] for y in range(res))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", res, res, 8, 0, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--count", type=int, default=2048)
    ap.add_argument("--src", default="/usr/share/datasets/fashion-mnist")
    a = ap.parse_args()
    path = os.path.join(a.src, "train-images-idx3-ubyte.gz")
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        sys.exit(f"fashion_mnist_zip: {path}: {e} (install dataset-fashion-mnist)")
    magic, n, rows, cols = struct.unpack(">IIII", raw[:16])
    if magic != 0x803 or (rows, cols) != (SRC_RES, SRC_RES) or len(raw) != 16 + n * rows * cols:
        sys.exit(f"fashion_mnist_zip: {path}: not a 28x28 IDX image file")
    if not 0 < a.count <= n:
        sys.exit(f"fashion_mnist_zip: --count must be in 1..{n}, got {a.count}")

    pad = (RES - SRC_RES) // 2
    # A rename would replace a link or node itself (as root, /dev/stdout).
    if not_a_plain_file(a.out):
        sys.exit(f"fashion_mnist_zip: {a.out}: {not_a_plain_file(a.out)}")
    try:
        with exclusive_temporary(a.out) as tmp:  # this process's alone; SIGINT, SIGTERM remove it
            try:
                with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as z:  # PNGs are compressed already
                    for i in range(a.count):
                        img = bytearray(RES * RES)
                        src = raw[16 + i * SRC_RES * SRC_RES:16 + (i + 1) * SRC_RES * SRC_RES]
                        for y in range(SRC_RES):
                            img[(y + pad) * RES + pad:(y + pad) * RES + pad + SRC_RES] = src[y * SRC_RES:(y + 1) * SRC_RES]
                        z.writestr(f"{i // 1000:05d}/img{i:08d}.png", png_gray(bytes(img), RES))
                os.replace(tmp, a.out)
            except BaseException:  # a failed write or Ctrl-C leaves no temporary
                if os.path.exists(tmp):
                    os.remove(tmp)
                raise
    except OSError as e:
        sys.exit(f"fashion_mnist_zip: {a.out}: cannot write ({e.strerror})")
    print(f"fashion_mnist_zip: {a.count} images, {os.path.getsize(a.out)} bytes in {a.out}")


if __name__ == "__main__":
    main()
