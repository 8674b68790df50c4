"""PCX images read as Pillow reads them, for the program tests:
  pcx_like_pil.py DATASET_TOOL WORKDIR
Writes PCX files with Pillow (modes 1, L, P and RGB) and by hand (1-bit
images of 2 and 4 planes through the header's palette, 8-bit grey without
a palette at the end or with a grey ramp there, a header stride other than
Pillow's, a box that does not start at 0, runs of length 0), 16 rows of 16
to 21 pixels, converts each with dataset_tool (--transform center-crop
--width 16 --height 16: the middle 16 columns, unresized) and checks that it wrote
the bytes Pillow decodes for the official tools: np.asarray(
PIL.Image.open(f).convert(M)), M 'L' or 'RGB'. Files Pillow refuses (a mode
it does not read, a run past the end of a row, a file cut short, an 8-bit
file shorter than the 769 bytes it seeks back for a palette, a box of no
pixels) are refused by both. Exits 0 when all hold, else 1; 77 when Pillow
or NumPy is missing."""
import io
import os
import shutil
import struct
import sys
import warnings

try:
    import numpy as np
    import PIL.Image
    from like_pil import converted_like_pil, refused_by_both
except ImportError as e:  # scripts/install_deps.sh --torch installs them
    print("skipped: %s" % e)
    sys.exit(77)

H = 16
CROP = ["--transform", "center-crop", "--width", str(H), "--height", str(H)]


def header(width, version, bits, planes, stride, palette16=b"", x0=0, y0=0, x1=None):
    """A 128-byte PCX header (run-length encoded); x1: the box's last column (x0 + width - 1)."""
    h = bytearray(128)
    h[0:4] = bytes([10, version, 1, bits])
    h[4:12] = struct.pack("<4H", x0, y0, x0 + width - 1 if x1 is None else x1, y0 + H - 1)
    h[16:16 + len(palette16)] = palette16
    h[65] = planes
    h[66:68] = struct.pack("<H", stride)
    return bytes(h)


def encode(data, zero_runs=False):
    """PCX run-length code of `data`: runs of a byte up to 63, and bytes of
    the two top bits set always as runs; with zero_runs, a run of length 0
    before each run."""
    out = bytearray()
    i = 0
    while i < len(data):
        j = i
        while j < len(data) and data[j] == data[i] and j - i < 63:
            j += 1
        if j - i > 1 or data[i] >= 0xC0:
            if zero_runs:
                out += bytes([0xC0, 0x55])
            out += bytes([0xC0 | (j - i), data[i]])
            i = j
        else:
            out.append(data[i])
            i += 1
    return bytes(out)


