"""BMP, TGA, PNG, GIF and PNM corner cases read as Pillow reads them, for
the program tests:
  formats_like_pil.py DATASET_TOOL WORKDIR
Writes, byte by byte (16x16, fixed seeds), files whose headers take the
less travelled paths of their formats, one folder a group, each converted
by its own dataset_tool run:
  bmp_grey      8-bit and 1-bit BMPs Pillow saved from 'L' and '1' images
                (grey: Pillow opens them as 'L' and '1');
  bmp_rle       RLE8 (absolute and encoded runs, ends of line, a delta)
                and RLE4 (absolute runs, of an even and an odd count, and
                encoded runs of two indices), in Pillow's reading, quirks
                and all;
  bmp_palette   8-bit BMP of 16 palette entries (biClrUsed) and 4-bit of 4,
                their pixels using every index; a 4-bit one whose 16 entries
                are the grey ramp i*17; an OS/2 BMP (12-byte core header,
                three-byte entries) using indices 252..255 among the rest;
                32-bit BI_RGB whose fourth bytes are neither 0 nor 255;
                16-bit BI_RGB (555) and BITFIELDS 565; a pixel offset of 0;
                24-bit BITFIELDS of B, G, R, and OS/2 2.x's 64-byte header
                of 24 and 8 bits (stb refuses these three);
  bmp_layouts   16 to 32 bits Pillow reads, which stb refused or read
                otherwise: bitfields inside a 64-byte header (565, BGRX),
                four zero masks (Pillow's BGRA, opaque here), a 16-bit
                alpha mask in a v4 header (Pillow ignores it), 24 and 32
                bits after a 12-byte header, planes of 3 (also a palette
                BMP's), a pixel offset of 0 (after the header, or after
                its masks) or past a gap (stb: "bad offset");
  psd           RGB of five channels, raw and PackBits (Pillow: the first
                three; the fourth is no alpha; PackBits compared with the
                raw file's pixels, SAME_PIXELS_AS);
  tga           24-bit, right-to-left (descriptor 0x10) and top-right
                (0x30); colour-mapped of a 16-entry map with indices
                0..255, and of a map whose first index is 10;
  png_palette   8-bit palette of 4 PLTE entries with indices 0..7; 4-bit
                palette of 16 colours with a tRNS of 17 entries, all 255;
  gif_tables    a 4-colour global table and LZW minimum code size 4, with
                indices 0..15;
  gif_no_table  (grey) no colour table at all, and a global table that is
                the identity grey ramp of 256 entries: Pillow's 'L';
  pnm_p6        P6 of maxval 100 (samples 30 and 70 among them: a half
                after scaling) and of maxval 1000 (16-bit samples);
  pnm_p5        (grey) the same as P5.
  pnm_plain     (grey) P1 with comments in its header (one inside a token)
                and data, digits with and without whitespace between them,
                a comment open across the 1 MiB block Pillow reads; P4 of
                rows of whole bytes; P2 of maxval 100 (halves), of 1000
                (Pillow's 'I'), with CR line ends, '+5', '1_0' and a -1
                (Pillow wraps it to 255), one ending inside a sample without
                whitespace after it (Pillow repeats that sample to the end),
                and one whose sample is cut by the 1 MiB block and whose
                third block Pillow starts with that sample's head again;
                one of a comment after every sample;
  pnm_plain_rgb P3 of maxval 255 and of 1000 (Pillow's 'RGB': 8 bits).
Every file is first opened with Pillow and must give the mode written
next to it (a fixture Pillow reads another way stops the test with an
AssertionError). Then each image dataset_tool wrote must hold the pixels
Pillow 9.4 gives: np.asarray(PIL.Image.open(f).convert(M)), M being 'L'
for a grey group (every file 'L', '1' or 'I'), else 'RGB'; for Pillow's
'I' (a P5 of maxval above 255, held as round(v / maxval * 65535)) the
8-bit value is round(x * 255 / 65535), the project's 16-bit rule, which
gives Pillow's own round(v / maxval * 255) back.
Not here: a 4-bit BMP whose 16 entries are (i, i, i), which Pillow 9.4
opens as 'L' but cannot load (it unpacks the 4-bit rows as 8-bit ones:
"codec configuration error").
Then each file of refused_files(), which Pillow cannot load (a TGA colour
map past index 255) or loads with a transparency index (two GIF control
extensions, the first with one), alone in a folder, must be refused.
Prints each file that differs, and for a group dataset_tool refuses
"FOLDER: dataset_tool refused the folder: ..." (its last line of stderr); exits 0
when all hold, else 1; 77 when Pillow or NumPy is missing."""
import io
import os
import shutil
import struct
import sys
import warnings
import zlib

