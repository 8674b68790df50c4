#!/usr/bin/python3
"""The official StyleGAN2-ADA dataset_tool.py's semantics in NumPy and PIL,
written from its rules (not its code), to check tools/dataset_tool.cpp: the
same source (a folder of images with dataset.json labels, an LSUN-style lmdb,
a CIFAR-10-style tarball or MNIST's IDX files) converted by both must give
the same PNG pixels, the same names and a byte-equal dataset.json.

Official: a folder's images in pathlib's order (by path parts), those of
--max-images first; the plain scale to --width/--height (PIL resize, keeps
grey as grey); center-crop (the square of the short side, centred with
integer division); center-crop-wide (crop height round(width*h/w), half to
even; images narrower than width or with a crop shorter than height skipped;
pasted into a black width x width square); PIL's LANCZOS or BOX; output index
counting skipped images; dataset.json as json.dumps writes it. An lmdb: its
records in key order (py-lmdb's cursor), each decoded in colour (official:
cv2.imdecode(IMREAD_COLOR), here PIL's convert('RGB'), the same pixels for
the PNG and lossless WebP records used), a record that does not decode left
out without an index, and the loop ended after the image of record
max_images - 1 or the next one that decodes. CIFAR-10: data_batch_1..5 of
the tarball unpickled with encoding='latin1', rows reshaped to 3x32x32 and
transposed to HWC, with their labels.
One change, as the C++ program documents: under the two crops a grey image
stays grey (mode 'L'); the official PIL.Image.fromarray(grey, 'RGB') raises.

Usage: /usr/bin/python3 tools/reference/dataset_tool_reference.py --make-sources DIR
       /usr/bin/python3 tools/reference/dataset_tool_reference.py --source DIR --ours DATASET
       [--transform T] [--width W] [--height H] [--resize-filter F] [--max-images N]
DATASET is dataset_tool's output (folder or .zip). Prints one line and exits
0 when equal; else names the first difference and exits 1. --make-sources
writes the test's sources: DIR/colour (RGB PNGs and a BMP of odd, non-square
sizes, one too narrow for center-crop-wide 32x24, "x.png" and "x/y.png" whose
order pathlib and plain sorting disagree on, labels, a text file), DIR/grey
(grey PNGs, no labels), DIR/mixed (RGB PNGs of 32x32 and 16x16), DIR/opaque and DIR/transparent
(an RGBA PNG, alpha 255 everywhere or but one pixel),
DIR/mnist (a 7-image IDX pair), DIR/cifar/cifar-10-python.tar.gz (five
batches of 2-3 images: one pickled as Python 2's cPickle writes protocol 2,
as the real file is, one by Python 3's protocol 2, one by protocol 5) and
DIR/lsun_lmdb (records out of key order: RGB and grey PNGs, a lossless WebP,
an opaque RGBA PNG and a record that is no image), and two bad ones:
DIR/cifar_bad_label (a label of 10) and DIR/transparent_lmdb (a transparent pixel).
"""
import gzip
import io
import json
import os
import pickle
import struct
import sys
import tarfile
import zipfile

TOOLS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # tools/: the shared helpers
sys.path[:0] = [os.path.dirname(os.path.abspath(__file__)), TOOLS, os.path.join(TOOLS, "reference")]
import interrupts  # noqa: E402  (standard library only)
if __name__ == "__main__":
    interrupts.die_by_signals()
import pydeps  # noqa: E402  (standard library only)
pydeps.require("dataset_tool_reference", "numpy", "PIL", "lmdb")

import numpy as np  # noqa: E402
import PIL.Image  # noqa: E402

EXTENSIONS = {"png", "jpg", "jpeg", "bmp", "tga", "gif", "psd", "hdr", "pic", "pnm", "ppm", "pgm"}


def folder_images(source, max_images):
    # open_image_folder: is_image_ext of the whole path (its text after the
    # last dot: ".png" is an image, a file "png" is not), regular files only
    # (os.path.isfile: no dangling link or FIFO); labels by the relative name
    # with '\\' made '/'.
    names = []
    for root, _dirs, files in os.walk(source):
        for f in files:
            full = os.path.join(root, f)
            if full.split(".")[-1].lower() in EXTENSIONS and os.path.isfile(full):
                names.append(os.path.relpath(full, source).replace(os.sep, "/"))
    names.sort(key=lambda n: n.split("/"))  # pathlib compares paths by parts
    labels = {}
    meta = os.path.join(source, "dataset.json")
    if os.path.isfile(meta):
        with open(meta) as f:
            pairs = json.load(f)["labels"]
        labels = {} if pairs is None else {p[0]: p[1] for p in pairs}
    names = names[:max_images]
    for n in names:
        yield np.array(PIL.Image.open(os.path.join(source, n))), labels.get(n.replace("\\", "/"))


