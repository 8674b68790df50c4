"""GIF images read as Pillow reads them, for the program tests:
  gif_like_pil.py DATASET_TOOL WORKDIR
Writes GIF files with Pillow (a palette image, an RGB image quantized, an
animation whose later frames carry their own tables), and copies of one
whose first frame lies inside a larger screen, or reaches past a smaller
one, with a background index that is not 0, and of one with bytes of no
block between its blocks or a control extension of 6 bytes (which Pillow
passes over or reads, and stb_image refuses or ignores); converts the
folder with dataset_tool and checks that every image it wrote holds the
pixels Pillow 9.4 composes for the official tools:
np.array(PIL.Image.open(f).convert('RGB')). Then GIFs whose whole-screen
frame uses the transparency index of a 6-byte control extension, or of
the first of two (Pillow keeps it), must be refused as transparent, and
GIFs Pillow fails to open (control extensions of 0 or 2 bytes, or of 3
with the transparency flag; an application extension without data; an
extension whose empty first sub-block makes Pillow read the frame as
sub-blocks; the trailer before the frame) as unreadable, each alone in a
folder. Exits 0 when all hold, else prints what differs and exits 1."""
import io
import os
import shutil
import struct
import sys

try:
    import numpy as np
    import PIL.Image
    from like_pil import converted_like_pil, refused_with
    from smooth_image import smooth_image
except ImportError as e:  # scripts/install_deps.sh --torch installs them
    print("skipped: %s" % e)
    sys.exit(77)


def first_descriptor(gif):
    """Where the first image descriptor's 0x2C is: after the screen, the
    global table and any extensions (label, then sub-blocks to a 0)."""
    at = 13 + ((3 << ((gif[10] & 7) + 1)) if gif[10] & 0x80 else 0)
    while gif[at] == 0x21:
        at += 2
        while gif[at] != 0:
            at += 1 + gif[at]
        at += 1
    assert gif[at] == 0x2C
    return at


def moved(gif, screen, offset, background):
    """The GIF with its logical screen's size, its background index and
    its first frame's position changed."""
    g = bytearray(gif)
    g[6:10] = struct.pack("<HH", *screen)
    g[11] = background
    d = first_descriptor(g)
    g[d + 1:d + 5] = struct.pack("<HH", *offset)
    return bytes(g)


def before_frame(gif, blocks):
    """The GIF with `blocks` put before its first image descriptor."""
    at = first_descriptor(gif)
    return gif[:at] + blocks + gif[at:]


def control(size, transparency=None):
    """A graphic control extension of a first sub-block of `size` bytes."""
    return b"!\xf9" + bytes([size, 0 if transparency is None else 1, 0, 0, transparency or 0]) + bytes(size - 4) + b"\0"


def main(dataset_tool, work):
    shutil.rmtree(work, ignore_errors=True)
    src = os.path.join(work, "src")
    os.makedirs(src)
    images = {}

    def to_bytes(im, **kw):
        b = io.BytesIO()
        im.save(b, "GIF", **kw)
        return b.getvalue()
    rgb = PIL.Image.fromarray(smooth_image(16, 1))
    images["a_quantized.gif"] = to_bytes(rgb)
    frames = [PIL.Image.fromarray(smooth_image(16, s)).quantize(colors=8 * s) for s in (2, 3, 4)]
    images["b_animated.gif"] = to_bytes(frames[0], save_all=True, append_images=frames[1:], duration=100)
    small = to_bytes(PIL.Image.fromarray(smooth_image(8, 5)).quantize(colors=16))
    images["c_inside_screen.gif"] = moved(small, (16, 16), (3, 5), 7)  # 8x8 at (3, 5) of 16x16
    images["d_past_screen.gif"] = moved(small, (12, 16), (8, 0), 2)    # 8x8 at (8, 0): 16x16 in Pillow
    whole = to_bytes(PIL.Image.fromarray(smooth_image(16, 6)).quantize(colors=16))
    images["e_bytes_between_blocks.gif"] = before_frame(whole, b"\0\7junk" + b"!\xfe\x02hi\0" + b"\xff")
    images["f_control_of_6_bytes.gif"] = before_frame(whole, control(6))
    images["g_control_of_3_bytes.gif"] = before_frame(whole, b"!\xf9\x03\x00\x00\x00\x00")
    for name, data in images.items():
        with open(os.path.join(src, name), "wb") as f:
            f.write(data)

    def expected(path):
        with PIL.Image.open(path) as im:
            return np.asarray(im.convert("RGB"))
    if not converted_like_pil(dataset_tool, src, os.path.join(work, "out"), images, expected):
        return 1
    used = np.asarray(PIL.Image.open(io.BytesIO(whole)))[0, 0]  # an index the frame uses
    refused = {"a_transparency_of_6_bytes.gif": before_frame(whole, control(6, used)),
               "b_transparency_kept.gif": before_frame(whole, control(4, used) + control(4)),
               "c_control_of_0_bytes.gif": before_frame(whole, b"!\xf9\x00"),
               "d_control_of_2_bytes.gif": before_frame(whole, b"!\xf9\x02\x00\x00\x00"),
               "e_control_of_3_with_flag.gif": before_frame(whole, b"!\xf9\x03\x01\x00\x00\x00"),
               "f_application_without_data.gif": before_frame(whole, b"!\xff\x0bNETSCAPE2.0\x00"),
               "g_empty_first_sub_block.gif": before_frame(whole, b"!\x01\x00"),
               "h_trailer_first.gif": before_frame(whole, b";")}
    for name, data in refused.items():
        folder = os.path.join(work, "refused_" + name)
        os.makedirs(folder)
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)
        transparent = name < "c"
        try:  # the fixture: Pillow gives the first two a transparency index, and fails to open the rest
            with PIL.Image.open(os.path.join(folder, name)) as im:
                assert transparent and im.info.get("transparency") == used, "%s: Pillow reads it opaque" % name
        except PIL.UnidentifiedImageError:
            assert not transparent, "%s: Pillow fails to open it" % name
        if not refused_with(dataset_tool, folder, name, "has transparent pixels" if transparent else "unreadable GIF"):
            return 1
    print("%d GIF files read as Pillow reads them" % (len(images) + len(refused)))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