try:
    import numpy as np
    import PIL.Image
    from like_pil import converted_like_pil, refused_with
except ImportError as e:  # scripts/install_deps.sh --torch installs them
    print("skipped: %s" % e)
    sys.exit(77)

N = 16  # every image is N x N
GREY_MODES = ("L", "1", "I")


def every_index(count, seed):
    """N x N uint8 indices, each of 0..count-1 used (count divides N*N)."""
    return np.random.RandomState(seed).permutation(np.arange(N * N) % count).reshape(N, N).astype(np.uint8)


def colours(count, seed):
    """count random RGB triples, uint8 [count, 3]."""
    return np.random.RandomState(seed).randint(0, 256, (count, 3)).astype(np.uint8)


def saved(im, fmt, **kw):
    b = io.BytesIO()
    im.save(b, fmt, **kw)
    return b.getvalue()


# ---- BMP -------------------------------------------------------------------

def bmp(bpp, rows, palette=b"", compression=0, colours_used=0, masks=b""):
    """A BMP of a 40-byte BITMAPINFOHEADER; rows bottom-up, each padded to 4
    bytes; masks (BITFIELDS) follow the header, then the palette."""
    data = b"".join(r + b"\0" * (-len(r) % 4) for r in rows)
    info = struct.pack("<IiiHHIIiiII", 40, N, N, 1, bpp, compression, len(data), 2835, 2835, colours_used, 0)
    offset = 14 + len(info) + len(masks) + len(palette)
    return b"BM" + struct.pack("<IHHI", offset + len(data), 0, 0, offset) + info + masks + palette + data


def bmp_os2_2(bpp, rows, palette=b""):
    """An OS/2 2.x BMP: a 64-byte header (the 40 bytes, then 24 of its own)."""
    data = b"".join(r + b"\0" * (-len(r) % 4) for r in rows)
    info = struct.pack("<IiiHHIIiiII", 64, N, N, 1, bpp, 0, len(data), 2835, 2835, 0, 0) + b"\0" * 24
    offset = 14 + len(info) + len(palette)
    return b"BM" + struct.pack("<IHHI", offset + len(data), 0, 0, offset) + info + palette + data


def bmp_os2(bpp, rows, palette):
    """An OS/2 1.x BMP: a 12-byte BITMAPCOREHEADER, three-byte BGR entries."""
    data = b"".join(r + b"\0" * (-len(r) % 4) for r in rows)
    info = struct.pack("<IHHHH", 12, N, N, 1, bpp)
    offset = 14 + len(info) + len(palette)
    return b"BM" + struct.pack("<IHHI", offset + len(data), 0, 0, offset) + info + palette + data


def bgrx(pal):
    return b"".join(bytes([b, g, r, 0]) for r, g, b in pal.tolist())


def nibbles(idx):
    """Rows of 4-bit indices, bottom-up, two pixels a byte (high first)."""
    return [bytes((int(r[k]) << 4) | int(r[k + 1]) for k in range(0, N, 2)) for r in idx[::-1]]


def bmp_grey():
    rng = np.random.RandomState(10)
    grey = PIL.Image.fromarray(rng.randint(0, 256, (N, N)).astype(np.uint8))
    one = PIL.Image.fromarray(rng.randint(0, 2, (N, N)).astype(bool))
    return {
        "a_grey8.bmp": (saved(grey, "BMP"), "L"),
        "b_one_bit.bmp": (saved(one, "BMP"), "1"),
    }


