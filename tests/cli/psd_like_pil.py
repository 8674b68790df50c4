"""PSDs in the colour modes other than RGB read as Pillow 9.4 reads them
(PsdImagePlugin), for the program tests:
  psd_like_pil.py DATASET_TOOL WORKDIR
Writes, byte by byte (fixed seeds), one folder a group, each converted by
its own dataset_tool run:
  psd_bitmap  4x4 bitmap mode (1 bit: four padding bits a row), raw and
              PackBits (Pillow's '1': a set bit is white);
  psd_grey    8x8 grey mode raw and PackBits (literal and repeat packets,
              the 0x80 no-op; packets reaching 2 bytes past their row's
              end, which Pillow drops; a no-op turned into a repeat, so
              that the packets fall out of step with the rows), grey of
              two channels (the second unread),
              bitmap mode of 8 bits, multichannel (three channels: the
              first is read) and duotone (its colour mode data skipped),
              all Pillow's 'L';
  psd_colour  8x8 indexed of a 768-byte palette (256 reds, greens, blues),
              raw and PackBits, indexed of a palette of another size
              (Pillow's default, the grey ramp), CMYK raw and PackBits,
              and of five channels, each after image resources and an
              empty layer section.
Every file is first opened with Pillow and must give the mode written next
to it. Each image dataset_tool wrote must hold Pillow's pixels:
np.asarray(im.convert('L')) for the grey groups, else convert('RGB').
Then files Pillow refuses (16-bit grey, ZIP compression, fewer channels
than CMYK needs, raw and PackBits data cut short) and one it reads as 'LAB' (converted by littlecms), alone in a
folder each, must be refused naming why.
Exits 0 when all hold, else 1; 77 when Pillow or NumPy is missing."""
import os
import shutil
import struct
import sys

try:
    import numpy as np
    import PIL.Image
except ImportError:
    sys.exit(77)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from like_pil import converted_like_pil, refused_with  # noqa: E402

MODE = {"bitmap": 0, "grey": 1, "indexed": 2, "RGB": 3, "CMYK": 4, "multichannel": 7, "duotone": 8, "Lab": 9}


def packbits(row):
    """Pillow's packets for a row: repeats of 2-128 bytes as (257 - count,
    byte), other bytes as literal packets of up to 128, and a no-op byte
    (0x80) before each row's first packet."""
    out, i, literal = b"\x80", 0, b""
    while i <= len(row):
        j = i
        while i < len(row) and j < len(row) and row[j] == row[i] and j - i < 128:
            j += 1
        if i == len(row) or j - i >= 2:
            for k in range(0, len(literal), 128):
                out += bytes([len(literal[k:k + 128]) - 1]) + literal[k:k + 128]
            literal = b""
            if i < len(row):
                out += bytes([257 - (j - i), row[i]])
            i = j if i < len(row) else i + 1
        else:
            literal += bytes([row[i]])
            i += 1
    return out


def psd(mode, planes, depth=8, rle=False, colour_data=b"", resources=b"", layers=b"", compression=None, width=None):
    """A PSD (version 1) of C x H x W planes (uint8 rows as stored: a 1-bit
    image's packed, of `width` pixels), raw or PackBits; compression
    overrides the field."""
    c, h, row_bytes = planes.shape
    width = width or row_bytes * 8 // depth
    head = b"8BPS" + struct.pack(">H6xHIIHH", 1, c, h, width, depth, MODE[mode])
    head += struct.pack(">I", len(colour_data)) + colour_data
    head += struct.pack(">I", len(resources)) + resources + struct.pack(">I", len(layers)) + layers
    if not rle:
        return head + struct.pack(">H", 0 if compression is None else compression) + planes.tobytes()
    rows = [packbits(planes[k, y].tolist()) for k in range(c) for y in range(h)]
    return head + struct.pack(">H", 1) + b"".join(struct.pack(">H", len(r)) for r in rows) + b"".join(rows)