def mnist_images(images_gz, max_images):
    with gzip.open(images_gz) as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    with gzip.open(images_gz.replace("-images-idx3-ubyte.gz", "-labels-idx1-ubyte.gz")) as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)
    images = np.pad(images, [(0, 0), (2, 2), (2, 2)], "constant", constant_values=0)
    for img, label in list(zip(images, labels))[:max_images]:
        yield img, int(label)


def cifar10_images(tarball, max_images):
    images, labels = [], []
    with tarfile.open(tarball, "r:gz") as tar:
        for batch in range(1, 6):
            with tar.extractfile(tar.getmember(f"cifar-10-batches-py/data_batch_{batch}")) as f:
                data = pickle.load(f, encoding="latin1")
            images.append(data["data"].reshape(-1, 3, 32, 32))
            labels.append(data["labels"])
    images = np.concatenate(images).transpose([0, 2, 3, 1])
    labels = np.concatenate(labels)
    for img, label in list(zip(images, labels))[:max_images]:
        yield img, int(label)


def lmdb_images(folder, max_images):
    import lmdb
    with lmdb.open(folder, readonly=True, lock=False).begin(write=False) as txn:
        last = min(txn.stat()["entries"], max_images or 2**62) - 1
        for idx, (_key, value) in enumerate(txn.cursor()):
            try:
                img = np.array(PIL.Image.open(io.BytesIO(value)).convert("RGB"))
            except Exception:  # the official prints it and goes on
                continue
            yield img, None
            if idx >= last:
                break


def pil(img):
    return PIL.Image.fromarray(img, "L" if img.ndim == 2 else "RGB")