def bmp_palette():
    files = {}
    idx = every_index(256, 20)
    files["a_8bit_16_entries.bmp"] = (
        bmp(8, [r.tobytes() for r in idx[::-1]], bgrx(colours(16, 21)), colours_used=16), "P")
    files["b_4bit_4_entries.bmp"] = (bmp(4, nibbles(every_index(16, 22)), bgrx(colours(4, 23)), colours_used=4), "P")
    ramp = np.repeat(np.arange(16, dtype=np.uint8)[:, None] * 17, 3, axis=1)
    files["c_4bit_grey_ramp.bmp"] = (bmp(4, nibbles(every_index(16, 24)), bgrx(ramp), colours_used=16), "P")
    os2 = every_index(256, 25)  # 252..255 among them
    files["d_os2_core_8bit.bmp"] = (
        bmp_os2(8, [r.tobytes() for r in os2[::-1]], b"".join(bytes(c[::-1]) for c in colours(256, 26).tolist())), "P")
    rng = np.random.RandomState(27)
    pixels = np.concatenate([rng.randint(0, 256, (N, N, 3)), rng.randint(1, 255, (N, N, 1))], axis=-1).astype(np.uint8)
    files["e_32bit_bi_rgb_fourth_byte.bmp"] = (bmp(32, [r.tobytes() for r in pixels[::-1]]), "RGB")
    v555 = np.random.RandomState(28).randint(0, 1 << 15, (N, N)).astype("<u2")
    files["f_16bit_555.bmp"] = (bmp(16, [r.tobytes() for r in v555[::-1]]), "RGB")
    v565 = np.random.RandomState(29).randint(0, 1 << 16, (N, N)).astype("<u2")
    files["g_16bit_bitfields_565.bmp"] = (
        bmp(16, [r.tobytes() for r in v565[::-1]], compression=3, masks=struct.pack("<III", 0xF800, 0x07E0, 0x001F)),
        "RGB")
    offset_zero = bytearray(bmp(8, [r.tobytes() for r in idx[::-1]], bgrx(colours(16, 35)), colours_used=16))
    offset_zero[10:14] = b"\0\0\0\0"  # Pillow reads the pixels from after the palette
    files["h_8bit_offset_zero.bmp"] = (bytes(offset_zero), "P")
    # Layouts Pillow reads and stb refuses as they are: 24 bits as bitfields
    # of B, G, R (masks after a 40-byte header), and OS/2 2.x's 64-byte header.
    rgb = np.random.RandomState(36).randint(0, 256, (N, N, 3)).astype(np.uint8)
    bgr_rows = [r[:, ::-1].tobytes() for r in rgb[::-1]]
    files["i_24bit_bitfields.bmp"] = (
        bmp(24, bgr_rows, compression=3, masks=struct.pack("<III", 0xFF0000, 0xFF00, 0xFF)), "RGB")
    files["j_os2_2_24bit.bmp"] = (bmp_os2_2(24, bgr_rows), "RGB")
    files["k_os2_2_8bit.bmp"] = (bmp_os2_2(8, [r.tobytes() for r in idx[::-1]], bgrx(colours(256, 37))), "P")
    return files


def bmp_header(header_size, bpp, rows, compression=0, masks=(), planes=1, offset=None):
    """A BMP of a 12-, 40-, 64- or 108-byte header: masks (R, G, B[, A])
    after a 40-byte header, inside the larger ones (from their byte 40, where
    Pillow reads them); `offset` overrides the pixel offset field."""
    data = b"".join(r + b"\0" * (-len(r) % 4) for r in rows)
    packed = b"".join(struct.pack("<I", m) for m in masks)
    if header_size == 12:
        info, after = struct.pack("<IHHHH", 12, N, N, planes, bpp), b""
    else:
        info = struct.pack("<IiiHHIIiiII", header_size, N, N, planes, bpp, compression, len(data), 2835, 2835, 0, 0)
        info += ((packed if header_size > 40 else b"") + b"\0" * header_size)[:header_size - 40]
        after = packed if header_size == 40 else b""
    at = 14 + len(info) + len(after)
    return b"BM" + struct.pack("<IHHI", at + len(data), 0, 0, at if offset is None else offset) + info + after + data


def gap(data, size):
    """The BMP with `size` bytes between its header and its pixels, its offset saying so."""
    at = struct.unpack("<I", data[10:14])[0]
    return data[:10] + struct.pack("<I", at + size) + data[14:at] + bytes(range(size)) + data[at:]


