"""PNG images read as Pillow reads them, for the program tests:
  png_like_pil.py DATASET_TOOL WORKDIR
Writes PNGs by hand of every colour type and bit depth the format has
(grey 1, 2, 4, 8, 16; RGB 8, 16; palette 1, 2, 4, 8, with a tRNS; grey
and RGB with alpha 8, 16; grey and RGB with a tRNS colour key no pixel
has), each plain and Adam7-interlaced, every row with one of the five
filters in turn (so each unfilter runs, on each pass), and streams and
chunks PIL reads though they are odd (no final block or checksum after the
rows, a cut after them, a zlib header claiming a small window, a tRNS after
the image data, an unknown critical chunk) and headers PIL reads though
they are odd (a palette image without PLTE, a PLTE after the image data or
of no or 7 bytes, two PLTEs or IHDRs, an IHDR of 14 bytes, compression method
1, interlace method 2, chunk types with digits), converts the grey and the
colour folder with dataset_tool and checks that every image it
wrote holds the bytes Pillow decodes for the official tools:
np.asarray(PIL.Image.open(f).convert(M)), M 'L' or 'RGB', except 16-bit
grey, which Pillow keeps as I;16 and dataset_tool rounds (v * 255 / 65535).
A colour key that a pixel has makes it transparent: refused, as every
transparent image is. Files whose chunks Pillow refuses (a short tRNS,
gAMA, sRGB or pHYs, before or after the image data, a cHRM of 5 bytes, text
that inflates past 1 MiB, a PLTE of more than 256 entries, filter method 1,
an undefined depth and colour type, a chunk cut short after the image data,
...) are refused by Pillow and by dataset_tool, each with its reason.
Exits 0 when all hold, else 1; 77 when Pillow or NumPy is missing."""
import os
import shutil
import struct
import sys
import warnings
import zlib

try:
    import numpy as np
    import PIL.Image
    from like_pil import converted_like_pil, refused_by_both, refused_with
except ImportError as e:  # scripts/install_deps.sh --torch installs them
    print("skipped: %s" % e)
    sys.exit(77)

N = 16  # pixels a side: interlaced passes of 2 and 4 pixels end inside a byte at 1 bit
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def pack(samples, depth):
    """A row's samples (ints) as the file stores them: big-endian at 16 bits, packed below 8."""
    if depth == 16:
        return b"".join(struct.pack(">H", int(v)) for v in samples)
    if depth == 8:
        return bytes(int(v) for v in samples)
    per = 8 // depth
    out = bytearray()
    for i in range(0, len(samples), per):
        byte = 0
        for k, v in enumerate(samples[i:i + per]):
            byte |= int(v) << (8 - depth * (k + 1))
        out.append(byte)
    return bytes(out)


def filtered(row, prior, kind, bpp):
    """Row bytes under filter `kind` (PNG's five), given the prior row's raw bytes."""
    out = bytearray(len(row))
    for i, x in enumerate(row):
        a = row[i - bpp] if i >= bpp else 0
        b = prior[i]
        c = prior[i - bpp] if i >= bpp else 0
        if kind == 0:
            p = 0
        elif kind == 1:
            p = a
        elif kind == 2:
            p = b
        elif kind == 3:
            p = (a + b) // 2
        else:
            pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
            p = a if pa <= pb and pa <= pc else b if pb <= pc else c
        out[i] = (x - p) & 0xFF
    return bytes([kind]) + bytes(out)