def transform(img, kind, width, height, resample):
    h, w = img.shape[:2]
    if kind is None:
        ww, hh = width or w, height or h
        return img if (ww, hh) == (w, h) else np.array(PIL.Image.fromarray(img).resize((ww, hh), resample))
    if kind == "center-crop":
        c = min(h, w)
        img = img[(h - c) // 2:(h + c) // 2, (w - c) // 2:(w + c) // 2]
        return np.array(pil(img).resize((width, height), resample))
    ch = int(np.round(width * h / w))
    if w < width or ch < height:
        return None
    img = np.array(pil(img[(h - ch) // 2:(h + ch) // 2]).resize((width, height), resample))
    canvas = np.zeros((width, width) + img.shape[2:], np.uint8)
    canvas[(width - height) // 2:(width + height) // 2] = img
    return canvas


def reference(args):
    """{archive name: pixels}, and dataset.json's text."""
    resample = {"lanczos": PIL.Image.LANCZOS, "box": PIL.Image.BOX}[args.resize_filter]
    if os.path.basename(args.source) == "train-images-idx3-ubyte.gz":
        items = mnist_images(args.source, args.max_images)
    elif os.path.basename(args.source) == "cifar-10-python.tar.gz":
        items = cifar10_images(args.source, args.max_images)
    elif os.path.isfile(os.path.join(args.source, "data.mdb")):
        items = lmdb_images(args.source, args.max_images)
    else:
        items = folder_images(args.source, args.max_images)
    out, labels = {}, []
    for idx, (img, label) in enumerate(items):
        s = f"{idx:08d}"
        name = f"{s[:5]}/img{s}.png"
        img = transform(img, args.transform, args.width, args.height, resample)
        if img is None:
            continue
        if img.dtype == bool:  # a 1-bit image: the official's fromarray(img, 'L') writes 0 and 255
            img = img.astype(np.uint8) * 255
        out[name] = img
        labels.append([name, label] if label is not None else None)
    meta = {"labels": labels if all(x is not None for x in labels) else None}
    return out, json.dumps(meta)


def ours(path):
    if path.endswith(".zip"):
        with zipfile.ZipFile(path) as z:
            files = {n: z.read(n) for n in z.namelist()}
    else:
        files = {}
        for root, _dirs, fs in os.walk(path):
            for f in fs:
                with open(os.path.join(root, f), "rb") as fh:
                    files[os.path.relpath(os.path.join(root, f), path).replace(os.sep, "/")] = fh.read()
    meta = files.pop("dataset.json", b"").decode()
    return {n: np.array(PIL.Image.open(io.BytesIO(b))) for n, b in files.items()}, meta


def py2_pickle(obj):
    """obj pickled as Python 2's cPickle writes protocol 2 (CIFAR-10's batches):
    str as byte strings (SHORT_BINSTRING, BINSTRING), arrays through
    numpy.core.multiarray._reconstruct with their bytes as one BINSTRING, and
    the memo written (BINPUT) and read back (BINGET) as cPickle does."""
    out = [b"\x80\x02"]
    memo = {}

    def put():  # BINPUT, LONG_BINPUT past 255 entries (a real batch's 10000 file names)
        i = len(memo) + 1
        out.append(b"q" + bytes([i]) if i < 256 else b"r" + struct.pack("<I", i))
        memo[i] = True

    def glob(module, name):
        key = (module, name)
        if key in memo:
            i = memo[key]
            out.append(b"h" + bytes([i]) if i < 256 else b"j" + struct.pack("<I", i))
            return
        out.append(b"c" + module.encode() + b"\n" + name.encode() + b"\n")
        put()
        memo[key] = len(memo)

    def string(b):
        out.append((b"U" + bytes([len(b)]) if len(b) < 256 else b"T" + struct.pack("<i", len(b))) + b)
        put()

    def integer(i):
        out.append(b"K" + bytes([i]) if 0 <= i < 256 else b"M" + struct.pack("<H", i) if 0 <= i < 65536 else b"J" + struct.pack("<i", i))

    def value(v):
        if isinstance(v, str):
            string(v.encode("latin1"))
        elif isinstance(v, int):
            integer(v)
        elif isinstance(v, list):
            out.append(b"]")
            put()
            out.append(b"(")
            for x in v:
                value(x)
            out.append(b"e")
        elif isinstance(v, dict):
            out.append(b"}")
            put()
            out.append(b"(")
            for k, x in v.items():
                value(k)
                value(x)
            out.append(b"u")
        else:  # a uint8 C-order array
            glob("numpy.core.multiarray", "_reconstruct")
            glob("numpy", "ndarray")
            out.append(b"K\x00\x85")
            string(b"b")
            out.append(b"\x87R")
            put()
            out.append(b"(K\x01")
            for d in v.shape:
                integer(d)
            out.append(b"\x86" if v.ndim == 2 else b"\x85")
            glob("numpy", "dtype")
            string(b"u1")
            out.append(b"K\x00K\x01\x87R")
            put()
            out.append(b"(K\x03")
            string(b"|")
            out.append(b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb\x89")
            string(v.tobytes())
            out.append(b"tb")
    value(obj)
    out.append(b".")
    return b"".join(out)


def make_cifar10(path, rng, bad_label=False):
    """Five batches of 2-3 images, pickled three ways; with bad_label, the
    third batch's last label is 10 (CIFAR-10's classes are 0-9)."""
    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode="w") as tar:
        # Batch 5, pickled as Python 2, has more memo entries (file names)
        # than BINPUT counts: LONG_BINPUT and LONG_BINGET, as in the real file.
        for batch, n in enumerate((2, 3, 1, 2, 300), 1):
            d = {"batch_label": f"training batch {batch} of 5",
                 "labels": [int(x) for x in rng.integers(0, 10, size=n)],
                 "data": rng.integers(0, 256, size=(n, 3072), dtype=np.uint8),
                 "filenames": [f"img_{batch}_{i}.png" for i in range(n)]}
            if bad_label and batch == 3:
                d["labels"][-1] = 10
            if batch == 2:
                blob = pickle.dumps(d, protocol=2)
            elif batch == 3:
                d["labels"] = np.array(d["labels"], np.int64)
                blob = pickle.dumps(d, protocol=5)
            else:
                blob = py2_pickle(d)
            assert np.array_equal(pickle.loads(blob, encoding="latin1")["data"], d["data"])
            info = tarfile.TarInfo(f"cifar-10-batches-py/data_batch_{batch}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
        blob = py2_pickle({"label_names": ["airplane", "automobile"]})
        info = tarfile.TarInfo("cifar-10-batches-py/batches.meta")
        info.size = len(blob)
        tar.addfile(info, io.BytesIO(blob))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with gzip.open(path, "wb") as f:
        f.write(tar_bytes.getvalue())


def make_lmdb(folder, rng, transparent=False):
    """Records whose key order is not their insertion order; with
    transparent, the RGBA record has one transparent pixel."""
    import lmdb

    def encoded(arr, fmt, **kw):
        b = io.BytesIO()
        PIL.Image.fromarray(arr).save(b, format=fmt, **kw)
        return b.getvalue()
    rgba = np.concatenate([rng.integers(0, 256, size=(24, 24, 3), dtype=np.uint8), np.full((24, 24, 1), 255, np.uint8)], 2)
    if transparent:
        rgba[3, 4, 3] = 0
    records = {b"d-rgb": encoded(rng.integers(0, 256, size=(24, 24, 3), dtype=np.uint8), "PNG"),
               b"b-grey": encoded(rng.integers(0, 256, size=(24, 24), dtype=np.uint8), "PNG"),
               b"c-text": b"not an image",
               b"a-webp": encoded(rng.integers(0, 256, size=(24, 24, 3), dtype=np.uint8), "WEBP", lossless=True),
               b"e-rgba": encoded(rgba, "PNG")}
    with lmdb.open(folder, map_size=1 << 22) as env, env.begin(write=True) as txn:
        for k, v in records.items():
            txn.put(k, v)


def make_sources(d):
    rng = np.random.default_rng(3)
    colour = {"x.png": (48, 36), "x/y.png": (40, 64), "c.bmp": (36, 36), "d.png": (20, 30), "e.PNG": (50, 33)}
    grey = {"g1.png": (40, 30), "g2.png": (30, 50)}
    mixed = {"a.png": (32, 32), "b.png": (16, 16)}
    for sub, files, shape in (("colour", colour, (3,)), ("grey", grey, ()), ("mixed", mixed, (3,))):
        for name, (w, h) in files.items():
            path = os.path.join(d, sub, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            PIL.Image.fromarray(rng.integers(0, 256, size=(h, w) + shape, dtype=np.uint8)).save(path, format="PNG" if not name.endswith(".bmp") else "BMP")
    # 1-bit PNGs (PIL's mode '1'): scaled, PIL samples them NEAREST whatever the filter.
    os.makedirs(os.path.join(d, "bilevel"), exist_ok=True)
    for name, (w, h) in {"a.png": (48, 40), "b.png": (37, 53)}.items():
        PIL.Image.fromarray(rng.integers(0, 2, size=(h, w)).astype(bool)).save(os.path.join(d, "bilevel", name))
    # Alpha: opaque everywhere (dropped, as data/images/image_io.cpp does) and one transparent pixel (refused).
    rgba = np.concatenate([rng.integers(0, 256, size=(32, 32, 3), dtype=np.uint8), np.full((32, 32, 1), 255, np.uint8)], 2)
    for sub in ("opaque", "transparent"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
        PIL.Image.fromarray(rgba).save(os.path.join(d, sub, "a.png"))
        rgba[5, 7, 3] = 0
    with open(os.path.join(d, "colour", "dataset.json"), "w") as f:
        json.dump({"labels": [[n, i % 3] for i, n in enumerate(sorted(colour))]}, f)
    with open(os.path.join(d, "colour", "notes.txt"), "w") as f:
        f.write("not an image\n")
    os.makedirs(os.path.join(d, "mnist"), exist_ok=True)
    n = 7
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    with gzip.open(os.path.join(d, "mnist", "train-images-idx3-ubyte.gz"), "wb") as f:
        f.write(np.array([0x803, n, 28, 28], ">u4").tobytes() + images.tobytes())
    with gzip.open(os.path.join(d, "mnist", "train-labels-idx1-ubyte.gz"), "wb") as f:
        f.write(np.array([0x801, n], ">u4").tobytes() + labels.tobytes())
    make_cifar10(os.path.join(d, "cifar", "cifar-10-python.tar.gz"), rng)
    make_lmdb(os.path.join(d, "lsun_lmdb"), rng)
    make_cifar10(os.path.join(d, "cifar_bad_label", "cifar-10-python.tar.gz"), rng, bad_label=True)
    make_lmdb(os.path.join(d, "transparent_lmdb"), rng, transparent=True)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--make-sources":
        make_sources(sys.argv[2])
        return
    p = pydeps.OneLineParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--source", required=True)
    p.add_argument("--ours", required=True)
    p.add_argument("--transform", choices=["center-crop", "center-crop-wide"])
    p.add_argument("--width", type=pydeps.integer(1, 16384))
    p.add_argument("--height", type=pydeps.integer(1, 16384))
    p.add_argument("--resize-filter", choices=["lanczos", "box"], default="lanczos")
    p.add_argument("--max-images", type=pydeps.integer(1, 2**62), default=None)
    args = p.parse_args()
    want, want_meta = reference(args)
    got, got_meta = ours(args.ours)
    if sorted(want) != sorted(got):
        sys.exit(f"dataset_tool_reference: names differ: reference {sorted(want)}, ours {sorted(got)}")
    for n in sorted(want):
        if want[n].shape != got[n].shape or not np.array_equal(want[n], got[n]):
            diff = "shape" if want[n].shape != got[n].shape else f"{int(np.sum(want[n] != got[n]))} values"
            sys.exit(f"dataset_tool_reference: {n}: {diff} differ ({want[n].shape} vs {got[n].shape})")
    if want_meta != got_meta:
        sys.exit(f"dataset_tool_reference: dataset.json differs: reference {want_meta!r}, ours {got_meta!r}")
    print(f"dataset_tool_reference: {len(want)} images, pixels and dataset.json equal")


if __name__ == "__main__":
    main()