def bmp_layouts():
    """16 to 32 bits in layouts Pillow reads and stb refused, or read otherwise."""
    rng = np.random.RandomState(38)
    v16 = [r.tobytes() for r in rng.randint(0, 1 << 16, (N, N)).astype("<u2")]
    bgr = [r.tobytes() for r in rng.randint(0, 256, (N, N, 3)).astype(np.uint8)]
    bgrx32 = [r.tobytes() for r in rng.randint(0, 256, (N, N, 4)).astype(np.uint8)]
    opaque = rng.randint(0, 256, (N, N, 4)).astype(np.uint8)
    opaque[..., 3] = 255
    bgra = [r.tobytes() for r in opaque]
    palette8 = bytearray(bmp(8, [r.tobytes() for r in every_index(256, 39)], bgrx(colours(256, 40))))
    palette8[26:28] = struct.pack("<H", 3)
    m565, mbgrx = (0xF800, 0x7E0, 0x1F), (0xFF0000, 0xFF00, 0xFF)
    return {
        "a_os2_2_bitfields_565.bmp": (bmp_header(64, 16, v16, 3, m565 + (0,)), "RGB"),
        "b_os2_2_bitfields_bgrx.bmp": (bmp_header(64, 32, bgrx32, 3, mbgrx + (0,)), "RGB"),
        "c_zero_masks.bmp": (bmp_header(108, 32, bgra, 3, (0, 0, 0, 0)), "RGBA"),
        "d_16bit_alpha_mask.bmp": (bmp_header(108, 16, v16, 0, (0, 0, 0, 0x8000)), "RGB"),
        "e_core_24bit.bmp": (bmp_header(12, 24, bgr), "RGB"),
        "f_core_32bit.bmp": (bmp_header(12, 32, bgrx32), "RGB"),
        "g_planes_3.bmp": (bmp_header(40, 24, bgr, planes=3), "RGB"),
        "h_planes_3_palette.bmp": (bytes(palette8), "P"),
        "i_offset_zero.bmp": (bmp_header(40, 24, bgr, offset=0), "RGB"),
        "j_offset_zero_565.bmp": (bmp_header(40, 16, v16, 3, m565, offset=0), "RGB"),
        "k_offset_past_a_gap.bmp": (gap(bmp_header(40, 32, bgrx32), 16), "RGB"),
    }


def rle8(idx, delta=False):
    """RLE8 data of N x N indices, bottom-up: per row an absolute run of 3
    (padded to a word), runs of 1 for the rest, an end of line; the end of
    the bitmap. With delta, the second row skips 3 pixels right and 1 row
    up instead (what it skips is index 0 in Pillow)."""
    out = b""
    for y, r in enumerate(idx[::-1]):
        if delta and y == 1:
            out += bytes([0, 2, 3, 1])
            continue
        out += bytes([0, 3]) + r[:3].tobytes() + b"\0"
        out += b"".join(bytes([1, v]) for v in r[3:].tolist())
        out += bytes([0, 0])
    return out + bytes([0, 1])


def rle4(idx, odd=False):
    """RLE4 data of N x N indices below 16, bottom-up: per row an absolute
    run of 4 (two bytes), an encoded run of 2 per remaining pair (its two
    nibbles in turn), an end of line; the end of the bitmap. With odd, the
    absolute runs count 5 in their three bytes and a word's padding, as the
    format has them (Pillow 9.4 reads two of the bytes, then the third as
    the next code)."""
    out = b""
    for r in idx[::-1].tolist():
        if odd:
            out += bytes([0, 5, r[0] << 4 | r[1], r[2] << 4 | r[3], r[4] << 4, 0])
            out += b"".join(bytes([2, r[k] << 4 | r[k + 1]]) for k in range(6, N, 2))
            out += bytes([1, r[5] << 4])
        else:
            out += bytes([0, 4, r[0] << 4 | r[1], r[2] << 4 | r[3]])
            out += b"".join(bytes([2, r[k] << 4 | r[k + 1]]) for k in range(4, N, 2))
        out += bytes([0, 0])
    return out + bytes([0, 1])


def bmp_rle():
    pal = bgrx(colours(256, 30))
    idx = every_index(256, 31)
    small = every_index(16, 32)
    return {
        "a_rle8.bmp": (bmp(8, [rle8(idx)], pal, compression=1), "P"),
        "b_rle8_delta.bmp": (bmp(8, [rle8(idx, delta=True)], pal, compression=1), "P"),
        "c_rle4.bmp": (bmp(4, [rle4(small)], bgrx(colours(16, 33)), compression=2), "P"),
        "d_rle4_odd_absolute.bmp": (bmp(4, [rle4(small, odd=True)], bgrx(colours(16, 34)), compression=2), "P"),
    }