def planes(c, h, w, seed, low=0, high=256):
    p = np.random.RandomState(seed).randint(low, high, (c, h, w)).astype(np.uint8)
    p[:, :, w // 2:] = p[:, :, :1]  # repeats for PackBits
    return p


# An image resource block (8BIM, id 1005, no name, 16 bytes) and a layer
# section of an empty layer info: what Photoshop writes before the pixels.
RESOURCES = b"8BIM" + struct.pack(">HBxI", 1005, 0, 16) + bytes(range(16))
LAYERS = struct.pack(">I", 0) + struct.pack(">I", 0)


def bitmap_files():
    bits = planes(1, 4, 1, 70)  # 4 pixels a row, in the high four bits
    return {"a_bitmap_raw.psd": (psd("bitmap", bits, depth=1, width=4), "1"),
            "b_bitmap_rle.psd": (psd("bitmap", bits, depth=1, rle=True, width=4), "1")}


def past_row_ends(seed):
    """An 8x8 grey PackBits PSD whose every packet holds 10 bytes: a repeat
    (even rows) or a literal (odd rows); Pillow keeps each row's first 8."""
    values = np.random.RandomState(seed).randint(0, 256, (8, 10))
    rows = [bytes([257 - 10, values[y, 0]]) if y % 2 == 0 else bytes([9]) + bytes(values[y].tolist()) for y in range(8)]
    head = psd("grey", np.zeros((1, 8, 8), np.uint8))[:-66]  # through the three sections
    return head + struct.pack(">H", 1) + b"".join(struct.pack(">H", len(r)) for r in rows) + b"".join(rows)


def out_of_step(plane):
    """Grey PackBits whose first row's no-op is a repeat of 128 (Pillow
    keeps 8): the next packet's head is that repeat's byte, and the rest is
    read from there on, out of step with the rows as written."""
    data = bytearray(psd("grey", plane, rle=True))
    data[26 + 12 + 2 + 8 * 2] = 0x81
    return bytes(data)


def grey_files():
    one, two, three = planes(1, 8, 8, 71), planes(2, 8, 8, 72), planes(3, 8, 8, 73)
    return {
        "a_grey_raw.psd": (psd("grey", one, resources=RESOURCES, layers=LAYERS), "L"),
        "b_grey_rle.psd": (psd("grey", one, rle=True), "L"),
        "c_grey_two_channels.psd": (psd("grey", two), "L"),
        "d_bitmap_mode_8_bits.psd": (psd("bitmap", one), "L"),
        "e_multichannel.psd": (psd("multichannel", three), "L"),
        "f_duotone.psd": (psd("duotone", one, colour_data=bytes(range(200))), "L"),
        "g_grey_rle_past_row_ends.psd": (past_row_ends(82), "L"),
        "h_grey_rle_out_of_step.psd": (out_of_step(planes(1, 8, 8, 78)), "L"),
    }


def colour_files():
    palette = np.random.RandomState(74).randint(0, 256, 768).astype(np.uint8).tobytes()
    index, cmyk, five = planes(1, 8, 8, 75), planes(4, 8, 8, 76), planes(5, 8, 8, 77)
    return {
        "a_indexed_raw.psd": (psd("indexed", index, colour_data=palette, resources=RESOURCES, layers=LAYERS), "P"),
        "b_indexed_rle.psd": (psd("indexed", index, rle=True, colour_data=palette), "P"),
        "c_indexed_no_palette.psd": (psd("indexed", index, colour_data=palette[:300]), "P"),
        "d_cmyk_raw.psd": (psd("CMYK", cmyk, resources=RESOURCES, layers=LAYERS), "CMYK"),
        "e_cmyk_rle.psd": (psd("CMYK", cmyk, rle=True), "CMYK"),
        "f_cmyk_five_channels.psd": (psd("CMYK", five), "CMYK"),
    }


GROUPS = [("psd_bitmap", bitmap_files, "L"), ("psd_grey", grey_files, "L"), ("psd_colour", colour_files, "RGB")]


def refused_files():
    """name -> (bytes, words of dataset_tool's error, whether Pillow loads it)."""
    one = planes(1, 8, 8, 78)
    return {
        "a_grey_16_bits.psd": (psd("grey", planes(1, 8, 16, 79), depth=16), "PSD in grey mode of 16 bits", False),
        "b_zip.psd": (psd("grey", one, compression=2), "compression 2", False),
        "c_cmyk_three_channels.psd": (psd("CMYK", planes(3, 8, 8, 80)), "PSD in CMYK mode of 3 channels", False),
        "d_rle_cut.psd": (psd("grey", one, rle=True)[:-3], "truncated PSD: the file ends before its pixels do", False),
        "e_raw_cut.psd": (psd("grey", one)[:-5], "truncated PSD", False),
        "f_lab.psd": (psd("Lab", planes(3, 8, 8, 81)), "PSD in Lab mode", True),
    }


def pillow_loads(path):
    try:
        with PIL.Image.open(path) as im:
            im.load()
        return True
    except Exception:  # noqa: BLE001 (Pillow 9.4 raises KeyError for a mode it has no entry for)
        return False


def convert_group(dataset_tool, work, group, files, mode):
    src = os.path.join(work, group)
    os.makedirs(src)
    for name, (data, want) in files.items():
        path = os.path.join(src, name)
        with open(path, "wb") as f:
            f.write(data)
        with PIL.Image.open(path) as im:  # the fixture is what it was made for
            im.load()
            assert im.mode == want, "%s: Pillow reads it as %s, the test expects %s" % (name, im.mode, want)

    def expected(path):
        with PIL.Image.open(path) as im:
            return np.asarray(im.convert(mode))
    return converted_like_pil(dataset_tool, src, os.path.join(work, group + "_out"), files, expected)


def check_refused(dataset_tool, work):
    ok = True
    for name, (data, words, pil_loads) in refused_files().items():
        src = os.path.join(work, "refused_" + name)
        os.makedirs(src)
        path = os.path.join(src, name)
        with open(path, "wb") as f:
            f.write(data)
        assert pillow_loads(path) == pil_loads, "%s: Pillow %s it" % (name, "loads" if not pil_loads else "refuses")
        ok = refused_with(dataset_tool, src, name, words) and ok
    return ok


def main(dataset_tool, work):
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    ok, count = True, 0
    for group, make, mode in GROUPS:
        files = make()
        ok = convert_group(dataset_tool, work, group, files, mode) and ok
        count += len(files)
    ok = check_refused(dataset_tool, work) and ok
    if not ok:
        return 1
    print("%d PSD files of %d groups read as Pillow reads them" % (count, len(GROUPS)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