def image_data(pixels, depth, channels, interlaced):
    """The filtered rows of pixels [N, N, channels] (of the stored ints), by pass when interlaced."""
    bpp = max(1, depth * channels // 8)
    passes = [(0, 0, 1, 1)] if not interlaced else [
        (0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
    out, kind = b"", 0
    for x0, y0, dx, dy in passes:
        sub = pixels[y0::dy, x0::dx]
        if sub.size == 0:
            continue
        prior = bytes(len(pack(sub[0].reshape(-1), depth)))
        for r in sub:
            row = pack(r.reshape(-1), depth)
            out += filtered(row, prior, kind % 5, bpp)
            prior, kind = row, kind + 1
    return out


def png(pixels, depth, colour, interlaced, extra=b"", stream=None, after=b"", end=True):
    """extra: chunks before the image data; stream(data) -> the zlib stream
    (zlib.compress by default); after: chunks after it; end: with IEND."""
    header = struct.pack(">IIBBBBB", N, N, depth, colour, 0, 0, 1 if interlaced else 0)
    data = image_data(pixels, depth, CHANNELS[colour], interlaced)
    z = stream(data) if stream else zlib.compress(data, 6)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + extra + chunk(b"IDAT", z) + after
            + (chunk(b"IEND", b"") if end else b""))


def sync_flushed(data):
    """The rows' stream without its final block and checksum (a sync flush)."""
    c = zlib.compressobj(6)
    return c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH)


def small_window_header(data):
    """A stream whose header claims a 256-byte window (CINFO 0) but uses 32 KiB."""
    z = zlib.compress(data, 6)
    return bytes([0x08, 0x1D]) + z[2:]


def cases():
    """{name: (bytes, 'grey' or 'colour', expected-or-None)} of every kind."""
    rng = np.random.default_rng(7)
    out = {}
    for interlaced in (False, True):
        tag = "_i" if interlaced else ""

        def add(name, pixels, depth, colour, group, extra=b"", expected=None):
            out[name + tag + ".png"] = (png(pixels, depth, colour, interlaced, extra), group, expected)

        for depth in (1, 2, 4, 8):
            add("grey%d" % depth, rng.integers(0, 1 << depth, (N, N, 1)), depth, 0, "grey")
        grey16 = rng.integers(0, 1 << 16, (N, N, 1))
        # Pillow keeps 16-bit grey as I;16 (the official tools mangle it): rounded here.
        add("grey16_round", grey16, 16, 0, "grey", expected=np.rint(grey16[..., 0] * 255 / 65535).astype(np.uint8))
        for depth in (8, 16):
            add("rgb%d" % depth, rng.integers(0, 1 << depth, (N, N, 3)), depth, 2, "colour")
            la = rng.integers(0, 1 << depth, (N, N, 2))
            la[..., 1] = (1 << depth) - 1  # opaque
            add("la%d" % depth, la, depth, 4, "grey")
            rgba = rng.integers(0, 1 << depth, (N, N, 4))
            rgba[..., 3] = (1 << depth) - 1
            add("rgba%d" % depth, rgba, depth, 6, "colour")
        for depth in (1, 2, 4, 8):
            entries = min(1 << depth, 200)
            palette = chunk(b"PLTE", rng.integers(0, 256, entries * 3).astype(np.uint8).tobytes())
            trns = chunk(b"tRNS", bytes([255] * min(entries, 5)))  # opaque alphas, fewer than the entries
            add("palette%d" % depth, rng.integers(0, entries, (N, N, 1)), depth, 3, "colour", palette + trns)
        # A colour key no pixel has: an alpha of 255 everywhere.
        key_grey = rng.integers(0, 255, (N, N, 1))
        add("grey8_key", key_grey, 8, 0, "grey", chunk(b"tRNS", struct.pack(">H", 255)))
        key_rgb = rng.integers(0, 65535, (N, N, 3))
        key_rgb[..., 0] |= 1  # odd red: the key's even red matches none
        add("rgb16_key", key_rgb, 16, 2, "colour", chunk(b"tRNS", struct.pack(">HHH", 2, 4, 6)))
        # Streams PIL reads whole though they end oddly after the rows: no
        # final block, no checksum, a file cut after the image data, a header
        # claiming a small window; a tRNS after the image data (not the
        # image's) and an unknown critical chunk, which PIL passes over.
        rgb = rng.integers(0, 256, (N, N, 3))
        out["odd_sync_flush" + tag + ".png"] = (png(rgb, 8, 2, interlaced, stream=sync_flushed), "colour", None)
        out["odd_no_adler" + tag + ".png"] = (
            png(rgb, 8, 2, interlaced, stream=lambda d: zlib.compress(d, 6)[:-4]), "colour", None)
        out["odd_cut_after_data" + tag + ".png"] = (png(rgb, 8, 2, interlaced, end=False)[:-4], "colour", None)
        # Cut inside the stream's checksum: within libpng's last 8 KiB read, after the rows.
        for cut in (5, 8):
            out["odd_cut_%d_from_end%s.png" % (cut, tag)] = (png(rgb, 8, 2, interlaced, end=False)[:-cut], "colour", None)
        out["odd_long_key" + tag + ".png"] = (  # a tRNS longer than a key: its first samples, as Pillow
            png(rgb, 8, 2, interlaced, chunk(b"tRNS", struct.pack(">HHHH", 300, 300, 300, 9))), "colour", None)
        out["odd_small_window" + tag + ".png"] = (png(rgb, 8, 2, interlaced, stream=small_window_header), "colour", None)
        out["odd_trns_after" + tag + ".png"] = (
            png(rgb, 8, 2, interlaced, after=chunk(b"tRNS", struct.pack(">HHH", 1, 2, 3))), "colour", None)
        out["odd_unknown_critical" + tag + ".png"] = (png(rgb, 8, 2, interlaced, chunk(b"ABCD", b"hi")), "colour", None)
    return out


def head(ihdr, *chunks):
    """A PNG of IHDR data `ihdr` (struct.pack'd, any length) and chunks."""
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + b"".join(chunks)


def ihdr(depth, colour, compression=0, filter_method=0, interlace=0, size=N):
    return struct.pack(">IIBBBBB", size, size, depth, colour, compression, filter_method, interlace)


def header_cases():
    """({name: (bytes, group)} of odd headers PIL reads, {name: (bytes, words)} of ones it refuses)."""
    rng = np.random.default_rng(11)
    index = rng.integers(1, 256, (N, N, 1))  # no index 0 (hdr_palette_trns_newline's transparent one)
    rows, adam7_rows = image_data(index, 8, 1, False), image_data(index, 8, 1, True)
    stream = zlib.compress(rows)
    data = chunk(b"IDAT", stream)
    adam7 = chunk(b"IDAT", zlib.compress(adam7_rows))
    end = chunk(b"IEND", b"")
    plte = chunk(b"PLTE", rng.integers(0, 256, 768).astype(np.uint8).tobytes())
    p8, grey = ihdr(8, 3), ihdr(8, 0)
    reads = {
        "hdr_no_plte": (head(p8, data, end), "colour"),  # every index a grey
        "hdr_plte_after_data": (head(p8, data, plte, end), "colour"),
        "hdr_plte_empty": (head(p8, chunk(b"PLTE", b""), data, end), "colour"),
        "hdr_plte_7_bytes": (head(p8, chunk(b"PLTE", bytes(range(1, 8))), data, end), "colour"),
        "hdr_plte_twice": (head(p8, chunk(b"PLTE", bytes(30)), plte, data, end), "colour"),  # the last
        "hdr_ihdr_14_bytes": (head(p8 + b"\0", plte, data, end), "colour"),
        "hdr_compression_1": (head(ihdr(8, 3, compression=1), plte, data, end), "colour"),
        "hdr_interlace_2": (head(ihdr(8, 0, interlace=2), adam7, end), "grey"),  # Adam7, as any but 0
        "hdr_critical_palette": (head(p8, chunk(b"ABCD", b"x"), plte, data, end), "colour"),
        "hdr_digit_type": (head(grey, chunk(b"ab1_", b"x"), data, end), "grey"),
        "hdr_ihdr_twice": (head(ihdr(8, 2, size=4), chunk(b"IHDR", grey), data, end), "grey"),  # the last
        "hdr_then_undefined": (head(grey, chunk(b"IHDR", ihdr(16, 3)), data, end), "grey"),  # keeps L
        "hdr_apng_one_frame": (head(grey, chunk(b"acTL", struct.pack(">II", 1, 0)),
                                    chunk(b"fcTL", struct.pack(">5I", 0, N, N, 0, 0) + bytes(6)), data,
                                    chunk(b"fdAT", struct.pack(">I", 1) + b"xx"), end), "grey"),
        "hdr_data_before_ihdr": (b"\x89PNG\r\n\x1a\n" + data + chunk(b"IHDR", grey) + data + end, "grey"),  # passed over
        "hdr_undefined_then_data": (head(ihdr(16, 3), data, chunk(b"IHDR", grey), data, end), "grey"),
        "hdr_ddat_continues": (head(grey, chunk(b"IDAT", stream[:5]), chunk(b"DDAT", stream[5:]), end), "grey"),
        "hdr_fdat_continues": (head(grey, chunk(b"fcTL", struct.pack(">5I", 0, N, N, 0, 0) + bytes(6)),
                                    chunk(b"IDAT", stream[:5]), chunk(b"fdAT", struct.pack(">I", 1) + stream[5:]), end),
                               "grey"),
        "hdr_length_2_31": (head(grey) + struct.pack(">I", 1 << 31) + b"IDAT" + stream, "grey"),  # the file ends first
        "hdr_three_actl": (head(grey, *[chunk(b"acTL", struct.pack(">II", 2, 0))] * 3,
                                chunk(b"fcTL", struct.pack(">5I", 0, N, N, 0, 0) + bytes(6)), data,
                                chunk(b"fcTL", struct.pack(">5I", 5, N, N, 0, 0) + bytes(6)), end), "grey"),
        "hdr_frame_0x0_first": (b"\x89PNG\r\n\x1a\n" + chunk(b"fcTL", bytes(26)) + chunk(b"IHDR", grey) + data + end,
                                "grey"),
        "hdr_palette_trns_newline": (head(p8, plte, chunk(b"tRNS", b"\0\n"), data, end), "colour"),  # index 0 alone
        "hdr_stream_ends_on_row": (head(grey, chunk(b"IDAT", zlib.compress(rows[:8 * (N + 1)])), end), "grey"),
        "hdr_stream_ends_on_pass_row": (head(ihdr(8, 0, interlace=1),
                                             chunk(b"IDAT", zlib.compress(adam7_rows[:42])), end), "grey"),
        # A grey key (256) read under a first IHDR, then a palette IHDR: Pillow's
        # int transparency is an index there, and no index is 256: opaque.
        "hdr_key_then_palette": (head(grey, chunk(b"tRNS", struct.pack(">H", 256)), chunk(b"IHDR", p8), plte,
                                      data, end), "colour"),
        "hdr_text_1mib": (head(grey, chunk(b"zTXt", b"k\0\0" + zlib.compress(bytes(1 << 20))), data, end), "grey"),
    }
    bomb = zlib.compress(bytes(2 << 20))
    refused = {
        "filter_method_1": (head(ihdr(8, 0, filter_method=1), data, end), "filter method 1 in its IHDR"),
        "palette_16_bit": (head(ihdr(16, 3), plte, data, end), "colour type 3 at bit depth 16"),
        "type_with_dash": (head(grey, chunk(b"ab-d", b"x"), data, end), "a chunk of type 0x61622d64"),
        "iend_first": (head(grey, end, data), "no image data before its IEND"),
        "trns_1_byte": (head(grey, chunk(b"tRNS", b"\1"), data, end), "its tRNS chunk holds 1 byte"),
        "trns_rgb_4": (head(ihdr(8, 2), chunk(b"tRNS", bytes(4)), data, end), "an RGB image's colour key needs 6"),
        "trns_after": (head(grey, data, chunk(b"tRNS", b"\1"), end), "after its image data, its tRNS chunk holds 1"),
        "gama_3": (head(grey, chunk(b"gAMA", b"abc"), data, end), "its gAMA chunk holds 3 bytes; Pillow needs 4"),
        "gama_after": (head(grey, data, chunk(b"gAMA", b"abc"), end), "after its image data, its gAMA chunk"),
        "chrm_5": (head(grey, chunk(b"cHRM", bytes(5)), data, end), "its cHRM chunk holds 5 bytes"),
        "srgb_0": (head(grey, chunk(b"sRGB", b""), data, end), "its sRGB chunk holds 0 bytes; Pillow needs 1"),
        "phys_8": (head(grey, chunk(b"pHYs", bytes(8)), data, end), "its pHYs chunk holds 8 bytes; Pillow needs 9"),
        "ztxt_bomb": (head(grey, chunk(b"zTXt", b"k\0\0" + bomb), data, end), "zTXt chunk inflates to more than 1 MiB"),
        "ztxt_method_1": (head(grey, chunk(b"zTXt", b"k\0\1xx"), data, end), "compression method 1 in its zTXt"),
        "iccp_bomb": (head(grey, chunk(b"iCCP", b"p\0\0" + bomb), data, end), "iCCP chunk inflates to more than 1 MiB"),
        "iccp_no_nul": (head(grey, chunk(b"iCCP", b"pq\5"), data, end), "compression method 5 in its iCCP"),
        "itxt_bomb": (head(grey, chunk(b"iTXt", b"k\0\1\0\0\0" + bomb), data, end), "iTXt chunk inflates to more"),
        "plte_800": (head(p8, chunk(b"PLTE", bytes(800)), data, end), "its PLTE chunk holds 800 bytes"),
        "fctl_out_of_sequence": (head(grey, chunk(b"fcTL", struct.pack(">5I", 1, N, N, 0, 0) + bytes(6)), data, end),
                                 "APNG frames out of sequence: fcTL 1"),
        "fdat_without_fctl": (head(grey, data, chunk(b"fdAT", struct.pack(">I", 0) + b"xx"), end),
                              "APNG frames out of sequence: fdAT 0"),
        "later_data_cut": (head(grey, data) + struct.pack(">I", 100) + b"IDATabc",
                           "the file ends inside an image data chunk after the one its last row is in"),
        # The stream's end in a read after its last row's: Pillow waits for more.
        "stream_end_in_later_read": (head(grey, chunk(b"IDAT", zlib.compress(rows[:8 * (N + 1)])[:-3]),
                                          chunk(b"IDAT", zlib.compress(rows[:8 * (N + 1)])[-3:]), end),
                                     "it ends before the image's rows do"),
        # The stream ends on a row's last byte (Pillow stops there): a cut image
        # data chunk after it is one Pillow's load_end fails on.
        "cut_after_early_end": (head(grey, chunk(b"IDAT", zlib.compress(rows[:3 * (N + 1)])))
                                + struct.pack(">I", 100) + b"IDATabc",
                                "the file ends inside an image data chunk after the one its last row is in"),
        "plte_then_rgb": (head(p8, plte, chunk(b"IHDR", ihdr(8, 2)),
                               chunk(b"IDAT", zlib.compress(image_data(np.zeros((N, N, 3)), 8, 3, False))), end),
                          "a PLTE read under an earlier IHDR of a palette image"),
        # A second acTL drops the frame count, and the default image with it:
        # the fcTL after the data is read, out of sequence.
        "actl_dropped": (b"\x89PNG\r\n\x1a\n" + chunk(b"acTL", struct.pack(">II", 1, 0)) + data
                         + chunk(b"acTL", struct.pack(">II", 1, 0)) + chunk(b"IHDR", grey) + data
                         + chunk(b"fcTL", struct.pack(">5I", 5, N, N, 0, 0) + bytes(6)) + end,
                         "APNG frames out of sequence: fcTL 5"),
        "cut_after_data": (head(grey, data, chunk(b"tEXt", b"a\0bcdef")[:-6]),
                           "the file ends inside its tEXt chunk, after its image data"),
        "data_before_ihdr": (b"\x89PNG\r\n\x1a\n" + data + chunk(b"IHDR", grey) + end, "no image data before its IEND"),
    }
    return reads, refused


def pil_pixels(path, mode):
    return np.asarray(PIL.Image.open(path).convert(mode))


def main(dataset_tool, work):
    warnings.simplefilter("ignore")  # Pillow's advice on palettes with tRNS bytes
    shutil.rmtree(work, ignore_errors=True)
    files = cases()
    reads, refused = header_cases()
    files.update({name + ".png": (data, group, None) for name, (data, group) in reads.items()})
    ok = True
    for group, mode in (("grey", "L"), ("colour", "RGB")):
        src = os.path.join(work, group)
        os.makedirs(src)
        names = []
        expected = {}
        for name, (data, g, want) in files.items():
            if g != group:
                continue
            with open(os.path.join(src, name), "wb") as f:
                f.write(data)
            names.append(name)
            if want is not None:
                expected[os.path.join(src, name)] = want

        def expect(path, mode=mode):
            return expected[path] if path in expected else pil_pixels(path, mode)

        ok = converted_like_pil(dataset_tool, src, os.path.join(work, group + "_out"), names, expect) and ok
    # A colour key a pixel has: that pixel is transparent, refused as every transparent image.
    keyed = os.path.join(work, "keyed")
    os.makedirs(keyed)
    pixels = np.full((N, N, 1), 9)
    with open(os.path.join(keyed, "k.png"), "wb") as f:
        f.write(png(pixels, 8, 0, False, chunk(b"tRNS", struct.pack(">H", 9))))
    ok = refused_with(dataset_tool, keyed, "k.png", "has transparent pixels") and ok
    # Palette alphas of a 0 and two newlines: bytes to Pillow (its _simple_palette's
    # $ takes one newline), so index 1 has alpha 10: refused as transparent.
    alphas = os.path.join(work, "alphas")
    os.makedirs(alphas)
    with open(os.path.join(alphas, "a.png"), "wb") as f:
        plte = chunk(b"PLTE", bytes(range(48)))
        f.write(png(np.full((N, N, 1), 1), 8, 3, False, plte + chunk(b"tRNS", b"\0\n\n")))
    ok = refused_with(dataset_tool, alphas, "a.png", "has transparent pixels") and ok
    # Cut before its last row: refused, as Pillow refuses it ("image file is truncated").
    cut = os.path.join(work, "cut")
    os.makedirs(cut)
    whole = png(np.arange(N * N * 3).reshape(N, N, 3) % 251, 8, 2, False, stream=lambda d: zlib.compress(d, 0))
    with open(os.path.join(cut, "c.png"), "wb") as f:
        f.write(whole[:len(whole) // 2])
    ok = refused_with(dataset_tool, cut, "c.png", "truncated PNG: the file ends before its pixels do") and ok
    # Chunks Pillow refuses: refused by both, each for its reason.
    for name, (data, words) in refused.items():
        ok = refused_by_both(dataset_tool, work, name + ".png", data, words) and ok
    if ok:
        print("PNG files of %d kinds read as Pillow reads them, %d refused as it refuses them" % (len(files), len(refused)))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