# ---- PSD -------------------------------------------------------------------

def packbits(row):
    """PackBits of a row of bytes: literal runs of each byte alone (a count
    of 0, then the byte) and repeats as (257 - count, byte)."""
    out, i = b"", 0
    while i < len(row):
        j = i
        while j < len(row) and row[j] == row[i] and j - i < 128:
            j += 1
        out += bytes([(257 - (j - i)) & 255, row[i]]) if j - i >= 2 else bytes([0, row[i]])
        i = max(j, i + 1)
    return out


def psd(planes, rle):
    """An 8-bit RGB PSD (mode 3) of C x N x N planes, raw or PackBits."""
    c = planes.shape[0]
    head = b"8BPS" + struct.pack(">H6xHIIHH", 1, c, N, N, 8, 3) + struct.pack(">III", 0, 0, 0)
    if not rle:
        return head + struct.pack(">H", 0) + planes.tobytes()
    rows = [packbits(planes[k, y].tolist()) for k in range(c) for y in range(N)]
    return head + struct.pack(">H", 1) + b"".join(struct.pack(">H", len(r)) for r in rows) + b"".join(rows)


# Pillow 9.4 reads a PackBits PSD of more than three channels wrongly: it
# takes three channels' row lengths and the pixel data from there, inside
# the row lengths of the rest. ganforge reads the first three channels as
# the file holds them: the pixels Pillow gives the same planes stored raw.
SAME_PIXELS_AS = {"b_five_channels_rle.psd": "a_five_channels_raw.psd"}


def psd_files():
    five = np.random.RandomState(40).randint(0, 256, (5, N, N)).astype(np.uint8)
    five[:, :, N // 2:] = five[:, :, :1]  # runs for PackBits
    return {"a_five_channels_raw.psd": (psd(five, False), "RGB"), "b_five_channels_rle.psd": (psd(five, True), "RGB")}


# ---- TGA -------------------------------------------------------------------

def tga(image_type, bpp, data, descriptor=0, colour_map=None, first_index=0):
    """A TGA of no ID field; colour_map: uint8 [n, 3] RGB, written as 24-bit
    BGR entries, the first of them for pixel value first_index."""
    if colour_map is None:
        cmap, map_type, length, entry_bits = b"", 0, 0, 0
    else:
        cmap, map_type, length, entry_bits = colour_map[:, ::-1].tobytes(), 1, len(colour_map), 24
    head = struct.pack("<BBBHHBHHHHBB", 0, map_type, image_type, first_index, length, entry_bits,
                       0, 0, N, N, bpp, descriptor)
    return head + cmap + data


def tga_files():
    rgb = np.random.RandomState(30).randint(0, 256, (N, N, 3)).astype(np.uint8)
    bgr = rgb[..., ::-1].tobytes()
    start10 = (10 + every_index(256, 33) % 246).astype(np.uint8)  # 10..255
    return {
        "a_right_to_left.tga": (tga(2, 24, bgr, descriptor=0x10), "RGB"),
        "b_top_right.tga": (tga(2, 24, bgr, descriptor=0x30), "RGB"),
        "c_map_of_16_indices_256.tga": (
            tga(1, 8, every_index(256, 31).tobytes(), 0x20, colours(16, 32)), "P"),
        "d_map_from_index_10.tga": (tga(1, 8, start10.tobytes(), 0x20, colours(246, 34), first_index=10), "P"),
    }


# ---- PNG -------------------------------------------------------------------

def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(bit_depth, colour_type, rows, chunks=b""):
    """A PNG of rows already packed (filter 0 is added), chunks between
    IHDR and IDAT."""
    raw = b"".join(b"\0" + r for r in rows)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", N, N, bit_depth, colour_type, 0, 0, 0)) +
            chunks + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def png_palette():
    short = every_index(8, 40)
    four_bit = every_index(16, 42)
    return {
        "a_plte_4_indices_8.png": (
            png(8, 3, [r.tobytes() for r in short], chunk(b"PLTE", colours(4, 41).tobytes())), "P"),
        "b_4bit_trns_17.png": (
            png(4, 3, nibbles(four_bit)[::-1],
                chunk(b"PLTE", colours(16, 43).tobytes()) + chunk(b"tRNS", b"\xff" * 17)), "P"),
    }


# ---- GIF -------------------------------------------------------------------

def lzw(indices, min_code_size):
    """GIF image data (the minimum code size byte, sub-blocks, the 0 block)
    for indices below 2**min_code_size: only literal codes, and a clear code
    often enough that no decoder's table reaches the next code width (after
    a clear, each code but the first adds an entry)."""
    clear = 1 << min_code_size
    width = min_code_size + 1
    per_clear = max(1, clear - 3)
    codes = []
    for i, v in enumerate(np.asarray(indices).reshape(-1).tolist()):
        if i % per_clear == 0:
            codes.append(clear)
        codes.append(v)
    codes.append(clear + 1)  # end of information
    out = bytearray()
    acc = bits = 0
    for c in codes:
        acc |= c << bits
        bits += width
        while bits >= 8:
            out.append(acc & 0xFF)
            acc >>= 8
            bits -= 8
    if bits:
        out.append(acc & 0xFF)
    blocks = b"".join(bytes([len(out[k:k + 255])]) + bytes(out[k:k + 255]) for k in range(0, len(out), 255))
    return bytes([min_code_size]) + blocks + b"\0"


def gif(indices, min_code_size, table=None):
    """A one-frame N x N GIF; table: uint8 [2**k, 3], the global colour table."""
    flags = 0 if table is None else 0x80 | (len(table).bit_length() - 2)
    screen = b"GIF89a" + struct.pack("<HHBBB", N, N, flags, 0, 0)
    if table is not None:
        assert len(table) == 1 << (flags & 7) + 1
        screen += table.tobytes()
    frame = b"\x2c" + struct.pack("<HHHHB", 0, 0, N, N, 0) + lzw(indices, min_code_size)
    return screen + frame + b"\x3b"


def gif_tables():
    return {"a_table_4_indices_16.gif": (gif(every_index(16, 50), 4, colours(4, 51)), "P")}


def gif_no_table():
    ramp = np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, axis=1)
    return {
        "a_no_table.gif": (gif(every_index(256, 52), 8), "L"),
        "b_identity_grey_table.gif": (gif(every_index(256, 53), 8, ramp), "L"),
    }