def planes_1bit(index, planes, stride):
    """The rows of 1-bit planes of `index` ([H, W] ints), each plane `stride` bytes."""
    rows = b""
    for r in index:
        for p in range(planes):
            bits = [(int(v) >> p) & 1 for v in r]
            plane = bytearray(stride)
            for i, b in enumerate(bits):
                plane[i // 8] |= b << (7 - i % 8)
            rows += bytes(plane)
    return rows


def pil_written(rng, mode, width):
    if mode == "1":
        im = PIL.Image.fromarray((rng.integers(0, 2, (H, width)) * 255).astype(np.uint8)).convert("1")
    elif mode == "RGB":
        im = PIL.Image.fromarray(rng.integers(0, 256, (H, width, 3)).astype(np.uint8))
    else:
        im = PIL.Image.fromarray(rng.integers(0, 256, (H, width)).astype(np.uint8), "L")
        if mode == "P":
            im = im.convert("P")
            im.putpalette(rng.integers(0, 256, 768).astype(np.uint8).tobytes())
    b = io.BytesIO()
    im.save(b, "PCX")
    return b.getvalue()


def cases():
    """({name: (bytes, 'grey' or 'colour')} Pillow reads, {name: (bytes, words)} it refuses)."""
    rng = np.random.default_rng(5)
    reads = {}
    for mode, group in (("1", "grey"), ("L", "grey"), ("P", "colour"), ("RGB", "colour")):
        for width in (16, 17, 21):
            reads["pil_%s_%d" % (mode, width)] = (pil_written(rng, mode, width), group)
    ega = rng.integers(0, 256, 48).astype(np.uint8).tobytes()
    for planes in (2, 4):
        for width in (16, 17, 20):
            index = rng.integers(0, 1 << planes, (H, width))
            exact = (width + 7) // 8
            for label, stride in (("exact", exact), ("padded", exact + 1)):
                # A header stride of its own: Pillow pads its own by one when
                # it is odd, and its unpacker finds the planes `exact` apart.
                for told in (stride, stride + 2):
                    name = "ega%d_%d_%s_told%d" % (planes, width, label, told)
                    own = exact + exact % 2 if told != exact else exact
                    data = header(width, 2, 1, planes, told, ega) + encode(planes_1bit(index, planes, own))
                    reads[name] = (data, "colour")
    grey = rng.integers(0, 256, (H, 16)).astype(np.uint8).tobytes()
    reads["grey8_no_palette"] = (header(16, 5, 8, 1, 16) + encode(grey) + bytes(769), "grey")
    ramp = b"\x0c" + bytes(v for i in range(256) for v in (i, i, i))
    reads["grey8_ramp"] = (header(16, 5, 8, 1, 16) + encode(grey) + ramp, "grey")
    reads["grey8_box_at_5_7"] = (header(16, 5, 8, 1, 16, x0=5, y0=7) + encode(grey) + bytes(769), "grey")
    reads["grey8_zero_runs"] = (header(16, 5, 8, 1, 16) + encode(grey, zero_runs=True) + bytes(769), "grey")
    rgb = rng.integers(0, 4, (H, 3, 16)).astype(np.uint8).tobytes()  # few values: long runs
    reads["grey8_encoding_0"] = (header(16, 5, 8, 1, 16)[:2] + b"\0" + header(16, 5, 8, 1, 16)[3:] + encode(grey)
                                 + bytes(769), "grey")  # Pillow run-length decodes whatever the encoding byte says
    reads["rgb_runs"] = (header(16, 5, 8, 3, 16) + b"".join(encode(rgb[r * 48:(r + 1) * 48]) for r in range(H)),
                         "colour")
    refused = {
        "version_2_8_bit": (header(16, 2, 8, 1, 16) + encode(grey) + bytes(769), "a mode Pillow does not read"),
        "bits_4": (header(16, 5, 4, 1, 8) + bytes(2000), "4 bits, 1 planes: a mode Pillow does not read"),
        "run_past_row": (header(16, 5, 8, 1, 16) + bytes([0xC0 | 20, 7]) + encode(grey)[:-10] + bytes(769),
                         "a run past the end of its row"),
        "cut": (header(16, 5, 8, 3, 16) + encode(rgb)[:100], "truncated PCX"),
        "short_8_bit": (header(16, 5, 8, 1, 16) + bytes([0xC0 | 63, 9]) * 5, "Pillow seeks 769 bytes back"),
        # Not a PCX to Pillow, which tries its other formats: none reads these.
        "empty_box": (header(16, 5, 8, 1, 16, x0=20, x1=18) + encode(grey) + bytes(769), "not an image stb_image reads"),
        "cut_header": (header(16, 5, 8, 1, 16)[:60], "not an image stb_image reads"),
        # A TGA of a 10-byte image ID begins as a PCX does: Pillow fails on it as a PCX.
        "tga_10_byte_id": (bytes([10, 0, 2]) + bytes(5) + struct.pack("<HHHHBB", 0, 0, 4, 4, 24, 0) + b"IDIDIDIDID"
                           + bytes(range(48)), "a TGA of a 10-byte image ID too"),
    }
    return reads, refused


def main(dataset_tool, work):
    warnings.simplefilter("ignore")
    shutil.rmtree(work, ignore_errors=True)
    reads, refused = cases()
    ok = True
    for name, (data, group) in reads.items():
        src = os.path.join(work, name)
        os.makedirs(src)
        with open(os.path.join(src, name + ".pcx"), "wb") as f:
            f.write(data)

        def expect(path, mode="L" if group == "grey" else "RGB"):
            a = np.asarray(PIL.Image.open(path).convert(mode))
            left = (a.shape[1] - H) // 2  # the official center crop of W x 16
            return a[:, left:left + H]
        ok = converted_like_pil(dataset_tool, src, src + "_out", [name + ".pcx"], expect, CROP) and ok
    for name, (data, words) in refused.items():
        ok = refused_by_both(dataset_tool, work, name + ".pcx", data, words) and ok
    if ok:
        print("PCX files of %d kinds read as Pillow reads them, %d refused as it refuses them" % (len(reads), len(refused)))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