# ---- PNM -------------------------------------------------------------------

def samples(maxval, channels, seed, forced):
    """Random samples 0..maxval with the values in forced among the first."""
    v = np.random.RandomState(seed).randint(0, maxval + 1, N * N * channels)
    v[:len(forced)] = forced
    return v.reshape(N, N, channels)


def pnm(magic, maxval, v):
    return b"%s\n%d %d\n%d\n" % (magic, N, N, maxval) + v.astype(">u2" if maxval > 255 else np.uint8).tobytes()


def pnm_p6():
    return {
        "a_p6_maxval_100.ppm": (pnm(b"P6", 100, samples(100, 3, 60, [30, 70, 0, 100, 50])), "RGB"),
        "b_p6_maxval_1000.ppm": (pnm(b"P6", 1000, samples(1000, 3, 61, [300, 700, 0, 1000])), "RGB"),
    }


def pnm_p5():
    return {
        "a_p5_maxval_100.pgm": (pnm(b"P5", 100, samples(100, 1, 62, [30, 70, 0, 100, 50])), "L"),
        "b_p5_maxval_1000.pgm": (pnm(b"P5", 1000, samples(1000, 1, 63, [300, 700, 0, 1000])), "I"),
    }


def plain(magic, maxval, v, sep=b" ", line=b"\n"):
    """A P2 or P3 of the samples v, one row a line."""
    rows = [sep.join(b"%d" % x for x in row.reshape(-1)) for row in v]
    return b"%s%s%d %d%s%d%s" % (magic, line, N, N, line, maxval, line) + line.join(rows) + line


def bits(seed):
    return np.random.RandomState(seed).randint(0, 2, (N, N))


def pnm_plain():
    b1 = bits(70)
    p1 = (b"P1\n# a comment\n1#inside the width\n6 16\n" +
          b"\n".join((b"" if y % 2 else b" ").join(b"%d" % x for x in row) + (b" # row %d" % y) for y, row in enumerate(b1)) + b"\n")
    # A comment open at the end of Pillow's first 1 MiB block, closed in the next.
    head = b"P1 16 16\n"
    pad = b" " * ((1 << 20) - 6)
    p1_block = head + pad + b"#a com" + b"ment\n" + b"".join(b"%d" % x for x in bits(71).reshape(-1)) + b"\n"
    b4 = bits(72)
    p4 = b"P4\n16 16\n" + np.packbits(b4.astype(np.uint8), axis=1).tobytes()
    v100 = samples(100, 1, 73, [30, 70, 0, 100, 50])
    v1000 = samples(1000, 1, 74, [300, 700, 0, 1000])
    odd = plain(b"P2", 255, samples(255, 1, 75, [5, 10, 7])).replace(b"5 10 7", b"+5 1_0 -1", 1)
    # Ends inside its 20th sample, no whitespace after: Pillow repeats it.
    short = b"P2 16 16 255\n" + b" ".join(b"%d" % x for x in samples(255, 1, 76, []).reshape(-1)[:20])
    # The sample "123" cut by the first 1 MiB block; the second block ends in
    # whitespace, so Pillow puts "12" before the third block too.
    start = b"P2 16 16 255\n"
    rest = samples(255, 1, 77, []).reshape(-1)
    body = b"1" + b" " * ((1 << 20) - 3) + b"12" + b"3 " + b" ".join(b"%d" % x for x in rest[:100])
    body += b" " * ((2 << 20) - len(body) - 1) + b" " + b"4" + b" " + b" ".join(b"%d" % x for x in rest[100:160]) + b"\n"
    return {
        "a_p1_comments.pbm": (p1, "1"),
        "b_p1_comment_across_blocks.pbm": (p1_block, "1"),
        "c_p4.pbm": (p4, "1"),
        "d_p2_maxval_100.pgm": (plain(b"P2", 100, v100, line=b"\r"), "L"),
        "e_p2_maxval_1000.pgm": (plain(b"P2", 1000, v1000, sep=b"\t"), "I"),
        "f_p2_sign_underscore_negative.pgm": (odd, "L"),
        "g_p2_ends_inside_a_sample.pgm": (short, "L"),
        "h_p2_sample_across_blocks.pgm": (start + body, "L"),
        # A comment after every sample, ended by LF or CR by turns (cut in one pass here, one at a time by Pillow).
        "i_p2_many_comments.pgm": (b"P2 16 16 255\n" + b"".join(b"%d #c%d%s" % (x, i, b"\r" if i % 2 else b"\n")
                                                                  for i, x in enumerate(samples(255, 1, 82, []).reshape(-1))), "L"),
    }


def pnm_plain_rgb():
    return {
        "a_p3_maxval_255.ppm": (plain(b"P3", 255, samples(255, 3, 78, [])), "RGB"),
        "b_p3_maxval_1000.ppm": (plain(b"P3", 1000, samples(1000, 3, 79, [300, 700, 0, 1000])), "RGB"),
    }


GROUPS = [
    ("bmp_grey", bmp_grey),
    ("bmp_palette", bmp_palette),
    ("bmp_rle", bmp_rle),
    ("bmp_layouts", bmp_layouts),
    ("psd", psd_files),
    ("tga", tga_files),
    ("png_palette", png_palette),
    ("gif_tables", gif_tables),
    ("gif_no_table", gif_no_table),
    ("pnm_p6", pnm_p6),
    ("pnm_p5", pnm_p5),
    ("pnm_plain", pnm_plain),
    ("pnm_plain_rgb", pnm_plain_rgb),
]


def pillow_pixels(path, mode):
    """Pillow's uint8 array for a file: 'L' or 'RGB'."""
    with PIL.Image.open(path) as im:
        if im.mode == "I":
            assert mode == "L", path
            return np.round(np.asarray(im).astype(np.float64) * 255 / 65535).astype(np.uint8)
        with warnings.catch_warnings():  # a tRNS of all 255 is no transparency to convert('RGB')
            warnings.filterwarnings("ignore", "Palette images with Transparency expressed in bytes")
            return np.asarray(im.convert(mode))


def check_fixture(path, want_mode):
    """The file opens and loads in Pillow, N x N, in the mode it was made for."""
    with PIL.Image.open(path) as im:
        im.load()
        assert im.mode == want_mode and im.size == (N, N), (
            "%s: Pillow reads it as %s %s, the test expects %s %s" % (path, im.mode, im.size, want_mode, (N, N)))


def convert_group(dataset_tool, work, group, files):
    """Writes the group's folder, converts it, compares; True when it holds."""
    src = os.path.join(work, group)
    os.makedirs(src)
    for name, (data, _) in files.items():
        with open(os.path.join(src, name), "wb") as f:
            f.write(data)
    for name, (_, mode) in files.items():
        check_fixture(os.path.join(src, name), mode)
    grey = all(mode in GREY_MODES for _, mode in files.values())
    out = os.path.join(work, group + "_out")
    try:
        def expected(path):
            path = os.path.join(os.path.dirname(path), SAME_PIXELS_AS.get(os.path.basename(path), os.path.basename(path)))
            return pillow_pixels(path, "L" if grey else "RGB")
        return converted_like_pil(dataset_tool, src, out, files, expected)
    except FileNotFoundError as e:  # fewer images written than files given
        print("%s: dataset_tool wrote no image for every file: %s" % (group, e))
    return False


def refused_files():
    """Files Pillow cannot load, or loads with transparency, which the
    project refuses too: name -> (bytes, words of dataset_tool's error)."""
    big_map = tga(1, 8, every_index(256, 60).tobytes(), colour_map=colours(300, 61))
    # A transparency index from the first of two control extensions stays
    # (Pillow), and fills the screen the 8x8 frame leaves.
    two_gce = (b"GIF89a" + struct.pack("<HHBBB", N, N, 0x81, 0, 0) + colours(4, 62).tobytes() +
               b"!\xf9\x04\x01\x00\x00\x03\x00" + b"!\xf9\x04\x00\x00\x00\x00\x00" +
               b"\x2c" + struct.pack("<HHHHB", 0, 0, N // 2, N // 2, 0) +
               lzw(np.zeros((N // 2, N // 2), np.uint8), 2) + b"\x3b")
    p2 = plain(b"P2", 255, samples(255, 1, 80, []))
    return {
        "a_tga_map_300.tga": (big_map, "its colour map reaches index 299, past 255"),
        "b_gif_two_control_extensions.gif": (two_gce, "has transparent pixels"),
        "c_p2_above_maxval.pgm": (plain(b"P2", 100, samples(101, 1, 81, [101])), "a sample of 101, above its maxval of 100"),
        "d_p1_digit_2.pbm": (b"P1 16 16\n" + b"2" * 256 + b"\n", "a P1 pixel '2', not 0 or 1"),
        "e_p2_short.pgm": (p2[:len(p2) // 2] + b"\n", "truncated PNM"),
        "f_p4_short.pbm": (b"P4 16 16\n" + b"\0" * 31, "truncated PNM"),
        "g_p2_long_sample.pgm": (b"P2 16 16 255\n" + b"0" * 11 + b"\n", "longer than 10 characters"),
        "h_p2_maxval_0.pgm": (b"P2 16 16 0\n", "its maxval is not in [1, 65535]"),
        "i_p3_no_number.ppm": (b"P3 16 16 255\n1 2 x\n", "a sample 'x' that is no number"),
    }


def check_refused(dataset_tool, work):
    """Each of refused_files() alone: dataset_tool must refuse it, naming why."""
    ok = True
    for name, (data, words) in refused_files().items():
        src = os.path.join(work, "refused_" + name)
        os.makedirs(src)
        path = os.path.join(src, name)
        with open(path, "wb") as f:
            f.write(data)
        try:  # the fixture: Pillow fails to load it, or gives it a transparency index
            with PIL.Image.open(path) as im:
                im.load()
                assert "transparency" in im.info, "%s: Pillow reads it without transparency" % name
        except (OSError, ValueError):  # ValueError: "invalid palette size"
            pass
        ok = refused_with(dataset_tool, src, name, words) and ok
    return ok


def main(dataset_tool, work):
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    ok = True
    count = 0
    for group, make in GROUPS:
        files = make()
        ok = convert_group(dataset_tool, work, group, files) and ok
        count += len(files)
    ok = check_refused(dataset_tool, work) and ok
    if not ok:
        return 1
    print("%d image files of %d groups read as Pillow reads them" % (count, len(GROUPS)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
